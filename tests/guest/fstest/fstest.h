/* fstest's shared parts: the result codes, the CK/CK_ERR macros, the failure text and the small
 * file helpers every check uses (util.c), and the checks themselves (data.c: file contents and
 * sizes; names.c: directories, names, links and metadata). */
#ifndef SBX_TESTS_GUEST_FSTEST_H
#define SBX_TESTS_GUEST_FSTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CHECK_SECONDS 300 /* per check (the big-directory one is the slowest: see -n) */
#define GIB	      (1024LL * 1024 * 1024)
#define SECS(a, b)    ((double)((b).tv_sec - (a).tv_sec) + ((b).tv_nsec - (a).tv_nsec) / 1e9)

extern char base[PATH_MAX]; /* DIR/fstest.<pid>, absolute and canonical */
extern char why[1024];
extern long bigdir_entries;

enum { R_PASS = 0, R_FAIL = -1, R_SKIP = 1 };

int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CK(cond): fail the check with the condition's text, its line and errno. */
#define CK(cond)                                                                                   \
	do {                                                                                       \
		errno = 0;                                                                         \
		if (!(cond))                                                                       \
			return failf("line %d: %s (errno %d %s)", __LINE__, #cond, errno,          \
				     strerror(errno));                                             \
	} while (0)

/* CK_ERR(call, err): the call must return -1 with errno == err. */
#define CK_ERR(call, err)                                                                          \
	do {                                                                                       \
		errno = 0;                                                                         \
		long ck_r = (long)(call);                                                          \
		if (ck_r != -1 || errno != (err))                                                  \
			return failf("line %d: %s returned %ld errno %d (%s), want %s", __LINE__,  \
				     #call, ck_r, errno, strerror(errno), #err);                   \
	} while (0)

int put(const char *path, const void *data, size_t len);
ssize_t get(const char *path, void *buf, size_t cap);
int content_is(const char *path, const char *want);
char *pjoin(char *out, const char *d, const char *name);
void rm_tree(const char *p);

int t_create_excl(const char *d);
int t_otrunc(const char *d);
int t_rename_file(const char *d);
int t_rename_dir(const char *d);
int t_rename2(const char *d);
int t_unlink_open(const char *d);
int t_append(const char *d);
int t_truncate(const char *d);
int t_mmap_shared(const char *d);
int t_sparse(const char *d);
int t_seek_hole(const char *d);
int t_large(const char *d);
int t_bigio(const char *d);
int t_bigio_direct(const char *d);
int t_dirops(const char *d);
int t_bigdir(const char *d);
int t_longnames(const char *d);
int t_unicode(const char *d);
int t_symlink(const char *d);
int t_hardlink(const char *d);
int t_chmod_times(const char *d);
int t_fifo(const char *d);
int t_fsync(const char *d);
int t_statfs(const char *d);
int t_xattr(const char *d);
int t_locks(const char *d);
int t_fallocate(const char *d);
int t_readdir_rename(const char *d);
int t_getcwd(const char *d);
int t_perms(const char *d);

#endif
