/* Unit tests for the node fd budget of the virtio-fs server: with a budget far below the number
 * of inodes the guest holds, idle nodes' O_PATH fds are closed and reopened from their file
 * handles, nodeids stay stable, and an inode that is gone answers ESTALE (needs
 * CAP_DAC_READ_SEARCH for open_by_handle_at: skipped, and said so, without it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include "fs_harness.h"

#define NFILES 600
#define BUDGET 64

static uint64_t ids[NFILES];
static ino_t inos[NFILES];

static int getattr(uint64_t node, uint64_t fh, bool use_fh, struct fuse_attr_out *a)
{
	struct fuse_getattr_in in = {.getattr_flags = use_fh ? FUSE_GETATTR_FH : 0, .fh = fh};
	return req(S, FUSE_GETATTR, node, &in, sizeof(in), NULL, NULL, a, NULL);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

TEST(lookups_beyond_budget_stay_within_it)
{
	struct fuse_entry_out e;
	char name[32];
	int i, before = open_fds();

	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		close(open(hp(name), O_CREAT | O_WRONLY, 0644));
	}
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		CHECK_EQ(lookup(S, FUSE_ROOT_ID, name, &e), 0);
		ids[i] = e.nodeid;
		inos[i] = (ino_t)e.attr.ino;
	}
	CHECK(S->nfds <= BUDGET);
	CHECK(S->evicted >= NFILES - BUDGET);
	CHECK(open_fds() - before <= BUDGET + 4); /* + the mount fd and slack */
}

TEST(evicted_nodes_come_back)
{
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	int i;

	for (i = 0; i < NFILES; i++) {
		CHECK_EQ(getattr(ids[i], 0, false, &a), 0);
		CHECK_EQ(a.attr.ino, inos[i]);
	}
	CHECK(S->nfds <= BUDGET);
	/* a repeated lookup of an evicted inode keeps its nodeid */
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "f0000", &e), 0);
	CHECK_EQ(e.nodeid, ids[0]);
}

TEST(gone_inode_is_estale_and_new_one_gets_new_id)
{
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	char name[32];
	int i;

	/* f0001 is evicted by now (600 lookups since); replace it on the host */
	CHECK(S->nodes[(uint32_t)ids[1]]->fd < 0 || S->evicted > 0);
	unlink(hp("f0001"));
	for (i = 0; i < NFILES; i++) { /* churn so the node is surely evicted */
		snprintf(name, sizeof(name), "f%04d", i);
		if (i != 1)
			getattr(ids[i], 0, false, &a);
	}
	CHECK_EQ(S->nodes[(uint32_t)ids[1]]->fd, -1);
	CHECK_EQ(getattr(ids[1], 0, false, &a), -ESTALE);
	close(open(hp("f0001"), O_CREAT | O_WRONLY, 0644));
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "f0001", &e), 0);
	CHECK(e.nodeid != ids[1]);
	CHECK_EQ(getattr(e.nodeid, 0, false, &a), 0);
}

TEST(open_unlinked_file_keeps_working)
{
	struct fuse_entry_out e = {0};
	struct fuse_attr_out a;
	uint64_t fh = 0;
	uint32_t w;
	char buf[16];
	size_t l;
	int i;

	CHECK_EQ(create(S, FUSE_ROOT_ID, "open-unlinked", 0644, O_RDWR, &e, &fh), 0);
	CHECK_EQ(write_data(S, e.nodeid, fh, 0, "hello", 5, &w), 0);
	CHECK_EQ(unlink(hp("open-unlinked")), 0);
	for (i = 0; i < NFILES; i++)
		getattr(ids[i], 0, false, &a);
	/* the node is pinned (unlinked) or still open: both getattr forms answer */
	CHECK_EQ(getattr(e.nodeid, fh, true, &a), 0);
	CHECK_EQ(a.attr.size, 5);
	CHECK_EQ(a.attr.nlink, 0);
	CHECK_EQ(read_data(S, e.nodeid, fh, 0, sizeof(buf), buf, &l), 0);
	CHECK_EQ(l, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
}

TEST(symlink_and_dir_nodes_reopen)
{
	struct fuse_entry_out d, l, f;
	struct fuse_attr_out a;
	char target[64];
	size_t len;
	int i;

	mkdir(hp("sub"), 0755);
	close(open(hp("sub/inner"), O_CREAT | O_WRONLY, 0644));
	CHECK_EQ(symlink("../outside", hp("link")), 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "sub", &d), 0);
	CHECK_EQ(lookup(S, FUSE_ROOT_ID, "link", &l), 0);
	for (i = 0; i < NFILES; i++)
		getattr(ids[i], 0, false, &a);
	CHECK_EQ(S->nodes[(uint32_t)d.nodeid]->fd, -1);
	CHECK_EQ(S->nodes[(uint32_t)l.nodeid]->fd, -1);
	CHECK_EQ(lookup(S, d.nodeid, "inner", &f), 0); /* a directory reopened by handle */
	CHECK_EQ(req(S, FUSE_READLINK, l.nodeid, NULL, 0, NULL, NULL, target, &len), 0);
	CHECK_EQ(len, strlen("../outside"));
	CHECK(memcmp(target, "../outside", len) == 0);
	CHECK_EQ(getattr(l.nodeid, 0, false, &a), 0);
	CHECK_EQ(a.attr.mode & S_IFMT, S_IFLNK);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/sbx-fs-evict.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	SC = malloc(sizeof(*SC));
	fs_nodes_set_fd_budget(BUDGET);
	S = srv_new(false);
	if (!S->can_evict) { /* root has CAP_DAC_READ_SEARCH: there it must work */
		printf("%s handles_reopen (open_by_handle_at unavailable)\n",
		       geteuid() == 0 ? "FAIL" : "SKIP");
		fs_srv_free(S);
		return geteuid() == 0;
	}
	RUN(lookups_beyond_budget_stay_within_it);
	RUN(evicted_nodes_come_back);
	RUN(gone_inode_is_estale_and_new_one_gets_new_id);
	RUN(open_unlinked_file_keeps_working);
	RUN(symlink_and_dir_nodes_reopen);
	fs_srv_free(S);
	free(SC);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	T_EXIT();
}
