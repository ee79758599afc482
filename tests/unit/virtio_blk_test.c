/* Unit tests for virtio-blk over the virtio-mmio transport: a driver written here does the
 * handshake, builds request chains in a fake guest RAM over a temp image and checks statuses,
 * used lengths and the image itself: read/write round trips, any segment layout, read-only
 * refusals, range checks, flush, GET_ID, discard on a sparse file, write-zeroes, bad chains,
 * config space and open errors. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#define FAKE_RAM_MMIO
#include "fake_ram.h"
#include "virtio/blk.h"
#include "virtio/guest_mem.h"
#include "virtio/mmio.h"

#define HDR	 (BASE + 0x3000)
#define STATUS	 (BASE + 0x3800)
#define DATA	 (BASE + 0x10000) /* 64 KiB */
#define DATA2	 (BASE + 0x20000)
#define IMG_SIZE (1 << 20) /* 2048 sectors */

static struct virtio_blk blk;
static char img[] = "/tmp/sbx-blk-test-XXXXXX";
static int img_fd = -1; /* the test's own view of the image */

static const uint32_t OK_STATUS =
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

/* A fresh image of IMG_SIZE bytes (sparse unless @fill), a device over it, a running queue. */
static void setup(bool readonly, int fill)
{
	char err[256];

	fake_ram_reset(0);
	if (img_fd >= 0)
		close(img_fd);
	img_fd = open(img, O_RDWR | O_TRUNC);
	CHECK(img_fd >= 0);
	CHECK_EQ(ftruncate(img_fd, IMG_SIZE), 0);
	if (fill >= 0) {
		static uint8_t buf[IMG_SIZE];
		memset(buf, fill, sizeof(buf));
		CHECK_EQ(pwrite(img_fd, buf, sizeof(buf), 0), IMG_SIZE);
		CHECK_EQ(fsync(img_fd), 0);
	}
	CHECK_EQ(blk_open(&blk, img, readonly, err, sizeof(err)), 0);
	CHECK_EQ(mmio_init(&m, &blk.dev, &gm, NULL, NULL), 0);
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(MMIO_DRIVER_FEATURES_SEL, 1);
	wr(MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(MMIO_STATUS, OK_STATUS);
	wr(MMIO_QUEUE_SEL, 0);
	wr(MMIO_QUEUE_NUM, QSZ);
	wr(MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
	wr(MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(MMIO_QUEUE_READY, 1);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(MMIO_STATUS), OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
}

static void teardown(void)
{
	blk_close(&blk);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static uint16_t used_idx(void)
{
	return ((uint16_t *)g(USED))[1];
}

/* Put one chain at descriptors 0..n-1, kick; return its used length (-1 if not used). */
static long submit(const struct seg *s, int n)
{
	struct virtq_desc *d = g(DESC);
	uint16_t *a = g(AVAIL);
	uint32_t *u = g(USED);
	uint16_t before = used_idx();
	int i;

	for (i = 0; i < n; i++)
		d[i] = (struct virtq_desc){s[i].gpa, s[i].len,
					   (uint16_t)((s[i].w ? VIRTQ_DESC_F_WRITE : 0) |
						      (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
					   (uint16_t)(i + 1)};
	a[2 + a[1] % QSZ] = 0;
	a[1]++;
	*(uint8_t *)g(STATUS) = 0xee;
	wr(MMIO_QUEUE_NOTIFY, 0);
	if (used_idx() != (uint16_t)(before + 1))
		return -1;
	CHECK_EQ(u[1 + 2 * (before % QSZ)], 0); /* the head */
	return u[2 + 2 * (before % QSZ)];
}

static void hdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_req_hdr h = {type, 0, sector};
	memcpy(g(HDR), &h, sizeof(h));
}

static uint8_t status(void)
{
	return *(uint8_t *)g(STATUS);
}

/* The usual Linux layout: header, one data segment, status. */
static long req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool w)
{
	struct seg s[3] = {{HDR, 16, false}, {data, len, w}, {STATUS, 1, true}};

	hdr(type, sector);
	if (len == 0) {
		s[1] = s[2];
		return submit(s, 2);
	}
	return submit(s, 3);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

static bool file_is(uint64_t off, const void *want, size_t len)
{
	static uint8_t buf[65536];
	return len <= sizeof(buf) && pread(img_fd, buf, len, (off_t)off) == (ssize_t)len &&
	       memcmp(buf, want, len) == 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

TEST(open_errors)
{
	char err[256] = "", path[64];
	struct virtio_blk b;
	int fd;

	CHECK_EQ(blk_open(&b, "/nonexistent/disk.img", false, err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/disk.img") != NULL);
	CHECK_EQ(b.fd, -1);
	blk_close(&b);

	snprintf(path, sizeof(path), "%s.odd", img);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(blk_open(&b, path, false, err, sizeof(err)), -1); /* empty */
	CHECK(strstr(err, "empty") != NULL);
	CHECK_EQ(ftruncate(fd, 1000), 0);
	CHECK_EQ(blk_open(&b, path, true, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a multiple of 512") != NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "truncate -s 1024") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_EQ(b.fd, -1);
	close(fd);
	unlink(path);

	CHECK_EQ(blk_open(&b, "/tmp", true, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a regular file or block device") != NULL);
}

TEST(config_and_features)
{
	uint32_t v;
	uint64_t cap = 0;
	uint8_t byte = 0xaa;

	setup(false, -1);
	CHECK_EQ(rd(MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	CHECK_EQ(rd(MMIO_QUEUE_NUM_MAX), BLK_QUEUE_MAX);
	CHECK_EQ(blk.capacity, IMG_SIZE / 512);
	mmio_read(&m, MMIO_CONFIG + 0, &v, 4);
	cap = v;
	mmio_read(&m, MMIO_CONFIG + 4, &v, 4);
	cap |= (uint64_t)v << 32;
	CHECK_EQ(cap, IMG_SIZE / 512);
	mmio_read(&m, MMIO_CONFIG + 12, &v, 4);
	CHECK_EQ(v, BLK_SEG_MAX);
	mmio_read(&m, MMIO_CONFIG + 20, &v, 4);
	CHECK_EQ(v, 512);
	mmio_read(&m, MMIO_CONFIG + 36, &v, 4);
	CHECK_EQ(v, BLK_DISCARD_SECTORS_MAX);
	mmio_read(&m, MMIO_CONFIG + 40, &v, 4);
	CHECK_EQ(v, BLK_DISCARD_SEG_MAX);
	mmio_read(&m, MMIO_CONFIG + 56, &byte, 1);
	CHECK_EQ(byte, 1);
	/* bounds: the last byte reads, one past it does not */
	CHECK_EQ(blk.dev.ops->config_read(&blk.dev, sizeof(blk.cfg) - 1, &byte, 1), 0);
	CHECK_EQ(blk.dev.ops->config_read(&blk.dev, sizeof(blk.cfg), &byte, 1), -1);
	CHECK_EQ(blk.dev.ops->config_read(&blk.dev, sizeof(blk.cfg) - 2, &v, 4), -1);
	CHECK_EQ(blk.dev.ops->config_read(&blk.dev, 0xfffffffe, &v, 4), -1);
	wr(MMIO_DEVICE_FEATURES_SEL, 0);
	v = rd(MMIO_DEVICE_FEATURES);
	CHECK(v & 1u << VIRTIO_BLK_F_FLUSH && v & 1u << VIRTIO_BLK_F_DISCARD &&
	      v & 1u << VIRTIO_BLK_F_WRITE_ZEROES && v & 1u << VIRTIO_BLK_F_SEG_MAX &&
	      v & 1u << VIRTIO_BLK_F_BLK_SIZE);
	CHECK(!(v & 1u << VIRTIO_BLK_F_RO));
	CHECK(v & 1u << VIRTIO_F_RING_EVENT_IDX);
	teardown();

	setup(true, -1);
	wr(MMIO_DEVICE_FEATURES_SEL, 0);
	v = rd(MMIO_DEVICE_FEATURES);
	CHECK(v & 1u << VIRTIO_BLK_F_RO);
	CHECK(!(v & 1u << VIRTIO_BLK_F_DISCARD) && !(v & 1u << VIRTIO_BLK_F_WRITE_ZEROES));
	mmio_read(&m, MMIO_CONFIG + 36, &v, 4);
	CHECK_EQ(v, 0);
	teardown();
}

TEST(read_write_roundtrip)
{
	uint8_t want[1024];

	setup(false, -1);
	fill_pattern(want, sizeof(want), 3);
	memcpy(g(DATA), want, sizeof(want));
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, 10, DATA, 1024, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(file_is(10 * 512, want, sizeof(want)));
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 10, DATA2, 1024, true), 1024 + 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(memcmp(g(DATA2), want, sizeof(want)) == 0);
	/* the last sector of the image */
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, IMG_SIZE / 512 - 1, DATA, 512, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(file_is(IMG_SIZE - 512, want, 512));
	CHECK_EQ(blk.stats.reads, 1);
	CHECK_EQ(blk.stats.writes, 2);
	CHECK_EQ(blk.stats.bytes_read, 1024);
	CHECK_EQ(blk.stats.bytes_written, 1536);
	CHECK_EQ(blk.stats.errors, 0);
	teardown();
}

TEST(multi_segment)
{
	uint8_t want[2048];
	/* header split 8 + 8, data 512 + 1024 + 512 */
	struct seg out[] = {{HDR, 8, false},
			    {HDR + 8, 8, false},
			    {DATA, 512, false},
			    {DATA + 0x1000, 1024, false},
			    {DATA + 0x2000, 512, false},
			    {STATUS, 1, true}};
	/* data 1536 + (512 + status in one descriptor) */
	struct seg in[] = {{HDR, 16, false}, {DATA2, 1536, true}, {DATA2 + 0x1000, 513, true}};

	setup(false, -1);
	fill_pattern(want, sizeof(want), 9);
	memcpy(g(DATA), want, 512);
	memcpy(g(DATA + 0x1000), want + 512, 1024);
	memcpy(g(DATA + 0x2000), want + 1536, 512);
	hdr(VIRTIO_BLK_T_OUT, 100);
	CHECK_EQ(submit(out, 6), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(file_is(100 * 512, want, sizeof(want)));

	hdr(VIRTIO_BLK_T_IN, 100);
	CHECK_EQ(submit(in, 3), 2048 + 1);
	CHECK(memcmp(g(DATA2), want, 1536) == 0);
	CHECK(memcmp(g(DATA2 + 0x1000), want + 1536, 512) == 0);
	CHECK_EQ(*(uint8_t *)g(DATA2 + 0x1000 + 512), VIRTIO_BLK_S_OK); /* status: last byte */
	teardown();
}

/* OUT, DISCARD and WRITE_ZEROES each get IOERR and the image (sector 0: @orig) stays as it
 * was; @pat is what the write tried to put there. */
static void refuses_writes(const uint8_t *pat, size_t patlen, const uint8_t *orig, size_t len)
{
	struct virtio_blk_dwz s = {0, 8, 0};

	memcpy(g(DATA), pat, patlen);
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, 0, DATA, 1024, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	memcpy(g(DATA), &s, sizeof(s));
	CHECK_EQ(req(VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA, 16, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK(file_is(0, orig, len));
}

TEST(readonly_refuses_writes)
{
	uint8_t orig[1024], pat[1024];

	setup(true, 0x5a);
	memset(orig, 0x5a, sizeof(orig));
	fill_pattern(pat, sizeof(pat), 1);
	refuses_writes(pat, sizeof(pat), orig, sizeof(orig));
	/* reads and flush still work */
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, DATA2, 1024, true), 1025);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(memcmp(g(DATA2), orig, sizeof(orig)) == 0);
	CHECK_EQ(req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK_EQ(blk.stats.errors, 3);
	CHECK_EQ(blk.stats.writes, 0);
	teardown();

	/* the refusal is the device's own, not only the O_RDONLY fd's */
	setup(false, 0x5a);
	blk.readonly = true;
	refuses_writes(pat, sizeof(pat), orig, sizeof(orig));
	teardown();
}

TEST(out_of_range)
{
	const uint64_t cap = IMG_SIZE / 512;
	uint8_t zero[1024] = {0};

	setup(false, -1);
	memset(g(DATA), 0x77, 1024);
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, cap - 1, DATA, 1024, false), 1); /* one sector past */
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK(file_is(IMG_SIZE - 512, zero, 512));
	CHECK_EQ(req(VIRTIO_BLK_T_IN, cap, DATA2, 512, true), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, cap, DATA2, 0, true), 1); /* empty read at the end: fine */
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	/* overflowing sectors: sector + n wraps, sector * 512 wraps */
	CHECK_EQ(req(VIRTIO_BLK_T_IN, UINT64_MAX, DATA2, 1024, true), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, 1ull << 55, DATA, 512, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, UINT64_MAX - 1, DATA, 1024, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	/* lengths not a multiple of 512 */
	CHECK_EQ(req(VIRTIO_BLK_T_OUT, 0, DATA, 100, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, DATA2, 513, true), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK(file_is(0, zero, sizeof(zero)));
	CHECK_EQ(blk.stats.errors, 7);
	CHECK_EQ(blk.stats.writes, 0);
	teardown();
}

TEST(short_read_at_eof)
{
	setup(false, -1);
	/* the image shrinks behind the device's back: a read past the new end is an error */
	CHECK_EQ(ftruncate(img_fd, 4096), 0);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 4, DATA2, 8192, true) >= 1, 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, DATA2, 4096, true), 4097);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	teardown();
}

TEST(flush)
{
	setup(false, -1);
	CHECK_EQ(req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK_EQ(blk.stats.flushes, 1);
	/* a flush carrying data is malformed */
	CHECK_EQ(req(VIRTIO_BLK_T_FLUSH, 0, DATA, 512, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(blk.stats.flushes, 1);
	teardown();
}

TEST(get_id)
{
	char want[BLK_ID_BYTES] = {0};
	const char *base = strrchr(img, '/') + 1;
	size_t n = strlen(base) < BLK_ID_BYTES - 4 ? strlen(base) : BLK_ID_BYTES - 4;

	setup(false, -1);
	memcpy(want, "sbx-", 4);
	memcpy(want + 4, base, n); /* "sbx-" + 19 bytes: truncated to 20 */
	memset(g(DATA), 0xff, 64);
	CHECK_EQ(req(VIRTIO_BLK_T_GET_ID, 0, DATA, BLK_ID_BYTES, true), BLK_ID_BYTES + 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK(memcmp(g(DATA), want, BLK_ID_BYTES) == 0);
	CHECK_EQ(*(uint8_t *)g(DATA + BLK_ID_BYTES), 0xff); /* nothing beyond */
	/* a short serial is NUL-padded */
	memset(blk.serial, 0, sizeof(blk.serial));
	memcpy(blk.serial, "disk0", 5);
	memset(g(DATA), 0xff, 64);
	CHECK_EQ(req(VIRTIO_BLK_T_GET_ID, 0, DATA, 32, true), BLK_ID_BYTES + 1);
	CHECK(memcmp(g(DATA), "disk0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", BLK_ID_BYTES) == 0);
	/* a buffer too small for the id */
	CHECK_EQ(req(VIRTIO_BLK_T_GET_ID, 0, DATA, 10, true), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	teardown();
}

static long dwz(uint32_t type, const struct virtio_blk_dwz *s, unsigned n)
{
	memcpy(g(DATA), s, n * sizeof(*s));
	return req(type, 0, DATA, n * (uint32_t)sizeof(*s), false);
}

static blkcnt_t blocks(void)
{
	struct stat st;
	CHECK_EQ(fstat(img_fd, &st), 0);
	return st.st_blocks;
}

TEST(discard_sparse)
{
	struct virtio_blk_dwz s[BLK_DISCARD_SEG_MAX + 1];
	blkcnt_t full, after;
	uint8_t ones[4096];
	unsigned i;

	setup(false, 0x11);
	memset(ones, 0x11, sizeof(ones));
	full = blocks();
	CHECK(full >= IMG_SIZE / 512);
	/* refused ones first: nothing may change */
	s[0] = (struct virtio_blk_dwz){0, 1024, VIRTIO_BLK_WZ_F_UNMAP}; /* unmap on discard */
	CHECK_EQ(dwz(VIRTIO_BLK_T_DISCARD, s, 1), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_UNSUPP);
	s[0] = (struct virtio_blk_dwz){0, 1024, 0};
	s[1] = (struct virtio_blk_dwz){IMG_SIZE / 512 - 8, 16, 0}; /* second one past the end */
	CHECK_EQ(dwz(VIRTIO_BLK_T_DISCARD, s, 2), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	for (i = 0; i < BLK_DISCARD_SEG_MAX + 1; i++)
		s[i] = (struct virtio_blk_dwz){i * 8, 8, 0};
	CHECK_EQ(dwz(VIRTIO_BLK_T_DISCARD, s, BLK_DISCARD_SEG_MAX + 1), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	s[0] = (struct virtio_blk_dwz){0, BLK_DISCARD_SECTORS_MAX + 1, 0};
	CHECK_EQ(dwz(VIRTIO_BLK_T_DISCARD, s, 1), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(blocks(), full);
	CHECK(file_is(0, ones, sizeof(ones)));

	/* half the image in two segments */
	s[0] = (struct virtio_blk_dwz){0, 512, 0};
	s[1] = (struct virtio_blk_dwz){512, 512, 0};
	CHECK_EQ(dwz(VIRTIO_BLK_T_DISCARD, s, 2), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	after = blocks();
	CHECK(after <= full - (IMG_SIZE / 2) / 512);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, DATA2, 4096, true), 4097);
	CHECK(all_zero(g(DATA2), 4096));
	CHECK(file_is(IMG_SIZE / 2, ones, sizeof(ones))); /* the rest untouched */
	CHECK_EQ(lseek(img_fd, 0, SEEK_END), IMG_SIZE);	  /* size kept */
	CHECK_EQ(blk.stats.discards, 1);
	teardown();
}

TEST(write_zeroes)
{
	struct virtio_blk_dwz s[2];
	uint8_t ones[8192];

	setup(false, 0x22);
	memset(ones, 0x22, sizeof(ones));
	s[0] = (struct virtio_blk_dwz){8, 8, 0};		      /* zero range */
	s[1] = (struct virtio_blk_dwz){32, 8, VIRTIO_BLK_WZ_F_UNMAP}; /* may punch */
	CHECK_EQ(dwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 2), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_OK);
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, DATA2, 24 * 1024, true), 24 * 1024 + 1);
	CHECK(memcmp(g(DATA2), ones, 4096) == 0);
	CHECK(all_zero(g(DATA2 + 4096), 4096));
	CHECK(memcmp(g(DATA2 + 8192), ones, 8192) == 0);
	CHECK(all_zero(g(DATA2 + 16384), 4096));
	CHECK(memcmp(g(DATA2 + 20480), ones, 4096) == 0);
	CHECK_EQ(lseek(img_fd, 0, SEEK_END), IMG_SIZE);
	/* an unknown flag bit */
	s[0] = (struct virtio_blk_dwz){0, 8, 2};
	CHECK_EQ(dwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 1), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_UNSUPP);
	CHECK(file_is(0, ones, 4096));
	/* a payload that is not whole segments */
	CHECK_EQ(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA, 24, false), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(blk.stats.write_zeroes, 1);
	teardown();
}

TEST(bad_chains)
{
	uint8_t zero[512] = {0};
	struct seg no_status[] = {{HDR, 16, false}, {DATA, 512, false}};
	struct seg short_hdr[] = {{HDR, 8, false}, {STATUS, 1, true}};
	struct seg in_extra[] = {
	    {HDR, 16, false}, {DATA, 512, false}, {DATA2, 512, true}, {STATUS, 1, true}};
	struct seg status_ro[] = {{HDR, 16, false}, {DATA2, 512, true}, {STATUS, 1, false}};

	setup(false, -1);
	memset(g(DATA), 0x33, 512);
	/* no writable byte at all: nothing done, used with length 0 */
	hdr(VIRTIO_BLK_T_OUT, 0);
	CHECK_EQ(submit(no_status, 2), 0);
	CHECK_EQ(status(), 0xee);
	CHECK(file_is(0, zero, sizeof(zero)));
	CHECK_EQ(blk.stats.malformed, 1);
	/* header too short */
	hdr(VIRTIO_BLK_T_OUT, 0);
	CHECK_EQ(submit(short_hdr, 2), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	/* a read with readable data after its header */
	hdr(VIRTIO_BLK_T_IN, 0);
	CHECK_EQ(submit(in_extra, 4), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_IOERR);
	/* an unknown request type */
	CHECK_EQ(req(99, 0, DATA2, 512, true), 1);
	CHECK_EQ(status(), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(blk.stats.unsupported, 1);
	CHECK(file_is(0, zero, sizeof(zero)));
	/* the status in a readable descriptor after a writable one: the queue refuses the chain
	 * (the transport asks for reset); nothing is used, nothing crashes */
	hdr(VIRTIO_BLK_T_IN, 0);
	CHECK_EQ(submit(status_ro, 3), -1);
	CHECK_EQ(status(), 0xee);
	CHECK(rd(MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	teardown();
}

TEST(status_not_writable_out)
{
	struct seg s[] = {{HDR, 16, false}, {DATA, 512, false}, {STATUS, 1, false}};

	setup(false, -1);
	memset(g(DATA), 0x44, 512);
	hdr(VIRTIO_BLK_T_OUT, 0);
	CHECK_EQ(submit(s, 3), 0); /* all readable: no status byte, the write never happens */
	CHECK_EQ(status(), 0xee);
	CHECK_EQ(blk.stats.writes, 0);
	CHECK_EQ(blk.stats.malformed, 1);
	teardown();
}

TEST(descriptor_outside_ram)
{
	setup(false, -1);
	/* data buffer runs off the end of RAM: the queue refuses it, the file is not read */
	CHECK_EQ(req(VIRTIO_BLK_T_IN, 0, BASE + MEM_SIZE - 256, 512, true), -1);
	CHECK_EQ(blk.stats.reads, 0);
	teardown();
}

int main(void)
{
	int fd = mkstemp(img);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	RUN(open_errors);
	RUN(config_and_features);
	RUN(read_write_roundtrip);
	RUN(multi_segment);
	RUN(readonly_refuses_writes);
	RUN(out_of_range);
	RUN(short_read_at_eof);
	RUN(flush);
	RUN(get_id);
	RUN(discard_sparse);
	RUN(write_zeroes);
	RUN(bad_chains);
	RUN(status_not_writable_out);
	RUN(descriptor_outside_ram);
	if (img_fd >= 0)
		close(img_fd);
	unlink(img);
	free(mem);
	T_EXIT();
}
