/* Unit tests for the vsock device without any transport: a fake guest memory, hand-built rx/tx
 * rings, unix listeners and clients standing in for host programs. Covers guest->host connect,
 * RST for missing listeners and unknown streams, the CONNECT/OK handshake, credit accounting,
 * half-close and many streams. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "t.h"
#include "virtio/vsock/conn.h"
#include "virtio/vsock/pkt.h"
#include "virtio/vsock/vsock.h"

#define MEM_SIZE (8 << 20)
#define BASE	 0x40000000ull
#define QSZ	 256
#define RXBUFS	 64
#define DATA	 4096
#define CID	 3

static uint8_t *mem;
static struct guest_mem gm;
static struct virtq vqs[VSOCK_NUM_QUEUES];
static struct evloop *loop;
static struct vsock_dev *dev;
static struct virtio_dev *vd;
static char dir[64], uds[80];
static int notifies;
static uint16_t used_seen[2], tx_next;
static uint64_t bump;

static void *g(uint64_t gpa)
{
	return mem + (gpa - BASE);
}

static uint64_t qdesc(int q)
{
	return BASE + (uint64_t)q * 0x10000;
}

static uint64_t qavail(int q)
{
	return qdesc(q) + 0x1000;
}

static uint64_t qused(int q)
{
	return qdesc(q) + 0x2000;
}

static void set_desc(int q, uint16_t i, uint64_t a, uint32_t len, uint16_t fl, uint16_t nx)
{
	((struct virtq_desc *)g(qdesc(q)))[i] = (struct virtq_desc){a, len, fl, nx};
}

static void avail_add(int q, uint16_t head)
{
	uint16_t *a = g(qavail(q));
	a[2 + a[1] % QSZ] = head;
	__atomic_store_n(&a[1], (uint16_t)(a[1] + 1), __ATOMIC_RELEASE);
}

static void on_notify(struct virtio_dev *v, unsigned q, void *opaque)
{
	notifies++;
}

/* rx buffer i uses descriptors 2i (header) and 2i+1 (data), like Linux 6.1 */
static uint64_t rx_hdr(uint16_t head)
{
	return BASE + 0x100000 + (uint64_t)head * 0x2000;
}

static void rx_post(uint16_t head)
{
	set_desc(0, head, rx_hdr(head), VSOCK_HDR_LEN, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		 (uint16_t)(head + 1));
	set_desc(0, (uint16_t)(head + 1), rx_hdr(head) + 64, DATA, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0, head);
}

static void setup(void)
{
	static int n;

	if (!mem) {
		mem = aligned_alloc(4096, MEM_SIZE);
		loop = evloop_new();
		snprintf(dir, sizeof(dir), "/tmp/sbx-vsock-unit.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	memset(mem, 0, MEM_SIZE);
	memset(&gm, 0, sizeof(gm));
	gm_add(&gm, BASE, MEM_SIZE, 0, mem);
	snprintf(uds, sizeof(uds), "%s/v%d.sock", dir, n++);
	dev = vsock_dev_new(
	    &(struct vsock_dev_config){.guest_cid = CID, .uds_path = uds, .loop = loop});
	if (!dev)
		abort();
	CHECK_EQ(vsock_dev_listen(dev), 0);
	vd = vsock_dev_virtio(dev);
	memset(vqs, 0, sizeof(vqs));
	for (int q = 0; q < VSOCK_NUM_QUEUES; q++) {
		vqs[q].mem = &gm;
		vqs[q].name = "t";
		CHECK_EQ(vq_setup(&vqs[q], QSZ, qdesc(q), qavail(q), qused(q), 0), 0);
	}
	vd->mem = &gm;
	vd->vqs = vqs;
	vd->notify = on_notify;
	used_seen[0] = used_seen[1] = 0;
	tx_next = 0;
	bump = BASE + 0x400000;
	for (uint16_t i = 0; i < RXBUFS; i++)
		rx_post((uint16_t)(2 * i));
	vd->ops->queue_kick(vd, 0);
}

static void teardown(void)
{
	vsock_dev_free(dev);
	dev = NULL;
}

/* guest -> device packet on the tx queue, header and payload in two descriptors */
static void tx(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t buf_alloc,
	       uint32_t fwd_cnt, uint32_t flags, const void *data, uint32_t len)
{
	struct vsock_hdr h = {.src_cid = CID,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = src_port,
			      .dst_port = dst_port,
			      .len = len,
			      .type = VSOCK_TYPE_STREAM,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = buf_alloc,
			      .fwd_cnt = fwd_cnt};
	uint16_t head = tx_next;
	uint64_t hb, pb;

	if (bump + 0x12000 > BASE + MEM_SIZE)
		bump = BASE + 0x400000;
	hb = bump;
	pb = bump + 64;
	bump += 64 + ((len + 63) & ~63u);
	tx_next = (uint16_t)((tx_next + 2) % QSZ);
	vsock_hdr_encode(&h, g(hb));
	if (len) {
		memcpy(g(pb), data, len);
		set_desc(1, head, hb, VSOCK_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
		set_desc(1, (uint16_t)(head + 1), pb, len, 0, 0);
	} else {
		set_desc(1, head, hb, VSOCK_HDR_LEN, 0, 0);
	}
	avail_add(1, head);
	vd->ops->queue_kick(vd, 1);
}

static void pump(int ms)
{
	evloop_run_once(loop, ms);
}

/* next packet the device put on rx (pumping the loop up to ~1 s); reposts the buffer */
static int rx_t(struct vsock_hdr *h, void *data, size_t cap, int max_tries)
{
	for (int tries = 0; tries < max_tries; tries++) {
		uint16_t *u = g(qused(0));
		if (__atomic_load_n(&u[1], __ATOMIC_ACQUIRE) != used_seen[0]) {
			uint32_t *e = (uint32_t *)g(qused(0) + 4 + 8 * (used_seen[0] % QSZ));
			uint16_t head = (uint16_t)e[0];
			used_seen[0]++;
			vsock_hdr_parse(g(rx_hdr(head)), VSOCK_HDR_LEN, h);
			if (data && h->len <= cap)
				memcpy(data, g(rx_hdr(head) + 64), h->len);
			CHECK_EQ(e[1], VSOCK_HDR_LEN + h->len);
			rx_post(head);
			vd->ops->queue_kick(vd, 0);
			return 1;
		}
		pump(10);
	}
	return 0;
}

static int rx(struct vsock_hdr *h, void *data, size_t cap)
{
	return rx_t(h, data, cap, 100);
}

static int listen_at(uint32_t port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", uds, port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0)
		abort();
	return fd;
}

static int connect_uds(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	return fd;
}

static ssize_t read_wait(int fd, void *buf, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (int i = 0; i < 100; i++) {
		pump(0);
		if (poll(&p, 1, 10) == 1)
			return read(fd, buf, n);
	}
	errno = ETIMEDOUT;
	return -1;
}

static void unlink_port(uint32_t port)
{
	char p[160];
	snprintf(p, sizeof(p), "%s_%u", uds, port);
	unlink(p);
}

TEST(guest_connects_to_host_listener)
{
	struct vsock_hdr h;
	char buf[64];
	int l, c;

	setup();
	l = listen_at(1025);
	tx(VSOCK_OP_REQUEST, 7000, 1025, 65536, 0, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RESPONSE);
	CHECK_EQ(h.src_cid, VSOCK_HOST_CID);
	CHECK_EQ(h.dst_cid, CID);
	CHECK_EQ(h.src_port, 1025);
	CHECK_EQ(h.dst_port, 7000);
	CHECK_EQ(h.buf_alloc, VSOCK_BUF_ALLOC);
	CHECK(notifies > 0);
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	tx(VSOCK_OP_RW, 7000, 1025, 65536, 0, 0, "hello", 5);
	CHECK_EQ(read_wait(c, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(write(c, "world!", 6), 6);
	CHECK(rx(&h, buf, sizeof(buf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.len, 6);
	CHECK(memcmp(buf, "world!", 6) == 0);
	CHECK_EQ(h.fwd_cnt, 5); /* we forwarded the guest's 5 bytes */

	/* guest half-closes: host reads EOF, can still send */
	tx(VSOCK_OP_SHUTDOWN, 7000, 1025, 65536, 6, VSOCK_SHUTDOWN_SEND, NULL, 0);
	CHECK_EQ(read_wait(c, buf, sizeof(buf)), 0);
	CHECK_EQ(write(c, "late", 4), 4);
	CHECK(rx(&h, buf, sizeof(buf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.len, 4);
	/* host closes too: both directions done -> RST to the guest, stream freed */
	close(c);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.dst_port, 7000);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	close(l);
	unlink_port(1025);
	teardown();
}

TEST(guest_connect_without_listener_gets_rst)
{
	struct vsock_hdr h;

	setup();
	tx(VSOCK_OP_REQUEST, 7001, 4444, 65536, 0, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.src_port, 4444);
	CHECK_EQ(h.dst_port, 7001);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	teardown();
}

TEST(unknown_stream_gets_rst)
{
	struct vsock_hdr h;

	setup();
	tx(VSOCK_OP_RW, 7002, 1234, 65536, 0, 0, "x", 1);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.dst_port, 7002);
	/* an RST for an unknown stream gets no answer */
	tx(VSOCK_OP_RST, 7002, 1234, 65536, 0, 0, NULL, 0);
	CHECK(!rx(&h, NULL, 0));
	teardown();
}

TEST(host_connects_to_guest)
{
	struct vsock_hdr h;
	char buf[64];
	unsigned port;
	int c;

	setup();
	c = connect_uds();
	CHECK_EQ(write(c, "CONNECT 5000\n", 13), 13);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(h.dst_port, 5000);
	CHECK(h.src_port >= 1u << 30);
	port = h.src_port;
	tx(VSOCK_OP_RESPONSE, 5000, port, 65536, 0, 0, NULL, 0);
	memset(buf, 0, sizeof(buf));
	CHECK(read_wait(c, buf, sizeof(buf) - 1) > 0);
	snprintf(buf + 40, 20, "OK %u\n", port);
	CHECK_STR(buf, buf + 40);
	CHECK_EQ(write(c, "ping", 4), 4);
	CHECK(rx(&h, buf, sizeof(buf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK(memcmp(buf, "ping", 4) == 0);
	/* host half-closes: the guest is told SHUTDOWN(SEND) */
	shutdown(c, SHUT_WR);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_SHUTDOWN);
	CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
	tx(VSOCK_OP_RW, 5000, port, 65536, 4, 0, "pong", 4);
	CHECK_EQ(read_wait(c, buf, sizeof(buf)), 4);
	/* guest closes fully: RST, host sees EOF */
	tx(VSOCK_OP_SHUTDOWN, 5000, port, 65536, 4, 3, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(read_wait(c, buf, sizeof(buf)), 0);
	close(c);
	teardown();
}

TEST(host_connect_refused_by_guest_closes)
{
	struct vsock_hdr h;
	char buf[16];
	int c;

	setup();
	c = connect_uds();
	CHECK_EQ(write(c, "CONNECT 6000\n", 13), 13);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_REQUEST);
	tx(VSOCK_OP_RST, 6000, h.src_port, 0, 0, 0, NULL, 0);
	CHECK_EQ(read_wait(c, buf, sizeof(buf)), 0);
	close(c);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	teardown();
}

TEST(bad_handshake_closes)
{
	char buf[16];
	int c;

	setup();
	c = connect_uds();
	CHECK_EQ(write(c, "CONNECT x\n", 10), 10);
	CHECK(read_wait(c, buf, sizeof(buf)) == 0);
	close(c);
	c = connect_uds();
	CHECK_EQ(write(c, "CONNECT 123456789012345678901234567890", 38), 38);
	errno = 0;
	CHECK(read_wait(c, buf, sizeof(buf)) <= 0 && errno != ETIMEDOUT); /* EOF or reset */
	close(c);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	teardown();
}

TEST(credit_is_respected_both_ways)
{
	static char big[300000];
	struct vsock_hdr h;
	char buf[DATA];
	uint32_t got = 0;
	int l, c;

	setup();
	l = listen_at(1030);
	tx(VSOCK_OP_REQUEST, 7010, 1030, 1000, 0, 0, NULL, 0); /* guest buffer: 1000 bytes */
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_RESPONSE);
	c = accept(l, NULL, NULL);
	memset(big, 'a', sizeof(big));
	CHECK_EQ(write(c, big, 5000), 5000);
	while (rx(&h, buf, sizeof(buf)) && h.op == VSOCK_OP_RW) {
		got += h.len;
		if (got >= 1000)
			break;
	}
	CHECK_EQ(got, 1000);
	CHECK(!rx(&h, NULL, 0)); /* no credit left: nothing more */
	tx(VSOCK_OP_CREDIT_UPDATE, 7010, 1030, 1000, 1000, 0, NULL, 0);
	got = 0;
	while (got < 1000 && rx(&h, buf, sizeof(buf)) && h.op == VSOCK_OP_RW)
		got += h.len;
	CHECK_EQ(got, 1000);

	/* credit request gets a credit update */
	tx(VSOCK_OP_CREDIT_REQUEST, 7010, 1030, 1000, 1000, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	CHECK_EQ(h.op, VSOCK_OP_CREDIT_UPDATE);

	/* a guest ignoring credit while the host reader is stalled is reset once the device
	 * would have to buffer more than VSOCK_BUF_ALLOC (the socket itself holds < 4 MiB) */
	int rst = 0, sent = 0;
	for (; sent < 64 && !rst; sent++) {
		tx(VSOCK_OP_RW, 7010, 1030, 1000, 1000, 0, big, 65536);
		while (rx_t(&h, NULL, 0, 3))
			if (h.op == VSOCK_OP_RST)
				rst = 1;
	}
	CHECK(rst);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	close(c);
	close(l);
	unlink_port(1030);
	teardown();
}

TEST(credit_update_sent_as_host_drains)
{
	static char big[65536];
	struct vsock_hdr h;
	uint32_t fwd = 0;
	int l, c;

	setup();
	l = listen_at(1031);
	tx(VSOCK_OP_REQUEST, 7011, 1031, 65536, 0, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	c = accept(l, NULL, NULL);
	for (int i = 0; i < 2; i++)
		tx(VSOCK_OP_RW, 7011, 1031, 65536, 0, 0, big, sizeof(big));
	while (rx(&h, NULL, 0))
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			fwd = h.fwd_cnt;
	CHECK(fwd >= VSOCK_BUF_ALLOC / 4); /* told the guest without being asked */
	close(c);
	close(l);
	unlink_port(1031);
	teardown();
}

TEST(many_streams)
{
	enum { N = 300 };
	static int fds[N];
	struct vsock_hdr h;
	char buf[32];
	int l, resp = 0, ok = 1;

	setup();
	l = listen_at(1040);
	for (int i = 0; i < N; i++) {
		tx(VSOCK_OP_REQUEST, 10000 + (uint32_t)i, 1040, 65536, 0, 0, NULL, 0);
		while (rx(&h, NULL, 0) && h.op == VSOCK_OP_RESPONSE) {
			resp++;
			break;
		}
		fds[i] = accept(l, NULL, NULL);
	}
	CHECK_EQ(resp, N);
	CHECK_EQ(vsock_dev_conn_count(dev), N);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		tx(VSOCK_OP_RW, 10000 + (uint32_t)i, 1040, 65536, 0, 0, buf, (uint32_t)strlen(buf));
	}
	for (int i = 0; i < N; i++) {
		char got[32] = {0}, want[32];
		snprintf(want, sizeof(want), "s%d", i);
		if (read_wait(fds[i], got, sizeof(got) - 1) != (ssize_t)strlen(want) ||
		    strcmp(got, want) != 0)
			ok = 0;
	}
	CHECK(ok);
	for (int i = 0; i < N; i++)
		tx(VSOCK_OP_RST, 10000 + (uint32_t)i, 1040, 65536, 0, 0, NULL, 0);
	CHECK_EQ(vsock_dev_conn_count(dev), 0);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(l);
	unlink_port(1040);
	teardown();
}

TEST(malformed_headers)
{
	struct vsock_hdr h = {
	    .src_cid = CID, .dst_cid = 2, .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RW, .len = 10};
	uint32_t port;

	CHECK_EQ(vsock_hdr_check(&h, CID, 10), 0);
	CHECK_EQ(vsock_hdr_check(&h, CID, 9), -4);
	h.dst_cid = 7;
	CHECK_EQ(vsock_hdr_check(&h, CID, 10), -1);
	h.dst_cid = 2;
	h.type = 2; /* seqpacket: not offered */
	CHECK_EQ(vsock_hdr_check(&h, CID, 10), -2);
	h.type = 1;
	h.op = 99;
	CHECK_EQ(vsock_hdr_check(&h, CID, 10), -3);
	h.op = VSOCK_OP_REQUEST;
	CHECK_EQ(vsock_hdr_check(&h, CID, 10), -4); /* payload on a control op */
	CHECK_EQ(vsock_connect_line_parse("CONNECT 52\n", 11, &port), 0);
	CHECK_EQ(port, 52);
	CHECK_EQ(vsock_connect_line_parse("CONNECT 4294967295\r\n", 20, &port), 0);
	CHECK_EQ(vsock_connect_line_parse("CONNECT 4294967296\n", 19, &port), -1);
	CHECK_EQ(vsock_connect_line_parse("CONNECT \n", 9, &port), -1);
	CHECK_EQ(vsock_connect_line_parse("CONNECT -1\n", 11, &port), -1);
	CHECK_EQ(vsock_connect_line_parse("connect 5\n", 10, &port), -1);
	CHECK_EQ(vsock_connect_line_parse("CONNECT 5", 9, &port), -1);
}

TEST(slow_reader_does_not_stall_others)
{
	static char big[65536];
	struct vsock_hdr h;
	char buf[64];
	uint32_t sent = 0, fwd = 0;
	int l1, l2, a, b;

	setup();
	l1 = listen_at(1050);
	l2 = listen_at(1051);
	tx(VSOCK_OP_REQUEST, 7050, 1050, 65536, 0, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	a = accept(l1, NULL, NULL); /* never read: a stalled host program */
	tx(VSOCK_OP_REQUEST, 7051, 1051, 65536, 0, 0, NULL, 0);
	CHECK(rx(&h, NULL, 0));
	b = accept(l2, NULL, NULL);
	/* a well-behaved guest fills stream A up to the credit we grant */
	int i;
	for (i = 0; i < 200; i++) {
		if (sent + sizeof(big) - fwd > VSOCK_BUF_ALLOC)
			break;
		tx(VSOCK_OP_RW, 7050, 1050, 65536, 0, 0, big, sizeof(big));
		sent += sizeof(big);
		while (rx_t(&h, NULL, 0, 2))
			if (h.src_port == 1050)
				fwd = h.fwd_cnt;
	}
	CHECK(i < 200); /* stream A ran out of credit: host reader and our buffer are full */
	CHECK(sent - fwd <= VSOCK_BUF_ALLOC);
	/* stream B still flows both ways */
	tx(VSOCK_OP_RW, 7051, 1051, 65536, 0, 0, "still here", 10);
	CHECK_EQ(read_wait(b, buf, sizeof(buf)), 10);
	CHECK_EQ(write(b, "me too", 6), 6);
	CHECK(rx(&h, buf, sizeof(buf)));
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.src_port, 1051);
	CHECK(memcmp(buf, "me too", 6) == 0);
	CHECK_EQ(vsock_dev_conn_count(dev), 2);
	close(a);
	close(b);
	close(l1);
	close(l2);
	unlink_port(1050);
	unlink_port(1051);
	teardown();
}

int main(void)
{
	RUN(malformed_headers);
	RUN(guest_connects_to_host_listener);
	RUN(guest_connect_without_listener_gets_rst);
	RUN(unknown_stream_gets_rst);
	RUN(host_connects_to_guest);
	RUN(host_connect_refused_by_guest_closes);
	RUN(bad_handshake_closes);
	RUN(credit_is_respected_both_ways);
	RUN(credit_update_sent_as_host_drains);
	RUN(many_streams);
	RUN(slow_reader_does_not_stall_others);
	rmdir(dir);
	evloop_free(loop);
	free(mem);
	T_EXIT();
}
