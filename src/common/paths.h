/* Where sbx keeps things on the host: data, config, runtime sockets, caches, and its own
 * helper files. One place decides every directory so no program invents its own.
 * Never creates anything except through sbx_mkdir_p(). */
#ifndef SBX_COMMON_PATHS_H
#define SBX_COMMON_PATHS_H

#include <limits.h>
#include <sys/types.h>

struct sbx_paths {
	char data[PATH_MAX];	/* sbx.db, sandboxes/<name>/ (state disk, logs) */
	char config[PATH_MAX];	/* config (key=value) */
	char runtime[PATH_MAX]; /* sbxd.sock, vm/<id>/ (vsock sockets, pids) */
	char cache[PATH_MAX];	/* kernel/, templates/ (rebuildable, kept by reset) */
	char bindir[PATH_MAX];	/* directory of the running executable (sbx, sbxd, sbx-vhost) */
	char libdir[PATH_MAX];	/* sbx-init, images/ scripts */
};

/**
 * sbx_paths_init() - fill @p from the environment.
 * SBX_HOME=<dir> puts data/config/run/cache under one directory (tests); otherwise root uses
 * /var/lib/sbx, /run/sbx, /var/cache/sbx and users the XDG directories. SBX_CACHE_DIR overrides
 * the cache, SBX_LIBDIR the helper-file directory.
 * Return: 0, or -1 with an error printed.
 */
int sbx_paths_init(struct sbx_paths *p);

/**
 * sbx_mkdir_p() - create @path and its parents with @mode; existing directories are fine.
 * Return: 0 or -1 with errno set.
 */
int sbx_mkdir_p(const char *path, mode_t mode);

/**
 * sbx_path_join() - snprintf into @out (PATH_MAX); returns -1 (ENAMETOOLONG) if truncated.
 */
int sbx_path_join(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
