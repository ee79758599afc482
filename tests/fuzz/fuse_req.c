/* libFuzzer target for FUSE requests from the guest: the parser and the whole dispatcher against
 * persistent servers on temporary shares (a directory share, and a single-file share when the top
 * bit of the room is set). Input: u8 split1, u8 split2, u16 reply room, then the request bytes
 * (split into up to three readable segments). Must never crash or leak,
 * whatever the lengths, opcodes, sizes or node ids. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_srv *srvs[2];
static struct fs_scratch *sc;
static char root[64];
static uint8_t req[1 << 17], out[1 << 17];

static void cleanup(void)
{
	char cmd[128];

	fs_srv_free(srvs[0]);
	fs_srv_free(srvs[1]);
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
	srvs[0] = fs_srv_new(&cfg);
	/* the single-file share: only "f" of a directory that also holds "g" is served */
	char sub[96], path[128];
	snprintf(sub, sizeof(sub), "%s/one", root);
	if (mkdir(sub, 0755) < 0)
		abort();
	for (const char *name = "f"; name; name = name[0] == 'f' ? "g" : NULL) {
		snprintf(path, sizeof(path), "%s/%s", sub, name);
		FILE *f = fopen(path, "w");
		if (!f)
			abort();
		fputs("data\n", f);
		fclose(f);
	}
	cfg.root = sub;
	cfg.only_name = "f";
	srvs[1] = fs_srv_new(&cfg);
	sc = malloc(sizeof(*sc));
	if (!srvs[0] || !srvs[1] || !sc)
		abort();
	atexit(cleanup);
}

static void send_init(struct fs_srv *srv)
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

	if (!srvs[0])
		init_once();
	if (size < 4)
		return 0;
	struct fs_srv *srv = srvs[data[3] >> 7];
	if (!srv->inited)
		send_init(srv);
	s1 = data[0];
	s2 = data[1];
	room = (size_t)data[2] | (size_t)(data[3] & 0x7f) << 8;
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
