/* Test guest: find sbx-vmm's virtio-mmio devices in the ACPI DSDT and drive each one's queues
 * the way a kernel driver would, polling (interrupts stay off), printing one "ok"/"FAIL" line
 * per check; tests/e2e/vmm_devices.sh reads them and checks the host side.
 *   rng   (4):  a 64-byte buffer comes back filled, not all zero.
 *   blk   (2):  capacity from config; write sector 1, read it back, flush, GET_ID, a read
 *               past the end refused.
 *   vsock (19): connect to host port 1234 (an echo server on <uds>_1234): RESPONSE, data
 *               echoed, SHUTDOWN -> RST; connect to port 1235 (nobody listens) -> RST.
 *   fs    (26): FUSE_INIT, LOOKUP/OPEN/READ of hello.txt, CREATE/WRITE of guest.txt.
 * For each device, its interrupt must have been raised (InterruptStatus) and have reached the
 * local APIC (IRR) through KVM's irqfd and the I/O APIC. Exit status 0x30 if every check
 * passed, 0x31 if one failed, 0x32 if no device was found. */
#include "rt/rt.h"
#include "rt/vdrv.h"

#define SPINS 2000000UL

static unsigned failures;

static void check(bool ok, const char *dev, const char *what)
{
	rt_printf("%s %s: %s\n", ok ? "ok" : "FAIL", dev, what);
	failures += !ok;
}

static void check_irq(struct vdrv *d, const char *dev)
{
	unsigned s = vdrv_irq_seen(d);

	check(s & 1, dev, "interrupt status");
	check(s & 2, dev, "interrupt delivered");
}

/* ---- rng */
static uint8_t rng_buf[64];

static void test_rng(struct vdrv *d)
{
	struct vdrv_seg s = {rng_buf, sizeof(rng_buf), true};
	uint32_t len = 0;
	unsigned nonzero = 0;

	vdrv_submit(d, 0, &s, 1);
	check(vdrv_wait(d, 0, &len, SPINS) >= 0 && len == sizeof(rng_buf), "rng", "filled");
	for (unsigned i = 0; i < sizeof(rng_buf); i++)
		nonzero += rng_buf[i] != 0;
	check(nonzero > 32, "rng", "random bytes");
	check_irq(d, "rng");
}

/* ---- blk */
struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct blk_hdr bhdr;
static uint8_t bdata[512], bstatus;

static int blk_req(struct vdrv *d, uint32_t type, uint64_t sector, uint32_t len, bool wr)
{
	struct vdrv_seg s[3] = {{&bhdr, sizeof(bhdr), false}};
	unsigned n = 1;
	uint32_t used = 0;

	bhdr = (struct blk_hdr){.type = type, .sector = sector};
	if (len)
		s[n++] = (struct vdrv_seg){bdata, len, !wr};
	s[n++] = (struct vdrv_seg){&bstatus, 1, true};
	bstatus = 0xee;
	vdrv_submit(d, 0, s, n);
	if (vdrv_wait(d, 0, &used, SPINS) < 0)
		return -1;
	return bstatus;
}

static void test_blk(struct vdrv *d)
{
	uint64_t cap = 0;

	for (unsigned i = 0; i < 8; i++)
		cap |= (uint64_t)vdrv_config8(d, i) << (8 * i);
	rt_printf("blk capacity %lu\n", (unsigned long)cap);
	for (unsigned i = 0; i < 512; i++)
		bdata[i] = (uint8_t)(i * 7 + 1);
	check(blk_req(d, 1 /* OUT */, 1, 512, true) == 0, "blk", "write sector 1");
	memset(bdata, 0, sizeof(bdata));
	check(blk_req(d, 0 /* IN */, 1, 512, false) == 0 && bdata[0] == 1 &&
		  bdata[511] == (uint8_t)(511 * 7 + 1),
	      "blk", "read back");
	check(blk_req(d, 4 /* FLUSH */, 0, 0, false) == 0, "blk", "flush");
	memset(bdata, 0, sizeof(bdata));
	check(blk_req(d, 8 /* GET_ID */, 0, 20, false) == 0 && bdata[0] != 0, "blk", "get id");
	bdata[20] = 0;
	rt_printf("blk id %s\n", (const char *)bdata);
	check(blk_req(d, 0, cap, 512, false) == 1 /* IOERR */, "blk", "read past the end refused");
	check_irq(d, "blk");
}

/* ---- vsock */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE };

static struct vsock_hdr txh;
static uint8_t txdata[32];
static uint8_t rxbuf[VDRV_QSIZE][sizeof(struct vsock_hdr) + 256];
static unsigned rx_next;

static void vs_post_rx(struct vdrv *d, unsigned i)
{
	struct vdrv_seg s = {rxbuf[i], sizeof(rxbuf[i]), true};

	vdrv_post(d, 0, &s, 1);
}

static void vs_send(struct vdrv *d, uint32_t port, uint16_t op, uint32_t flags, const char *data)
{
	struct vdrv_seg s[2] = {{&txh, sizeof(txh), false}};
	unsigned n = 1;
	uint32_t len = data ? (uint32_t)strlen(data) : 0;

	txh = (struct vsock_hdr){.src_cid = vdrv_config8(d, 0),
				 .dst_cid = 2,
				 .src_port = 5000 + port,
				 .dst_port = port,
				 .len = len,
				 .type = 1,
				 .op = op,
				 .flags = flags,
				 .buf_alloc = 65536};
	if (len) {
		memcpy(txdata, data, len);
		s[n++] = (struct vdrv_seg){txdata, len, false};
	}
	vdrv_submit(d, 1, s, n);
	vdrv_wait(d, 1, &len, SPINS);
}

/* The next packet the device delivers for @port (others, e.g. credit updates, skipped). */
static const struct vsock_hdr *vs_recv(struct vdrv *d, uint32_t port)
{
	for (unsigned tries = 0; tries < 8; tries++) {
		uint32_t len = 0;
		int head = vdrv_wait(d, 0, &len, SPINS);
		const struct vsock_hdr *h;

		if (head < 0)
			return NULL;
		h = (const struct vsock_hdr *)rxbuf[head];
		rx_next = (unsigned)head;
		if (h->dst_port == 5000 + port && h->op != OP_CREDIT_UPDATE)
			return h;
		vs_post_rx(d, (unsigned)head);
		vdrv_notify(d, 0);
	}
	return NULL;
}

static void vs_repost(struct vdrv *d)
{
	vs_post_rx(d, rx_next);
	vdrv_notify(d, 0);
}

static void test_vsock(struct vdrv *d)
{
	const struct vsock_hdr *h;

	rt_printf("vsock guest cid %u\n", vdrv_config8(d, 0));
	for (unsigned i = 0; i < VDRV_QSIZE; i++)
		vs_post_rx(d, i);
	vdrv_notify(d, 0);
	vs_send(d, 1234, OP_REQUEST, 0, NULL);
	h = vs_recv(d, 1234);
	check(h && h->op == OP_RESPONSE, "vsock", "connect to host port 1234");
	if (h)
		vs_repost(d);
	vs_send(d, 1234, OP_RW, 0, "ping from the guest");
	h = vs_recv(d, 1234);
	check(h && h->op == OP_RW && h->len == 19 &&
		  memcmp((const uint8_t *)h + sizeof(*h), "ping from the guest", 19) == 0,
	      "vsock", "echo");
	if (h)
		vs_repost(d);
	vs_send(d, 1234, OP_SHUTDOWN, 3, NULL);
	h = vs_recv(d, 1234);
	check(h && h->op == OP_RST, "vsock", "shutdown answered with RST");
	if (h)
		vs_repost(d);
	vs_send(d, 1235, OP_REQUEST, 0, NULL);
	h = vs_recv(d, 1235);
	check(h && h->op == OP_RST, "vsock", "nobody on port 1235: RST");
	if (h)
		vs_repost(d);
	check_irq(d, "vsock");
}

/* ---- virtio-fs (FUSE) */
struct fuse_in {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t extlen, pad;
};

struct fuse_out {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

static struct fuse_in fin;
static uint8_t fargs[128];
static struct fuse_out fout;
static uint8_t freply[256];
static uint64_t funique;

/* One request: header + @alen argument bytes (from fargs) -> fout + @rlen reply bytes. */
static int fuse_call(struct vdrv *d, uint32_t opcode, uint64_t node, uint32_t alen, uint32_t rlen)
{
	struct vdrv_seg s[4] = {{&fin, sizeof(fin), false}};
	unsigned n = 1;
	uint32_t used = 0;

	fin = (struct fuse_in){.len = (uint32_t)sizeof(fin) + alen,
			       .opcode = opcode,
			       .unique = ++funique,
			       .nodeid = node};
	if (alen)
		s[n++] = (struct vdrv_seg){fargs, alen, false};
	s[n++] = (struct vdrv_seg){&fout, sizeof(fout), true};
	if (rlen)
		s[n++] = (struct vdrv_seg){freply, rlen, true};
	memset(&fout, 0, sizeof(fout));
	fout.error = 1;
	vdrv_submit(d, 1, s, n);
	if (vdrv_wait(d, 1, &used, SPINS) < 0 || fout.unique != funique)
		return -1000;
	return fout.error;
}

static void put32(unsigned off, uint32_t v)
{
	memcpy(fargs + off, &v, 4);
}

static void put64(unsigned off, uint64_t v)
{
	memcpy(fargs + off, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void test_fs(struct vdrv *d)
{
	char tag[37] = {0};
	uint64_t node, fh;
	int rc;

	for (unsigned i = 0; i < 36; i++)
		tag[i] = (char)vdrv_config8(d, i);
	rt_printf("fs tag %s\n", tag);
	memset(fargs, 0, sizeof(fargs));
	put32(0, 7);  /* major */
	put32(4, 31); /* minor */
	check(fuse_call(d, 26 /* INIT */, 0, 64, 64) == 0, "fs", "init");
	memcpy(fargs, "hello.txt", 10);
	rc = fuse_call(d, 1 /* LOOKUP */, 1, 10, 128);
	node = get64(freply);
	check(rc == 0 && node != 0, "fs", "lookup hello.txt");
	memset(fargs, 0, 8); /* O_RDONLY */
	rc = fuse_call(d, 14 /* OPEN */, node, 8, 16);
	fh = get64(freply);
	check(rc == 0, "fs", "open");
	memset(fargs, 0, 40);
	put64(0, fh);
	put32(16, 64);
	memset(freply, 0, sizeof(freply));
	rc = fuse_call(d, 15 /* READ */, node, 40, 64);
	check(rc == 0 && memcmp(freply, "hello from the host\n", 20) == 0, "fs", "read");
	memset(fargs, 0, sizeof(fargs));
	put32(0, 0101); /* O_WRONLY | O_CREAT */
	put32(4, 0100644);
	memcpy(fargs + 16, "guest.txt", 10);
	rc = fuse_call(d, 35 /* CREATE */, 1, 26, 128 + 16);
	node = get64(freply);
	fh = get64(freply + 128);
	check(rc == 0 && node != 0, "fs", "create guest.txt");
	memset(fargs, 0, 40);
	put64(0, fh);
	put32(16, 21);
	memcpy(fargs + 40, "written by the guest\n", 21);
	rc = fuse_call(d, 16 /* WRITE */, node, 61, 8);
	check(rc == 0 && freply[0] == 21, "fs", "write");
	check_irq(d, "fs");
}

int guest_main(void)
{
	struct rt_virtio_slot slot[RT_VIRTIO_MAX];
	unsigned n = rt_acpi_virtio_mmio(slot, RT_VIRTIO_MAX);
	static struct vdrv d;

	rt_printf("virtio slots %u\n", n);
	if (n == 0)
		return 0x32;
	for (unsigned i = 0; i < n; i++) {
		uint32_t id = rt_mmio_read32(slot[i].base + VD_DEVICE_ID);
		unsigned nq = id == 19 ? 3 : id == 26 ? 2 : 1;

		rt_printf("slot %u: 0x%x gsi %u id %u\n", i, slot[i].base, slot[i].gsi, id);
		if (rt_mmio_read32(slot[i].base + VD_MAGIC) != 0x74726976 ||
		    rt_mmio_read32(slot[i].base + VD_VERSION) != 2) {
			check(false, "slot", "magic and version 2");
			continue;
		}
		if (vdrv_init(&d, slot[i].base, slot[i].gsi, i, nq, 0) < 0) {
			check(false, "slot", "device bring-up");
			continue;
		}
		if (id == 4)
			test_rng(&d);
		else if (id == 2)
			test_blk(&d);
		else if (id == 19)
			test_vsock(&d);
		else if (id == 26)
			test_fs(&d);
	}
	return failures ? 0x31 : 0x30;
}
