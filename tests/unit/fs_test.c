/* Unit tests for the virtio-fs FUSE server without QEMU: requests built as byte buffers and
 * handed to the dispatcher as chains (fs_device_test.c drives real rings and the worker pool).
 * Covers INIT, LOOKUP/GETATTR, CREATE/WRITE/READ, READDIRPLUS, RENAME2, unlink while open and
 * the confinement rules (symlinks, names, links, mknod, setuid, xattrs, chown, readonly) and
 * single-file shares. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs_harness.h"

TEST(init_negotiates)
{
	struct fs_share_config cfg = {.root = root, .tag = "t"};
	struct fs_srv *s = fs_srv_new(&cfg);
	struct fuse_init_out o = {0};

	CHECK(s != NULL);
	CHECK_EQ(req(s, FUSE_GETATTR, FUSE_ROOT_ID, &(struct fuse_getattr_in){0},
		     sizeof(struct fuse_getattr_in), NULL, NULL, NULL, NULL),
		 -EIO); /* nothing before INIT */
	CHECK_EQ(do_init(s, &o), 0);
	CHECK_EQ(o.major, 7);
	CHECK_EQ(o.minor, 38);
	CHECK_EQ(o.max_write, FS_MAX_WRITE);
	CHECK(o.flags & FUSE_DO_READDIRPLUS);
	CHECK(o.flags & FUSE_AUTO_INVAL_DATA);
	CHECK(o.flags & FUSE_MAX_PAGES);
	CHECK(!(o.flags & FUSE_WRITEBACK_CACHE));
	CHECK(!(o.flags & FUSE_EXPORT_SUPPORT));
	CHECK_EQ(o.max_pages, FS_MAX_PAGES);
	struct fuse_init_in old = {.major = 6};
	CHECK_EQ(req(s, FUSE_INIT, 0, &old, sizeof(old), NULL, NULL, NULL, NULL), -EPROTO);
	fs_srv_free(s);
	cfg.root = "/nonexistent/sbx-share";
	CHECK(fs_srv_new(&cfg) == NULL);
}

TEST(lookup_getattr_maps_owner)
{
	struct fuse_entry_out e1, e2;
	struct fuse_attr_out a;
	int fd = open(hp("hello"), O_CREAT | O_WRONLY, 0640);

	CHECK(write(fd, "12345", 5) == 5);
	close(fd);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "hello", &e1), 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "hello", &e2), 0);
	CHECK(e1.nodeid > FUSE_ROOT_ID);
	CHECK_EQ(e1.nodeid, e2.nodeid); /* same inode, same nodeid */
	CHECK_EQ(e1.attr.size, 5);
	CHECK_EQ(e1.attr.uid, FS_GUEST_UID);
	CHECK_EQ(e1.attr.gid, FS_GUEST_GID);
	CHECK_EQ(e1.entry_valid, FS_TIMEOUT_S);
	CHECK_EQ(e1.attr.mode, S_IFREG | 0640);
	CHECK_EQ(req(S, FUSE_GETATTR, e1.nodeid, &(struct fuse_getattr_in){0},
		     sizeof(struct fuse_getattr_in), NULL, NULL, &a, NULL),
		 0);
	CHECK_EQ(a.attr.size, 5);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "missing", &e2), -ENOENT);
	/* forget both lookups: the nodeid dies and a stale id never aliases the next node */
	CHECK_EQ(req(S, FUSE_FORGET, e1.nodeid, &(struct fuse_forget_in){.nlookup = 2},
		     sizeof(struct fuse_forget_in), NULL, NULL, NULL, NULL),
		 1);
	CHECK_EQ(req(S, FUSE_GETATTR, e1.nodeid, &(struct fuse_getattr_in){0},
		     sizeof(struct fuse_getattr_in), NULL, NULL, &a, NULL),
		 -ESTALE);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "hello", &e2), 0);
	CHECK(e2.nodeid != e1.nodeid);
}

TEST(create_write_read)
{
	struct fuse_entry_out e;
	uint64_t fh;
	char buf[64];
	size_t len;
	uint32_t w;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "f1", 0644, O_RDWR, &e, &fh), 0);
	CHECK_EQ(e.attr.mode, S_IFREG | 0644);
	CHECK_EQ(write_data(S, e.nodeid, fh, 0, "hello world", 11, &w), 0);
	CHECK_EQ(w, 11);
	CHECK_EQ(read_data(S, e.nodeid, fh, 6, 100, buf, &len), 0);
	CHECK_EQ(len, 5);
	CHECK(!memcmp(buf, "world", 5));
	CHECK_EQ(host_read("f1", buf, sizeof(buf)), 11);
	CHECK_STR(buf, "hello world");
	/* O_EXCL on an existing name */
	CHECK_EQ(create(S, FUSE_ROOT_ID, "f1", 0644, O_RDWR | O_EXCL, NULL, &fh), -EEXIST);
	/* open + truncate through setattr with fh */
	struct fuse_open_in oi = {.flags = O_RDWR};
	struct fuse_open_out oo;
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), NULL, NULL, &oo, NULL), 0);
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_FH, .fh = oo.fh, .size = 5};
	struct fuse_attr_out ao;
	CHECK_EQ(req(S, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL, NULL, &ao, NULL), 0);
	CHECK_EQ(ao.attr.size, 5);
	CHECK_EQ(host_read("f1", buf, sizeof(buf)), 5);
	/* O_APPEND: the write lands at the end */
	struct fuse_open_out ao2;
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_WRONLY | O_APPEND},
		     sizeof(struct fuse_open_in), NULL, NULL, &ao2, NULL),
		 0);
	CHECK_EQ(write_data(S, e.nodeid, ao2.fh, 0, "+app", 4, NULL), 0);
	CHECK_EQ(host_read("f1", buf, sizeof(buf)), 9);
	CHECK_STR(buf, "hello+app");
	struct fuse_release_in ar = {.fh = ao2.fh};
	CHECK_EQ(req(S, FUSE_RELEASE, e.nodeid, &ar, sizeof(ar), NULL, NULL, NULL, NULL), 0);
	/* times: explicit mtime */
	sa = (struct fuse_setattr_in){.valid = FATTR_MTIME, .mtime = 1000000};
	CHECK_EQ(req(S, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL, NULL, &ao, NULL), 0);
	CHECK_EQ(ao.attr.mtime, 1000000);
	struct fuse_release_in ri = {.fh = oo.fh};
	CHECK_EQ(req(S, FUSE_RELEASE, e.nodeid, &ri, sizeof(ri), NULL, NULL, NULL, NULL), 0);
	CHECK_EQ(read_data(S, e.nodeid, oo.fh, 0, 10, buf, &len), -EBADF); /* released */
	ri.fh = fh;
	CHECK_EQ(req(S, FUSE_RELEASE, e.nodeid, &ri, sizeof(ri), NULL, NULL, NULL, NULL), 0);
	CHECK_EQ(req(S, FUSE_RELEASE, e.nodeid, &ri, sizeof(ri), NULL, NULL, NULL, NULL), -EBADF);
}

TEST(write_read_split_segments)
{
	struct fuse_entry_out e;
	struct fuse_in_header h;
	struct fuse_write_in wi;
	struct fuse_read_in ri;
	struct vq_chain c = {0};
	static uint8_t a[128], b[4096], o1[20], o2[4096];
	uint64_t fh;
	uint32_t n;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "split", 0600, O_RDWR, &e, &fh), 0);
	/* header+body in one segment, payload split over two */
	wi = (struct fuse_write_in){.fh = fh, .offset = 0, .size = 3000};
	h = (struct fuse_in_header){.len = sizeof(h) + sizeof(wi) + 3000,
				    .opcode = FUSE_WRITE,
				    .unique = 77,
				    .nodeid = e.nodeid};
	memcpy(a, &h, sizeof(h));
	memcpy(a + sizeof(h), &wi, sizeof(wi));
	for (int i = 0; i < 3000; i++)
		b[i] = (uint8_t)(i * 7);
	c.nr_rd = 3;
	c.rd[0] = (struct vq_seg){a, sizeof(h) + sizeof(wi)};
	c.rd[1] = (struct vq_seg){b, 1000};
	c.rd[2] = (struct vq_seg){b + 1000, 2000};
	c.rd_len = sizeof(h) + sizeof(wi) + 3000;
	c.nr_wr = 1;
	c.wr[0] = (struct vq_seg){o2, sizeof(o2)};
	c.wr_len = sizeof(o2);
	n = fs_srv_handle(S, &c, SC);
	CHECK_EQ(n, sizeof(struct fuse_out_header) + sizeof(struct fuse_write_out));
	CHECK_EQ(((struct fuse_write_out *)(o2 + 16))->size, 3000);
	/* read back into header segment + data segment */
	ri = (struct fuse_read_in){.fh = fh, .offset = 0, .size = 3000};
	h = (struct fuse_in_header){
	    .len = sizeof(h) + sizeof(ri), .opcode = FUSE_READ, .unique = 78, .nodeid = e.nodeid};
	memcpy(a, &h, sizeof(h));
	memcpy(a + sizeof(h), &ri, sizeof(ri));
	memset(&c, 0, sizeof(c));
	c.nr_rd = 1;
	c.rd[0] = (struct vq_seg){a, sizeof(h) + sizeof(ri)};
	c.rd_len = c.rd[0].len;
	c.nr_wr = 2;
	c.wr[0] = (struct vq_seg){o1, 16};
	c.wr[1] = (struct vq_seg){o2, sizeof(o2)};
	c.wr_len = 16 + sizeof(o2);
	memset(o2, 0, sizeof(o2));
	n = fs_srv_handle(S, &c, SC);
	CHECK_EQ(n, 16 + 3000);
	CHECK(!memcmp(o2, b, 3000));
	/* WRITE claiming more payload than the chain holds */
	wi.size = 5000;
	h = (struct fuse_in_header){.len = sizeof(h) + sizeof(wi) + 3000,
				    .opcode = FUSE_WRITE,
				    .unique = 79,
				    .nodeid = e.nodeid};
	memcpy(a, &h, sizeof(h));
	memcpy(a + sizeof(h), &wi, sizeof(wi));
	memset(&c, 0, sizeof(c));
	c.nr_rd = 2;
	c.rd[0] = (struct vq_seg){a, sizeof(h) + sizeof(wi)};
	c.rd[1] = (struct vq_seg){b, 3000};
	c.rd_len = sizeof(h) + sizeof(wi) + 3000;
	c.nr_wr = 1;
	c.wr[0] = (struct vq_seg){o2, sizeof(o2)};
	c.wr_len = sizeof(o2);
	n = fs_srv_handle(S, &c, SC);
	CHECK_EQ(n, 16);
	CHECK_EQ(((struct fuse_out_header *)o2)->error, -EINVAL);
}

/* Parse a READDIRPLUS reply; append names (space-separated) to @names; return last offset. */
static uint64_t parse_plus(const uint8_t *b, size_t len, char *names, int *count, bool *dots_zero,
			   bool *others_nonzero)
{
	size_t off = 0;
	uint64_t last = 0;

	while (off + FUSE_NAME_OFFSET_DIRENTPLUS <= len) {
		struct fuse_direntplus dp;
		char nm[256];

		memcpy(&dp, b + off, sizeof(dp));
		memcpy(nm, b + off + FUSE_NAME_OFFSET_DIRENTPLUS, dp.dirent.namelen);
		nm[dp.dirent.namelen] = 0;
		strcat(names, nm);
		strcat(names, " ");
		(*count)++;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			*dots_zero &= dp.entry_out.nodeid == 0;
		else
			*others_nonzero &= dp.entry_out.nodeid != 0;
		last = dp.dirent.off;
		off += FUSE_DIRENTPLUS_SIZE(&dp);
	}
	return last;
}

TEST(readdirplus)
{
	struct fuse_mkdir_in mi = {.mode = 0755};
	struct fuse_entry_out d, e;
	struct fuse_open_out oo;
	static uint8_t rep[65536];
	char names[4096] = "";
	bool dz = true, nz = true;
	int count = 0, rounds = 0;
	uint64_t fh = 0, off = 0;
	size_t len;

	CHECK_EQ(req(S, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "dir", NULL, &d, NULL), 0);
	CHECK_EQ(d.attr.mode & S_IFMT, S_IFDIR);
	for (int i = 0; i < 20; i++) {
		char n[32];
		snprintf(n, sizeof(n), "entry-%02d", i);
		CHECK_EQ(create(S, d.nodeid, n, 0644, O_RDONLY, &e, &fh), 0);
	}
	CHECK_EQ(req(S, FUSE_OPENDIR, d.nodeid, &(struct fuse_open_in){0},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	/* small buffers: the listing continues at the cookies, every name exactly once */
	for (;;) {
		struct fuse_read_in ri = {.fh = oo.fh, .offset = off, .size = 400};
		CHECK_EQ(req(S, FUSE_READDIRPLUS, d.nodeid, &ri, sizeof(ri), NULL, NULL, rep, &len),
			 0);
		if (len == 0 || ++rounds > 50)
			break;
		off = parse_plus(rep, len, names, &count, &dz, &nz);
	}
	CHECK_EQ(count, 22);
	CHECK(rounds > 3);
	CHECK(dz);
	CHECK(nz);
	CHECK(strstr(names, "entry-00 ") && strstr(names, "entry-19 ") && strstr(names, ". ") &&
	      strstr(names, ".. "));
	/* plain READDIR */
	struct fuse_read_in ri = {.fh = oo.fh, .offset = 0, .size = 4096};
	CHECK_EQ(req(S, FUSE_READDIR, d.nodeid, &ri, sizeof(ri), NULL, NULL, rep, &len), 0);
	CHECK(len > 22 * FUSE_NAME_OFFSET);
	/* a file handle is not a directory handle */
	CHECK_EQ(req(S, FUSE_READDIR, d.nodeid, &(struct fuse_read_in){.fh = fh, .size = 4096},
		     sizeof(ri), NULL, NULL, rep, &len),
		 -EBADF);
	CHECK_EQ(req(S, FUSE_RELEASEDIR, d.nodeid, &(struct fuse_release_in){.fh = oo.fh},
		     sizeof(struct fuse_release_in), NULL, NULL, NULL, NULL),
		 0);
}

TEST(rename2_flags)
{
	struct fuse_rename2_in in = {.newdir = FUSE_ROOT_ID};
	char buf[32];
	int fd;

	fd = open(hp("ra"), O_CREAT | O_WRONLY, 0644);
	CHECK(write(fd, "A", 1) == 1);
	close(fd);
	fd = open(hp("rb"), O_CREAT | O_WRONLY, 0644);
	CHECK(write(fd, "B", 1) == 1);
	close(fd);
	in.flags = RENAME_NOREPLACE;
	CHECK_EQ(req(S, FUSE_RENAME2, FUSE_ROOT_ID, &in, sizeof(in), "ra", "rb", NULL, NULL),
		 -EEXIST);
	in.flags = RENAME_EXCHANGE;
	CHECK_EQ(req(S, FUSE_RENAME2, FUSE_ROOT_ID, &in, sizeof(in), "ra", "rb", NULL, NULL), 0);
	host_read("ra", buf, sizeof(buf));
	CHECK_STR(buf, "B");
	in.flags = RENAME_WHITEOUT;
	CHECK_EQ(req(S, FUSE_RENAME2, FUSE_ROOT_ID, &in, sizeof(in), "ra", "rc", NULL, NULL),
		 -EINVAL);
	in.flags = 0;
	CHECK_EQ(req(S, FUSE_RENAME2, FUSE_ROOT_ID, &in, sizeof(in), "ra", "rc", NULL, NULL), 0);
	CHECK(access(hp("rc"), F_OK) == 0 && access(hp("ra"), F_OK) != 0);
	struct fuse_rename_in r1 = {.newdir = FUSE_ROOT_ID};
	CHECK_EQ(req(S, FUSE_RENAME, FUSE_ROOT_ID, &r1, sizeof(r1), "rc", "rd", NULL, NULL), 0);
	/* into a forged directory id: refused */
	r1.newdir = 0x12345678;
	CHECK_EQ(req(S, FUSE_RENAME, FUSE_ROOT_ID, &r1, sizeof(r1), "rd", "re", NULL, NULL),
		 -ESTALE);
	CHECK_EQ(req(S, FUSE_RENAME, FUSE_ROOT_ID, &r1, sizeof(r1), "rd", "../x", NULL, NULL),
		 -EINVAL);
}

TEST(unlink_while_open)
{
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	uint64_t fh;
	char buf[16];
	size_t len;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "gone", 0644, O_RDWR, &e, &fh), 0);
	CHECK_EQ(write_data(S, e.nodeid, fh, 0, "still", 5, NULL), 0);
	CHECK_EQ(req(S, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "gone", NULL, NULL, NULL), 0);
	CHECK(access(hp("gone"), F_OK) != 0);
	CHECK_EQ(read_data(S, e.nodeid, fh, 0, 16, buf, &len), 0);
	CHECK_EQ(len, 5);
	CHECK(!memcmp(buf, "still", 5));
	CHECK_EQ(req(S, FUSE_GETATTR, e.nodeid, &(struct fuse_getattr_in){0},
		     sizeof(struct fuse_getattr_in), NULL, NULL, &a, NULL),
		 0);
	CHECK_EQ(a.attr.nlink, 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "gone", &e), -ENOENT);
	CHECK_EQ(req(S, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "nodir", NULL, NULL, NULL), -ENOENT);
}

TEST(symlinks_never_followed)
{
	struct fuse_entry_out e, c;
	struct fuse_open_out oo;
	char buf[PATH_MAX];
	size_t len;

	/* made by the guest */
	CHECK_EQ(req(S, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "out", "/etc", &e, NULL), 0);
	CHECK_EQ(e.attr.mode & S_IFMT, S_IFLNK);
	CHECK_EQ(req(S, FUSE_READLINK, e.nodeid, NULL, 0, NULL, NULL, buf, &len), 0);
	CHECK_EQ(len, 4);
	CHECK(!memcmp(buf, "/etc", 4));
	CHECK_EQ(lookup(S, e.nodeid, "passwd", &c), -ENOTDIR);
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -ELOOP);
	CHECK_EQ(req(S, FUSE_OPENDIR, e.nodeid, &(struct fuse_open_in){0},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -ENOTDIR);
	/* planted on the host, relative, pointing out */
	CHECK(symlink("../../../../../../etc/passwd", hp("rel")) == 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "rel", &e), 0);
	CHECK_EQ(e.attr.mode & S_IFMT, S_IFLNK);
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -ELOOP);
	/* chmod, truncate and xattrs on a symlink node never reach the target */
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
	CHECK_EQ(req(S, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL, NULL, NULL, NULL),
		 -EOPNOTSUPP);
	sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 0};
	CHECK_EQ(req(S, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL, NULL, NULL, NULL), -EINVAL);
	struct fuse_setxattr_in xi = {.size = 1};
	static uint8_t xb[64];
	memcpy(xb, &xi, 8);
	memcpy(xb + 8, "user.a\0v", 8);
	CHECK_EQ(raw(S, FUSE_SETXATTR, e.nodeid, xb, 16, NULL, NULL), -EPERM);
	/* O_CREAT on an existing symlink name is not followed */
	uint64_t fh;
	CHECK_EQ(create(S, FUSE_ROOT_ID, "out", 0644, O_RDWR, NULL, &fh), -ELOOP);
	/* a symlink swapped in for a directory: the node stays the symlink */
	CHECK(mkdir(hp("swap"), 0755) == 0);
	CHECK(rmdir(hp("swap")) == 0 && symlink("/", hp("swap")) == 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "swap", &e), 0);
	CHECK_EQ(e.attr.mode & S_IFMT, S_IFLNK);
	CHECK_EQ(lookup(S, e.nodeid, "etc", &c), -ENOTDIR);
}

TEST(bad_names_refused)
{
	struct fuse_entry_out e;
	char longname[300];
	static const uint8_t nul_inside[] = {'a', 0, 'b', 0};
	static const uint8_t no_nul[] = {'a', 'b'};

	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "..", &e), -EPERM);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, ".", &e), -EPERM);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "../etc", &e), -EINVAL);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "/etc", &e), -EINVAL);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "", &e), -EINVAL);
	CHECK_EQ(raw(S, FUSE_LOOKUP, FUSE_ROOT_ID, nul_inside, sizeof(nul_inside), &e, NULL),
		 -EINVAL);
	CHECK_EQ(raw(S, FUSE_LOOKUP, FUSE_ROOT_ID, no_nul, sizeof(no_nul), &e, NULL), -EINVAL);
	memset(longname, 'x', 299);
	longname[299] = 0;
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, longname, &e), -ENAMETOOLONG);
	struct fuse_mkdir_in mi = {.mode = 0755};
	CHECK_EQ(req(S, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "a/b", NULL, &e, NULL), -EINVAL);
	CHECK_EQ(req(S, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "..", NULL, NULL, NULL), -EPERM);
	CHECK_EQ(req(S, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "x/y", "t", &e, NULL), -EINVAL);
	/* a lookup on a regular file as the parent */
	CHECK_EQ(lookup(S, nid("hello"), "x", &e), -ENOTDIR);
	/* unknown and forged ids */
	CHECK_EQ(lookup(S, 0xdeadbeef, "hello", &e), -ESTALE);
	CHECK_EQ(lookup(S, (uint64_t)7 << 32 | FUSE_ROOT_ID, "hello", &e), -ESTALE);
}

TEST(links_only_inside)
{
	struct fuse_link_in li = {.oldnodeid = 0x4242};
	struct fuse_entry_out e;
	struct stat a, b;

	CHECK_EQ(req(S, FUSE_LINK, FUSE_ROOT_ID, &li, sizeof(li), "pw", NULL, &e, NULL), -ESTALE);
	CHECK(access(hp("pw"), F_OK) != 0);
	li.oldnodeid = nid("hello");
	CHECK_EQ(req(S, FUSE_LINK, FUSE_ROOT_ID, &li, sizeof(li), "hello2", NULL, &e, NULL), 0);
	CHECK(stat(hp("hello"), &a) == 0 && stat(hp("hello2"), &b) == 0);
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(e.nodeid, li.oldnodeid);
	CHECK_EQ(e.attr.nlink, 2);
	li.oldnodeid = nid("dir");
	CHECK_EQ(req(S, FUSE_LINK, FUSE_ROOT_ID, &li, sizeof(li), "dir2", NULL, &e, NULL), -EPERM);
}

TEST(mknod_only_files_and_fifos)
{
	struct fuse_mknod_in mi = {.mode = S_IFBLK | 0600, .rdev = makedev(8, 0)};
	struct fuse_entry_out e;
	struct stat st;

	CHECK_EQ(req(S, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi), "blk", NULL, &e, NULL), -EPERM);
	mi.mode = S_IFCHR | 0600;
	CHECK_EQ(req(S, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi), "chr", NULL, &e, NULL), -EPERM);
	mi.mode = S_IFSOCK | 0600;
	CHECK_EQ(req(S, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi), "sock", NULL, &e, NULL), -EPERM);
	CHECK(access(hp("blk"), F_OK) != 0 && access(hp("chr"), F_OK) != 0);
	mi.mode = S_IFIFO | 0600;
	CHECK_EQ(req(S, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi), "fifo", NULL, &e, NULL), 0);
	CHECK(lstat(hp("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	/* opening a fifo is the guest kernel's business, never a blocking host open */
	struct fuse_open_out oo;
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -ENXIO);
	/* CREATE over an existing fifo name: refused at once, never a blocking open */
	uint64_t fh;
	CHECK_EQ(create(S, FUSE_ROOT_ID, "fifo", 0644, O_RDONLY, NULL, &fh), -EINVAL);
	mi.mode = S_IFREG | 06755;
	CHECK_EQ(req(S, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi), "reg", NULL, &e, NULL), 0);
	CHECK(lstat(hp("reg"), &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 06000));
}

TEST(setuid_stripped)
{
	struct fuse_entry_out e;
	struct fuse_mkdir_in mi = {.mode = 02775};
	struct fuse_attr_out a;
	struct stat st;
	uint64_t fh;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "suid", 04755, O_RDWR, &e, &fh), 0);
	CHECK(stat(hp("suid"), &st) == 0 && !(st.st_mode & 06000));
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = S_IFREG | 06755};
	CHECK_EQ(req(S, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL, NULL, &a, NULL), 0);
	CHECK(stat(hp("suid"), &st) == 0 && !(st.st_mode & 06000) && (st.st_mode & 0755) == 0755);
	CHECK_EQ(a.attr.mode & 07777, 0755);
	CHECK_EQ(req(S, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "sgid", NULL, &e, NULL), 0);
	CHECK(stat(hp("sgid"), &st) == 0 && !(st.st_mode & 06000));
	/* a host file that already has setuid loses it on the first guest write */
	int fd = open(hp("hsuid"), O_CREAT | O_WRONLY, 0755);
	close(fd);
	CHECK(chmod(hp("hsuid"), 04755) == 0);
	uint64_t id = nid("hsuid");
	struct fuse_open_out oo;
	CHECK_EQ(req(S, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_WRONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	CHECK_EQ(write_data(S, id, oo.fh, 0, "x", 1, NULL), 0);
	CHECK(stat(hp("hsuid"), &st) == 0 && !(st.st_mode & 06000));
}

static int xset(struct fs_srv *s, uint64_t node, const char *name, const char *val)
{
	static uint8_t b[512];
	struct fuse_setxattr_in in = {.size = (uint32_t)strlen(val)};
	size_t l = 8;

	memcpy(b, &in, 8);
	memcpy(b + l, name, strlen(name) + 1);
	l += strlen(name) + 1;
	memcpy(b + l, val, strlen(val));
	l += strlen(val);
	return raw(s, FUSE_SETXATTR, node, b, l, NULL, NULL);
}

TEST(xattr_namespaces)
{
	uint64_t id = nid("hello");
	struct fuse_getxattr_in gi = {.size = 256};
	char buf[512];
	size_t len;

	CHECK_EQ(xset(S, id, "security.capability", "x"), -EPERM);
	CHECK_EQ(xset(S, id, "trusted.overlay.opaque", "y"), -EPERM);
	CHECK_EQ(xset(S, id, "system.posix_acl_access", "z"), -EOPNOTSUPP);
	CHECK_EQ(req(S, FUSE_REMOVEXATTR, id, NULL, 0, "security.selinux", NULL, NULL, NULL),
		 -EPERM);
	CHECK_EQ(req(S, FUSE_GETXATTR, id, &gi, sizeof(gi), "security.selinux", NULL, buf, &len),
		 -ENODATA);
	if (setxattr(hp("hello"), "user.probe", "1", 1, 0) != 0) {
		fprintf(stderr, "(host fs without user xattrs: user.* part skipped)\n");
		return;
	}
	CHECK_EQ(xset(S, id, "user.k", "val"), 0);
	CHECK_EQ(req(S, FUSE_GETXATTR, id, &gi, sizeof(gi), "user.k", NULL, buf, &len), 0);
	CHECK_EQ(len, 3);
	CHECK(!memcmp(buf, "val", 3));
	gi.size = 0;
	struct fuse_getxattr_out go;
	CHECK_EQ(req(S, FUSE_GETXATTR, id, &gi, sizeof(gi), "user.k", NULL, &go, NULL), 0);
	CHECK_EQ(go.size, 3);
	gi.size = 512;
	CHECK_EQ(req(S, FUSE_LISTXATTR, id, &gi, sizeof(gi), NULL, NULL, buf, &len), 0);
	CHECK(len > 0 && len < sizeof(buf));
	buf[len < sizeof(buf) ? len : 0] = 0;
	for (size_t o = 0; o < len; o += strlen(buf + o) + 1)
		CHECK(!strncmp(buf + o, "user.", 5));
	CHECK_EQ(req(S, FUSE_REMOVEXATTR, id, NULL, 0, "user.k", NULL, NULL, NULL), 0);
}

TEST(chown_maps_to_owner)
{
	uint64_t id = nid("hello");
	struct fuse_setattr_in sa = {.valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 1000};
	struct fuse_attr_out a;
	struct stat before, after;

	CHECK(stat(hp("hello"), &before) == 0);
	CHECK_EQ(req(S, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, &a, NULL), 0);
	CHECK_EQ(a.attr.uid, 1000);
	sa.uid = 0;
	sa.gid = 0;
	CHECK_EQ(req(S, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, &a, NULL), 0);
	sa.uid = 4242;
	CHECK_EQ(req(S, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, &a, NULL), -EPERM);
	sa = (struct fuse_setattr_in){.valid = FATTR_GID, .gid = 7};
	CHECK_EQ(req(S, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, &a, NULL), -EPERM);
	CHECK(stat(hp("hello"), &after) == 0);
	CHECK_EQ(before.st_uid, after.st_uid);
	CHECK_EQ(before.st_gid, after.st_gid);
}

TEST(readonly_erofs)
{
	struct fs_srv *ro = srv_new(true);
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct fuse_mkdir_in mi = {.mode = 0755};
	uint64_t id, fh;
	char buf[16];
	size_t len;

	CHECK_EQ(lookup(ro, FUSE_ROOT_ID, "hello", &e), 0);
	id = e.nodeid;
	CHECK_EQ(create(ro, FUSE_ROOT_ID, "new", 0644, O_RDWR, &e, &fh), -EROFS);
	CHECK_EQ(req(ro, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "nd", NULL, &e, NULL), -EROFS);
	CHECK_EQ(req(ro, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "hello", NULL, NULL, NULL), -EROFS);
	CHECK_EQ(req(ro, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "s", "t", &e, NULL), -EROFS);
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
	CHECK_EQ(req(ro, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, NULL, NULL), -EROFS);
	CHECK_EQ(req(ro, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_WRONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -EROFS);
	CHECK_EQ(req(ro, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_RDONLY | O_TRUNC},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -EROFS);
	CHECK_EQ(xset(ro, id, "user.x", "1"), -EROFS);
	CHECK_EQ(req(ro, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_RDONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	CHECK_EQ(write_data(ro, id, oo.fh, 0, "x", 1, NULL), -EROFS);
	CHECK_EQ(read_data(ro, id, oo.fh, 0, 16, buf, &len), 0);
	CHECK(access(hp("hello"), F_OK) == 0 && access(hp("new"), F_OK) != 0);
	fs_srv_free(ro);
}

TEST(malformed_requests)
{
	struct fuse_in_header h = {.len = 1000, .opcode = FUSE_GETATTR, .unique = 5, .nodeid = 1};
	struct vq_chain c = {0};
	uint8_t b[64];

	CHECK_EQ(raw(S, 9999, FUSE_ROOT_ID, NULL, 0, NULL, NULL), -ENOSYS);
	CHECK_EQ(raw(S, FUSE_SETUPMAPPING, FUSE_ROOT_ID, NULL, 0, NULL, NULL), -ENOSYS);
	CHECK_EQ(raw(S, FUSE_GETATTR, FUSE_ROOT_ID, "ab", 2, NULL, NULL), -EINVAL); /* short body */
	CHECK_EQ(raw(S, FUSE_INIT, 0, "abcd", 4, NULL, NULL), -EINVAL);
	/* header claims more than the chain has */
	memcpy(b, &h, sizeof(h));
	c.nr_rd = 1;
	c.rd[0] = (struct vq_seg){b, sizeof(h) + 16};
	c.rd_len = c.rd[0].len;
	c.nr_wr = 1;
	c.wr[0] = (struct vq_seg){outbuf, 64};
	c.wr_len = 64;
	CHECK_EQ(fs_srv_handle(S, &c, SC), 16);
	CHECK_EQ(((struct fuse_out_header *)outbuf)->error, -EINVAL);
	/* not even a header: no reply */
	c.rd[0].len = c.rd_len = 10;
	CHECK_EQ(fs_srv_handle(S, &c, SC), 0);
	/* no room for a reply */
	h.len = sizeof(h) + sizeof(struct fuse_getattr_in);
	memset(b, 0, sizeof(b));
	memcpy(b, &h, sizeof(h));
	c.rd[0].len = c.rd_len = h.len;
	c.wr[0].len = c.wr_len = 8;
	CHECK_EQ(fs_srv_handle(S, &c, SC), 0);
	c.wr[0].len = c.wr_len = 40; /* header fits, attr does not */
	CHECK_EQ(fs_srv_handle(S, &c, SC), 16);
	/* forget of an unknown id and a batch larger than its body: no reply, no crash */
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one[2];
	} bf = {{.count = 100000}, {{0xdead, 1}, {FUSE_ROOT_ID, 1000}}};
	CHECK_EQ(raw(S, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), NULL, NULL), 1);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "hello", &(struct fuse_entry_out){0}), 0); /* root alive */
	/* huge sizes */
	struct fuse_read_in ri = {.fh = 0xffffffffffffull, .size = 0xffffffffu};
	CHECK_EQ(raw(S, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, NULL), -EBADF);
	struct fuse_setxattr_in xi = {.size = 0x7fffffff};
	memset(b, 0, sizeof(b));
	memcpy(b, &xi, 8);
	memcpy(b + 8, "user.a", 7);
	CHECK_EQ(raw(S, FUSE_SETXATTR, FUSE_ROOT_ID, b, 15, NULL, NULL), -E2BIG);
}

TEST(locks_and_seek)
{
	struct fuse_entry_out e;
	uint64_t fh1, fh2;
	struct fuse_lk_in lk = {.lk = {.start = 0, .end = 99, .type = F_WRLCK}};
	struct fuse_lk_out lo;
	struct fuse_lseek_out so;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "lk", 0644, O_RDWR, &e, &fh1), 0);
	struct fuse_open_out oo;
	CHECK_EQ(req(S, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDWR},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	fh2 = oo.fh;
	/* POSIX owner semantics: owner 1 (pid 41) holds it; owner 2 conflicts, owner 1 does not */
	lk.fh = fh1;
	lk.owner = 1;
	lk.lk.pid = 41;
	CHECK_EQ(req(S, FUSE_SETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), 0);
	CHECK_EQ(req(S, FUSE_SETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), 0);
	lk.fh = fh2;
	lk.owner = 2;
	lk.lk.pid = 42;
	CHECK_EQ(req(S, FUSE_SETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), -EAGAIN);
	CHECK_EQ(req(S, FUSE_GETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, &lo, NULL), 0);
	CHECK_EQ(lo.lk.type, F_WRLCK);
	CHECK_EQ(lo.lk.end, 99);
	CHECK_EQ(lo.lk.pid, 41);
	lk.fh = fh1;
	lk.owner = 1;
	lk.lk.type = F_UNLCK;
	CHECK_EQ(req(S, FUSE_SETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), 0);
	lk.fh = fh2;
	lk.owner = 2;
	lk.lk.type = F_WRLCK;
	CHECK_EQ(req(S, FUSE_SETLKW, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), 0);
	/* owner 2 closing any fd of the file (FLUSH) drops its locks: owner 1 gets the range */
	struct fuse_flush_in fl = {.fh = fh1, .lock_owner = 2};
	CHECK_EQ(req(S, FUSE_FLUSH, e.nodeid, &fl, sizeof(fl), NULL, NULL, NULL, NULL), 0);
	lk.fh = fh1;
	lk.owner = 1;
	CHECK_EQ(req(S, FUSE_SETLK, e.nodeid, &lk, sizeof(lk), NULL, NULL, NULL, NULL), 0);
	/* sparse file: data at 1 MiB, SEEK_DATA finds it */
	CHECK_EQ(write_data(S, e.nodeid, fh1, 1 << 20, "d", 1, NULL), 0);
	struct fuse_lseek_in si = {.fh = fh1, .offset = 0, .whence = SEEK_DATA};
	CHECK_EQ(req(S, FUSE_LSEEK, e.nodeid, &si, sizeof(si), NULL, NULL, &so, NULL), 0);
	CHECK(so.offset > 0 && so.offset <= (1 << 20));
	struct fuse_fallocate_in fi = {.fh = fh1, .offset = 0, .length = 4096};
	CHECK_EQ(req(S, FUSE_FALLOCATE, e.nodeid, &fi, sizeof(fi), NULL, NULL, NULL, NULL), 0);
	struct fuse_fsync_in fs = {.fh = fh1};
	CHECK_EQ(req(S, FUSE_FSYNC, e.nodeid, &fs, sizeof(fs), NULL, NULL, NULL, NULL), 0);
	struct fuse_statfs_out st;
	CHECK_EQ(req(S, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, NULL, NULL, &st, NULL), 0);
	CHECK(st.st.bsize > 0 && st.st.namelen >= 255);
}

static void rm_rf(const char *p)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", p);
}

/* Names of a plain READDIR reply into @names (space separated). Return: how many. */
static int parse_plain(const uint8_t *b, size_t len, char *names)
{
	size_t off = 0;
	int count = 0;

	while (off + FUSE_NAME_OFFSET <= len) {
		struct fuse_dirent d;

		memcpy(&d, b + off, sizeof(d));
		strncat(names, (const char *)b + off + FUSE_NAME_OFFSET, d.namelen);
		strcat(names, " ");
		count++;
		off += FUSE_DIRENT_SIZE(&d);
	}
	return count;
}

/* List the root of @s with READDIRPLUS (@plus) or READDIR into @names. Return: entries. */
static int list_root(struct fs_srv *s, bool plus, char *names)
{
	static uint8_t rep[65536];
	struct fuse_open_out oo;
	struct fuse_read_in ri = {.size = 8192};
	bool dz = true, nz = true;
	int count = 0;
	size_t len = 0;

	names[0] = 0;
	CHECK_EQ(req(s, FUSE_OPENDIR, FUSE_ROOT_ID, &(struct fuse_open_in){0},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	ri.fh = oo.fh;
	CHECK_EQ(req(s, plus ? FUSE_READDIRPLUS : FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof(ri), NULL,
		     NULL, rep, &len),
		 0);
	if (plus) {
		parse_plus(rep, len, names, &count, &dz, &nz);
		CHECK(dz && nz);
	} else {
		count = parse_plain(rep, len, names);
	}
	CHECK_EQ(req(s, FUSE_RELEASEDIR, FUSE_ROOT_ID, &(struct fuse_release_in){.fh = oo.fh},
		     sizeof(struct fuse_release_in), NULL, NULL, NULL, NULL),
		 0);
	return count;
}

/* A single-file share: the root is the file's directory, only the file exists in it, and it
 * is read-only even when the config says otherwise. */
TEST(single_file_share)
{
	char dir[64], p[PATH_MAX], names[4096], buf[64];
	struct fs_share_config cfg = {.tag = "f", .owner_uid = getuid(), .owner_gid = getgid()};
	struct fuse_mkdir_in mi = {.mode = 0755};
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct fs_srv *s;
	uint64_t id, fh;
	size_t len;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/sbx-fs-file.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	cfg.root = dir;
#define MK(name, text)                                                                             \
	do {                                                                                       \
		snprintf(p, sizeof(p), "%s/%s", dir, name);                                        \
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);                                  \
		CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));          \
		close(fd);                                                                         \
	} while (0)
	MK("cfg", "conf-v1\n");
	MK("secret", "sibling\n");
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK_EQ(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	CHECK_EQ(symlink("cfg", p), 0);

	/* the entry must be one component naming a regular file */
	const char *badnames[] = {"nope", "link", "sub", "a/b", "..", ".", ""};
	for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		cfg.only_name = badnames[i];
		CHECK(fs_srv_new(&cfg) == NULL);
	}
	cfg.only_name = "cfg";
	cfg.readonly = false; /* forced read-only */
	s = fs_srv_new(&cfg);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ(do_init(s, &(struct fuse_init_out){0}), 0);

	/* only the file is there */
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "cfg", &e), 0);
	CHECK_EQ(e.attr.mode & S_IFMT, S_IFREG);
	id = e.nodeid;
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "secret", &e), -ENOENT);
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "sub", &e), -ENOENT);
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "link", &e), -ENOENT);
	CHECK(lookup(s, FUSE_ROOT_ID, "..", &e) != 0);
	CHECK_EQ(list_root(s, true, names), 3);
	CHECK_STR(names, ". .. cfg ");
	CHECK_EQ(list_root(s, false, names), 3);
	CHECK_STR(names, ". .. cfg ");

	/* readable, with the host's later edits */
	CHECK_EQ(req(s, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_RDONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 0);
	CHECK_EQ(read_data(s, id, oo.fh, 0, sizeof(buf) - 1, buf, &len), 0);
	buf[len] = 0;
	CHECK_STR(buf, "conf-v1\n");
	snprintf(p, sizeof(p), "%s/cfg", dir);
	fd = open(p, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "conf-v2\n", 8) == 8);
	close(fd);
	CHECK_EQ(read_data(s, id, oo.fh, 0, sizeof(buf) - 1, buf, &len), 0);
	buf[len] = 0;
	CHECK_STR(buf, "conf-v2\n");

	/* every write is EROFS */
	CHECK_EQ(write_data(s, id, oo.fh, 0, "x", 1, NULL), -EROFS);
	CHECK_EQ(req(s, FUSE_OPEN, id, &(struct fuse_open_in){.flags = O_WRONLY},
		     sizeof(struct fuse_open_in), NULL, NULL, &oo, NULL),
		 -EROFS);
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
	CHECK_EQ(req(s, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL, NULL, NULL), -EROFS);
	CHECK_EQ(create(s, FUSE_ROOT_ID, "new", 0644, O_RDWR, &e, &fh), -EROFS);
	CHECK_EQ(req(s, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "nd", NULL, &e, NULL), -EROFS);
	CHECK_EQ(req(s, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "cfg", NULL, NULL, NULL), -EROFS);
	CHECK_EQ(req(s, FUSE_RENAME, FUSE_ROOT_ID, &(struct fuse_rename_in){.newdir = FUSE_ROOT_ID},
		     sizeof(struct fuse_rename_in), "cfg", "secret", NULL, NULL),
		 -EROFS);
	CHECK_EQ(xset(s, id, "user.x", "1"), -EROFS);
	snprintf(p, sizeof(p), "%s/new", dir);
	CHECK(access(p, F_OK) != 0);

	/* the file replaced on the host by a directory (or a symlink) never opens the parent */
	snprintf(p, sizeof(p), "%s/cfg", dir);
	CHECK_EQ(unlink(p), 0);
	CHECK_EQ(mkdir(p, 0755), 0);
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "cfg", &e), -ENOENT);
	CHECK_EQ(list_root(s, true, names), 2);
	CHECK_STR(names, ". .. ");
	CHECK_EQ(rmdir(p), 0);
	CHECK_EQ(symlink("secret", p), 0);
	CHECK_EQ(lookup(s, FUSE_ROOT_ID, "cfg", &e), -ENOENT);
	CHECK_EQ(list_root(s, false, names), 2);
	fs_srv_free(s);
#undef MK
	rm_rf(dir);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/sbx-fs-unit.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	SC = malloc(sizeof(*SC));
	RUN(init_negotiates);
	S = srv_new(false);
	RUN(lookup_getattr_maps_owner);
	RUN(create_write_read);
	RUN(write_read_split_segments);
	RUN(readdirplus);
	RUN(rename2_flags);
	RUN(unlink_while_open);
	RUN(symlinks_never_followed);
	RUN(bad_names_refused);
	RUN(links_only_inside);
	RUN(mknod_only_files_and_fifos);
	RUN(setuid_stripped);
	RUN(xattr_namespaces);
	RUN(chown_maps_to_owner);
	RUN(readonly_erofs);
	RUN(malformed_requests);
	RUN(locks_and_seek);
	RUN(single_file_share);
	fs_srv_free(S);
	free(SC);
	rm_rf(root);
	T_EXIT();
}
