/* libFuzzer target for vsock packets from the guest: header and handshake-line parsers, then
 * the whole device tx path (a persistent device on fake guest memory; each input is split into
 * packets put on the tx queue). Must never crash whatever the guest sends. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/vsock/pkt.h"
#include "virtio/vsock/vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM  (1 << 20)
#define BASE 0x100000ull
#define QSZ  64

static uint8_t *mem;
static struct guest_mem gm;
static struct virtq vqs[VSOCK_NUM_QUEUES];
static struct evloop *loop;
static struct virtio_dev *vd;
static int lfd = -1; /* host listener on port 1024 so streams get established */
static char lpath[80], dpath[64];

static void cleanup(void)
{
	unlink(lpath);
	unlink(dpath);
}

static void init(void)
{
	struct vsock_dev *d;
	char path[64];

	mem = aligned_alloc(4096, MEM);
	memset(mem, 0, MEM);
	gm_add(&gm, BASE, MEM, 0, mem);
	loop = evloop_new();
	snprintf(path, sizeof(path), "/tmp/sbx-vsock-fuzz-%d.sock", (int)getpid());
	d = vsock_dev_new(
	    &(struct vsock_dev_config){.guest_cid = 3, .uds_path = path, .loop = loop});
	if (!d)
		abort();
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_1024", path);
	snprintf(lpath, sizeof(lpath), "%s", a.sun_path);
	snprintf(dpath, sizeof(dpath), "%s", path);
	atexit(cleanup);
	unlink(a.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
		abort();
	vd = vsock_dev_virtio(d);
	vd->mem = &gm;
	vd->vqs = vqs;
}

static void ring_reset(void)
{
	memset(mem, 0, 0x30000);
	for (int q = 0; q < VSOCK_NUM_QUEUES; q++) {
		memset(&vqs[q], 0, sizeof(vqs[q]));
		vqs[q].mem = &gm;
		vqs[q].name = "fuzz";
		vq_setup(&vqs[q], QSZ, BASE + q * 0x10000ull, BASE + q * 0x10000ull + 0x1000,
			 BASE + q * 0x10000ull + 0x2000, 0);
	}
	/* rx: 32 buffers of header + 256 bytes */
	struct virtq_desc *d = (struct virtq_desc *)(mem);
	uint16_t *a = (uint16_t *)(mem + 0x1000);
	for (uint16_t i = 0; i < 32; i++) {
		d[i] =
		    (struct virtq_desc){BASE + 0x40000 + i * 0x200ull, 300, VIRTQ_DESC_F_WRITE, 0};
		a[2 + i] = i;
	}
	a[1] = 32;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsock_hdr h;
	uint32_t port;
	size_t off = 0;
	uint16_t n = 0;

	if (!mem)
		init();
	if (vsock_hdr_parse(data, size, &h) == 0)
		(void)vsock_hdr_check(&h, 3, size - VSOCK_HDR_LEN);
	(void)vsock_connect_line_parse((const char *)data, size, &port);

	ring_reset();
	struct virtq_desc *d = (struct virtq_desc *)(mem + 0x10000);
	uint16_t *a = (uint16_t *)(mem + 0x11000);
	uint8_t *pk = mem + 0x80000;
	/* packets: 2-byte length prefix, then that many bytes (header + payload) */
	while (off + 2 <= size && n < QSZ && pk + 0x10000 < mem + MEM) {
		size_t l = (size_t)(data[off] | data[off + 1] << 8);
		off += 2;
		if (l > size - off)
			l = size - off;
		memcpy(pk, data + off, l);
		if (l >= VSOCK_HDR_LEN) { /* make addressing valid often enough to go deep */
			pk[0] = 3, memset(pk + 1, 0, 7);
			pk[8] = 2, memset(pk + 9, 0, 7);
			if (pk[16] & 1) /* host port with a listener */
				pk[20] = 0, pk[21] = 4, pk[22] = 0, pk[23] = 0;
			pk[28] = 1, pk[29] = 0; /* stream */
		}
		d[n] = (struct virtq_desc){BASE + (uint64_t)(pk - mem), (uint32_t)l, 0, 0};
		a[2 + n] = n;
		n++;
		off += l;
		pk += (l + 63) & ~(size_t)63;
	}
	a[1] = n;
	vd->ops->queue_kick(vd, VSOCK_QUEUE_TX);
	vd->ops->queue_kick(vd, VSOCK_QUEUE_RX);
	evloop_run_once(loop, 0);
	vd->ops->reset(vd);
	for (int c; (c = accept(lfd, NULL, NULL)) >= 0;)
		close(c);
	return 0;
}
