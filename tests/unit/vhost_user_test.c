/* Unit tests for the vhost-user backend transport: a fake device (no vsock) and an in-process
 * frontend speaking the wire protocol: feature and config queries, a memfd memory table, ring
 * set-up with kick/call eventfds, GET_VRING_BASE, and bad messages dropping the frontend. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "t.h"
#include "virtio/vhost_user.h"
#include "virtio/vhost_user_msg.h"

static int kicks[4], resets, gone;
static uint8_t cfg[8] = {7, 0, 0, 0, 0, 0, 0, 0};

static unsigned fk_qcount(struct virtio_dev *d)
{
	return 2;
}

static uint64_t fk_features(struct virtio_dev *d)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_EVENT_IDX;
}

static void fk_set_features(struct virtio_dev *d, uint64_t f)
{
	d->acked_features = f;
}

static int fk_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	if (off > 8 || len > 8 - off)
		return -1;
	memcpy(buf, cfg + off, len);
	return 0;
}

static void fk_kick(struct virtio_dev *d, unsigned q)
{
	struct vq_chain c;

	kicks[q]++;
	while (vq_pop(&d->vqs[q], &c)) { /* echo the chain back as used */
		vq_push(&d->vqs[q], c.head, 0);
	}
	virtio_dev_notify(d, q);
}

static void fk_reset(struct virtio_dev *d)
{
	resets++;
}

static const struct virtio_dev_ops fk_ops = {
    .device_id = 99,
    .queue_max = 256,
    .queue_count = fk_qcount,
    .features = fk_features,
    .set_features = fk_set_features,
    .config_read = fk_config_read,
    .queue_kick = fk_kick,
    .reset = fk_reset,
};

static struct evloop *loop;
static struct virtio_dev dev = {.ops = &fk_ops};
static struct vhost_user *vu;
static char path[64];

static void on_gone(void *o)
{
	gone++;
}

static void pump(void)
{
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 10);
}

static int fe_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	pump();
	return fd;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static int fe_send(int fd, uint32_t req, const void *payload, uint32_t size, const int *fds,
		   int nfds)
{
	uint8_t buf[512];
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr a;
	} cb;
	struct iovec iov = {buf, 12 + size};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	put32(buf, req);
	put32(buf + 4, VHU_VERSION);
	put32(buf + 8, size);
	if (size)
		memcpy(buf + 12, payload, size);
	if (nfds) {
		struct cmsghdr *c;
		m.msg_control = cb.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(fd, &m, 0) != (ssize_t)(12 + size))
		return -1;
	pump();
	return 0;
}

static int fe_reply(int fd, uint8_t *buf, size_t n)
{
	struct timeval tv = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return (int)recv(fd, buf, n, 0);
}

static uint64_t fe_get_u64(int fd, uint32_t req)
{
	uint8_t r[64];
	uint64_t v = 0;

	fe_send(fd, req, NULL, 0, NULL, 0);
	if (fe_reply(fd, r, sizeof(r)) == 20) {
		uint32_t flags;
		memcpy(&flags, r + 4, 4);
		CHECK(flags & VHU_FLAG_REPLY);
		memcpy(&v, r + 12, 8);
	}
	return v;
}

static void fe_u64(int fd, uint32_t req, uint64_t v, const int *fds, int nfds)
{
	uint8_t p[8];

	put64(p, v);
	fe_send(fd, req, p, 8, fds, nfds);
}

static void fe_state(int fd, uint32_t req, uint32_t idx, uint32_t num)
{
	uint8_t p[8];

	put32(p, idx);
	put32(p + 4, num);
	fe_send(fd, req, p, 8, NULL, 0);
}

static void setup(void)
{
	static int n;

	if (!loop)
		loop = evloop_new();
	snprintf(path, sizeof(path), "/tmp/sbx-vhu-unit-%d-%d.sock", (int)getpid(), n++);
	vu = vhost_user_new(loop, &dev, path, on_gone, NULL);
	CHECK(vu != NULL);
	gone = resets = 0;
	memset(kicks, 0, sizeof(kicks));
}

static void teardown(void)
{
	vhost_user_free(vu);
	CHECK(access(path, F_OK) != 0); /* socket removed */
}

TEST(features_and_config)
{
	uint8_t p[24], r[64];
	uint64_t f;
	int fd;

	setup();
	fd = fe_connect();
	CHECK(vhost_user_connected(vu));
	f = fe_get_u64(fd, VHU_GET_FEATURES);
	CHECK(f & (1ull << VIRTIO_F_VERSION_1));
	CHECK(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	CHECK(fe_get_u64(fd, VHU_GET_PROTOCOL_FEATURES) & (1ull << VHU_PROTOCOL_F_CONFIG));
	fe_u64(fd, VHU_SET_PROTOCOL_FEATURES, 1ull << VHU_PROTOCOL_F_CONFIG, NULL, 0);
	CHECK_EQ(fe_get_u64(fd, VHU_GET_QUEUE_NUM), 2);
	fe_send(fd, VHU_SET_OWNER, NULL, 0, NULL, 0);
	fe_u64(fd, VHU_SET_FEATURES, f, NULL, 0);
	CHECK_EQ(dev.acked_features, f & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES));

	memset(p, 0, sizeof(p));
	put32(p + 4, 8); /* offset 0, size 8 */
	fe_send(fd, VHU_GET_CONFIG, p, 12 + 8, NULL, 0);
	CHECK_EQ(fe_reply(fd, r, sizeof(r)), 12 + 12 + 8);
	CHECK_EQ(r[24], 7); /* our config byte */
	CHECK(vhost_user_connected(vu));

	/* features we never offered: dropped */
	fe_u64(fd, VHU_SET_FEATURES, 1ull << 40, NULL, 0);
	CHECK(!vhost_user_connected(vu));
	CHECK_EQ(gone, 1);
	CHECK_EQ(fe_reply(fd, r, sizeof(r)), 0);
	close(fd);
	teardown();
}

TEST(memory_and_rings)
{
	const size_t sz = 1 << 20;
	const uint64_t gpa = 0x100000, desc = 0, avail = 0x1000, used = 0x2000;
	uint8_t p[64], r[64];
	int mfd, kick, call, fd;
	uint8_t *m;
	uint64_t ev;

	setup();
	fd = fe_connect();
	mfd = memfd_create("guest", 0);
	CHECK_EQ(ftruncate(mfd, (off_t)sz), 0);
	m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	/* region: gpa, size, "frontend address" (our mapping), mmap offset */
	put32(p, 1);
	put32(p + 4, 0);
	put64(p + 8, gpa);
	put64(p + 16, sz);
	put64(p + 24, (uint64_t)(uintptr_t)m);
	put64(p + 32, 0);
	fe_send(fd, VHU_SET_MEM_TABLE, p, 8 + 32, &mfd, 1);
	CHECK(vhost_user_connected(vu));
	CHECK_EQ(dev.mem->nr, 1);

	fe_state(fd, VHU_SET_VRING_NUM, 0, 16);
	fe_state(fd, VHU_SET_VRING_BASE, 0, 0);
	memset(p, 0, sizeof(p));
	put32(p, 0);
	put64(p + 8, (uint64_t)(uintptr_t)(m + desc));
	put64(p + 16, (uint64_t)(uintptr_t)(m + used));
	put64(p + 24, (uint64_t)(uintptr_t)(m + avail));
	fe_send(fd, VHU_SET_VRING_ADDR, p, 40, NULL, 0);
	call = eventfd(0, EFD_NONBLOCK);
	kick = eventfd(0, EFD_NONBLOCK);
	fe_u64(fd, VHU_SET_VRING_CALL, 0, &call, 1);
	fe_u64(fd, VHU_SET_VRING_KICK, 0, &kick, 1);
	CHECK(vhost_user_connected(vu));
	CHECK(dev.vqs[0].ready);
	CHECK_EQ(dev.vqs[0].avail_gpa, gpa + avail);

	/* the guest posts one chain and kicks: the fake device uses it and we get a call */
	struct virtq_desc *d = (struct virtq_desc *)(m + desc);
	uint16_t *a = (uint16_t *)(m + avail);
	d[0] = (struct virtq_desc){gpa + 0x8000, 16, 0, 0};
	a[2] = 0;
	a[1] = 1;
	ev = 1;
	CHECK_EQ(write(kick, &ev, 8), 8);
	pump();
	CHECK(kicks[0] >= 1);
	CHECK_EQ(((uint16_t *)(m + used))[1], 1);
	CHECK_EQ(read(call, &ev, 8), 8);

	/* stop: base is the next avail index */
	fe_state(fd, VHU_GET_VRING_BASE, 0, 0);
	CHECK_EQ(fe_reply(fd, r, sizeof(r)), 20);
	CHECK_EQ(r[16], 1);
	CHECK(!dev.vqs[0].ready);
	CHECK(resets >= 1); /* no ring left running: device reset */

	/* rings pointing outside memory drop the frontend */
	put64(p + 8, 0xdead0000ull);
	fe_send(fd, VHU_SET_VRING_ADDR, p, 40, NULL, 0);
	kick = eventfd(0, EFD_NONBLOCK);
	fe_u64(fd, VHU_SET_VRING_KICK, 0, &kick, 1);
	close(kick);
	CHECK(!vhost_user_connected(vu));
	CHECK_EQ(gone, 1);
	close(fd);
	close(call);
	close(mfd);
	munmap(m, sz);
	teardown();
}

TEST(bad_messages_drop_frontend)
{
	uint8_t p[16] = {0};
	int fd;

	setup();
	fd = fe_connect();
	fe_send(fd, 77, NULL, 0, NULL, 0); /* unknown request */
	CHECK(!vhost_user_connected(vu));
	close(fd);

	fd = fe_connect(); /* a new frontend may connect afterwards */
	CHECK(vhost_user_connected(vu));
	fe_state(fd, VHU_SET_VRING_NUM, 5, 16); /* ring index out of range */
	CHECK(!vhost_user_connected(vu));
	close(fd);

	fd = fe_connect();
	fe_state(fd, VHU_SET_VRING_NUM, 0, 1000); /* not a power of two */
	CHECK(!vhost_user_connected(vu));
	close(fd);

	fd = fe_connect();
	fe_send(fd, VHU_SET_FEATURES, p, 4, NULL, 0); /* wrong payload size */
	CHECK(!vhost_user_connected(vu));
	close(fd);

	fd = fe_connect();
	fe_send(fd, VHU_SET_MEM_TABLE, p, 8, NULL, 0); /* no regions, no fds */
	CHECK(!vhost_user_connected(vu));
	close(fd);
	CHECK_EQ(gone, 5);
	teardown();
}

TEST(parser_rules)
{
	uint8_t b[12 + 40] = {0};
	struct vhu_msg m;

	put32(b, VHU_GET_FEATURES);
	put32(b + 4, VHU_VERSION);
	CHECK_EQ(vhu_msg_parse(b, 12, 0, &m), 0);
	CHECK_EQ(vhu_msg_parse(b, 12, 1, &m), -1); /* stray fd */
	put32(b + 4, 2);
	CHECK_EQ(vhu_msg_parse(b, 12, 0, &m), -1); /* bad version */
	put32(b + 4, VHU_VERSION);
	put32(b + 8, 4);
	CHECK_EQ(vhu_msg_parse(b, 12, 0, &m), -1); /* size disagrees with bytes */
	put32(b, VHU_SET_VRING_KICK);
	put32(b + 8, 8);
	put64(b + 12, VHU_VRING_NOFD | 1);
	CHECK_EQ(vhu_msg_parse(b, 20, 0, &m), 0);
	CHECK_EQ(vhu_msg_parse(b, 20, 1, &m), -1);
	put64(b + 12, 1);
	CHECK_EQ(vhu_msg_parse(b, 20, 0, &m), -1); /* fd promised, none sent */
	put32(b, VHU_SET_MEM_TABLE);
	put32(b + 8, 8 + 32);
	put32(b + 12, 9);
	CHECK_EQ(vhu_msg_parse(b, 12 + 40, 9, &m), -1); /* too many regions */
	put32(b + 12, 1);
	CHECK_EQ(vhu_msg_parse(b, 12 + 40, 1, &m), 0);
	put32(b, VHU_GET_CONFIG);
	put32(b + 8, 12 + 4);
	put32(b + 16, 8); /* claims 8 bytes of config, carries 4 */
	CHECK_EQ(vhu_msg_parse(b, 12 + 16, 0, &m), -1);
}

int main(void)
{
	RUN(parser_rules);
	RUN(features_and_config);
	RUN(memory_and_rings);
	RUN(bad_messages_drop_frontend);
	evloop_free(loop);
	T_EXIT();
}
