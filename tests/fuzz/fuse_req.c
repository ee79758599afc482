/* libFuzzer target for FUSE requests from the guest: the parser and the whole dispatcher against
 * a persistent server on a temporary share. Input: u8 split1, u8 split2, u16 reply room, then
 * the request bytes (split into up to three readable segments). Must never crash or leak,
 * whatever the lengths, opcodes, sizes or node ids. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_srv *srv;
static struct fs_scratch *sc;
static char root[64];
static uint8_t req[1 << 17], out[1 << 17];

static void cleanup(void)
{
	char cmd[128];

	fs_srv_free(srv);
	free(sc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "fuse_req fuzz: cleanup of %s failed\n", root);
}

static void init_once(void)
{
	struct fs_share_config cfg = {.tag = "fuzz", .owner_uid = getuid(), .owner_gid = getgid()};
	struct rlimit fsz = {64 << 20, 64 << 20}; /* fallocate/write cannot fill the disk */

	snprintf(root, sizeof(root), "/tmp/sbx-fuzz-fuse.XXXXXX");
	if (!mkdtemp(root))
		abort();
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsz);
	cfg.root = root;
	srv = fs_srv_new(&cfg);
	sc = malloc(sizeof(*sc));
	if (!srv || !sc)
		abort();
	atexit(cleanup);
}

static void send_init(void)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} m = {{.len = sizeof(m), .opcode = FUSE_INIT, .unique = 1},
	       {.major = 7, .minor = 38, .flags = 0xffffffffu}};
	struct vq_chain c = {.nr_rd = 1, .nr_wr = 1, .rd_len = sizeof(m), .wr_len = sizeof(out)};

	c.rd[0] = (struct vq_seg){(uint8_t *)&m, sizeof(m)};
	c.wr[0] = (struct vq_seg){out, sizeof(out)};
	fs_srv_handle(srv, &c, sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_chain c = {0};
	size_t n, s1, s2, room;

	if (!srv)
		init_once();
	if (!srv->inited)
		send_init();
	if (size < 4)
		return 0;
	s1 = data[0];
	s2 = data[1];
	room = (size_t)data[2] | (size_t)data[3] << 8;
	data += 4;
	size -= 4;
	n = size < sizeof(req) ? size : sizeof(req);
	memcpy(req, data, n); /* a private copy: the chain's bytes are exactly the input */
	if (s1 > n)
		s1 = n;
	if (s2 > n - s1)
		s2 = n - s1;
	if (s1)
		c.rd[c.nr_rd++] = (struct vq_seg){req, (uint32_t)s1};
	if (s2)
		c.rd[c.nr_rd++] = (struct vq_seg){req + s1, (uint32_t)s2};
	if (n - s1 - s2)
		c.rd[c.nr_rd++] = (struct vq_seg){req + s1 + s2, (uint32_t)(n - s1 - s2)};
	c.rd_len = (uint32_t)n;
	room = room ? room * 2 : sizeof(out);
	if (room > sizeof(out))
		room = sizeof(out);
	c.wr[c.nr_wr++] = (struct vq_seg){out, (uint32_t)room};
	c.wr_len = (uint32_t)room;
	if (fs_srv_handle(srv, &c, sc) > room)
		abort(); /* a reply never exceeds the room it was given */
	return 0;
}
