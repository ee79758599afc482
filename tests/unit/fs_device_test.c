/* Unit test of the virtio-fs device through real split rings in fake guest memory and its worker
 * pool: config space, queue count, 40 requests completed by 3 workers, a FORGET on the hiprio
 * queue, and the notifications the guest would get. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "virtio/fs/fs_int.h"

static char root[64];

#define MEM_SIZE (4 << 20)
#define BASE	 0x40000000ull
#define QSZ	 128

static uint8_t *mem;

static void *g(uint64_t gpa)
{
	return mem + (gpa - BASE);
}

static uint64_t qdesc(int q)
{
	return BASE + (uint64_t)q * 0x10000;
}

static int notified;

static void on_notify(struct virtio_dev *v, unsigned q, void *opaque)
{
	__atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

TEST(device_rings_and_workers)
{
	struct fs_share_config cfg = {.root = root,
				      .tag = "workspace",
				      .threads = 3,
				      .owner_uid = getuid(),
				      .owner_gid = getgid()};
	static struct guest_mem gm;
	static struct virtq vqs[FS_NUM_QUEUES];
	struct fs_dev *d = fs_dev_new(&cfg);
	struct virtio_dev *vd;
	uint8_t cfgb[40];
	const int N = 40;

	CHECK(d != NULL);
	if (!d)
		return;
	vd = fs_dev_virtio(d);
	CHECK_EQ(vd->ops->device_id, 26);
	CHECK_EQ(vd->ops->queue_count(vd), 2);
	CHECK_EQ(vd->ops->config_read(vd, 0, cfgb, 40), 0);
	CHECK(!memcmp(cfgb, "workspace", 10));
	CHECK_EQ(cfgb[36], 1);
	CHECK(vd->ops->config_read(vd, 30, cfgb, 20) < 0);
	mem = aligned_alloc(4096, MEM_SIZE);
	memset(mem, 0, MEM_SIZE);
	gm_add(&gm, BASE, MEM_SIZE, 0, mem);
	for (int q = 0; q < FS_NUM_QUEUES; q++) {
		vqs[q].mem = &gm;
		vqs[q].name = "fs";
		CHECK_EQ(vq_setup(&vqs[q], QSZ, qdesc(q), qdesc(q) + 0x1000, qdesc(q) + 0x2000, 0),
			 0);
	}
	vd->mem = &gm;
	vd->vqs = vqs;
	vd->notify = on_notify;
	/* N requests: INIT first, then LOOKUPs of "hello", each in two descriptors */
	struct virtq_desc *desc = g(qdesc(1));
	uint16_t *avail = g(qdesc(1) + 0x1000);
	for (int i = 0; i < N; i++) {
		uint64_t in = BASE + 0x100000 + (uint64_t)i * 0x2000, out = in + 0x1000;
		struct fuse_in_header h = {.unique = (uint64_t)i + 1, .nodeid = FUSE_ROOT_ID};
		size_t l = sizeof(h);

		if (i == 0) {
			struct fuse_init_in ii = {.major = 7, .minor = 38};
			h.opcode = FUSE_INIT;
			memcpy((uint8_t *)g(in) + l, &ii, sizeof(ii));
			l += sizeof(ii);
		} else {
			h.opcode = FUSE_LOOKUP;
			memcpy((uint8_t *)g(in) + l, "hello", 6);
			l += 6;
		}
		h.len = (uint32_t)l;
		memcpy(g(in), &h, sizeof(h));
		desc[2 * i] =
		    (struct virtq_desc){in, (uint32_t)l, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * i + 1)};
		desc[2 * i + 1] = (struct virtq_desc){out, 0x1000, VIRTQ_DESC_F_WRITE, 0};
		avail[2 + i] = (uint16_t)(2 * i);
		if (i == 0) { /* INIT alone first, as the guest does */
			__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
			vd->ops->queue_kick(vd, 1);
			for (int t = 0;
			     t < 500 && __atomic_load_n(&((uint16_t *)g(qdesc(1) + 0x2000))[1],
							__ATOMIC_ACQUIRE) < 1;
			     t++)
				usleep(2000);
		}
	}
	__atomic_store_n(&avail[1], (uint16_t)N, __ATOMIC_RELEASE);
	vd->ops->queue_kick(vd, 1);
	uint16_t *used = g(qdesc(1) + 0x2000);
	for (int t = 0; t < 1000 && __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) < N; t++)
		usleep(2000);
	CHECK_EQ(__atomic_load_n(&used[1], __ATOMIC_ACQUIRE), N);
	int ok = 0;
	uint64_t node = 0;
	for (int i = 0; i < N; i++) {
		struct fuse_out_header oh;
		struct fuse_entry_out e;
		uint32_t id = ((uint32_t *)&used[2])[2 * i];
		uint64_t out = BASE + 0x100000 + (uint64_t)(id / 2) * 0x2000 + 0x1000;

		memcpy(&oh, g(out), sizeof(oh));
		if (oh.error == 0 && oh.unique == id / 2 + 1u)
			ok++;
		if (id != 0) {
			memcpy(&e, (uint8_t *)g(out) + 16, sizeof(e));
			if (!node)
				node = e.nodeid;
			CHECK_EQ(e.nodeid, node);
		}
	}
	CHECK_EQ(ok, N);
	CHECK(notified > 0);
	/* hiprio: a FORGET is consumed without a reply */
	{
		uint64_t in = BASE + 0x300000;
		struct fuse_in_header h = {.len = sizeof(h) + sizeof(struct fuse_forget_in),
					   .opcode = FUSE_FORGET,
					   .unique = 999,
					   .nodeid = node};
		struct fuse_forget_in f = {.nlookup = (uint64_t)N - 1};
		struct virtq_desc *hd = g(qdesc(0));
		uint16_t *ha = g(qdesc(0) + 0x1000), *hu = g(qdesc(0) + 0x2000);

		memcpy(g(in), &h, sizeof(h));
		memcpy((uint8_t *)g(in) + sizeof(h), &f, sizeof(f));
		hd[0] = (struct virtq_desc){in, h.len, 0, 0};
		ha[2] = 0;
		__atomic_store_n(&ha[1], 1, __ATOMIC_RELEASE);
		vd->ops->queue_kick(vd, 0);
		CHECK_EQ(hu[1], 1);
		CHECK_EQ(((uint32_t *)&hu[2])[1], 0);
	}
	vd->ops->reset(vd);
	fs_dev_free(d);
	free(mem);
	cfg.tag = "a-tag-that-is-much-longer-than-36-bytes";
	CHECK(fs_dev_new(&cfg) == NULL);
}

static void rm_rf(const char *p)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", p);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/sbx-fs-dev-unit.XXXXXX");
	char hello[96];
	FILE *f;

	if (!mkdtemp(root))
		return 1;
	snprintf(hello, sizeof(hello), "%s/hello", root); /* what the LOOKUPs look up */
	f = fopen(hello, "w");
	if (!f || fputs("hello\n", f) < 0 || fclose(f) != 0)
		return 1;
	RUN(device_rings_and_workers);
	rm_rf(root);
	T_EXIT();
}
