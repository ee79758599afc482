/* The guest's boot assets in sbx's cache: the Debian kernel (vmlinux + modules), the
 * initramfs (sbx-init + modules), and templates (read-only root image + metadata).
 *   <cache>/kernel/<kver>/{vmlinux,modules/,version}
 *   <cache>/initramfs/<hash>.cpio          hash over sbx-init and the module list
 *   <cache>/templates/<name>/{rootfs.img,meta.json}
 * The *_find() calls only look (sbxd uses them); the *_ensure() calls build what is missing
 * with progress on stderr (the CLI uses them). Builds are atomic (temp dir, then rename) and
 * serialized with a lock file, so concurrent callers and interrupted builds never leave a
 * half-made asset behind. */
#ifndef SBX_COMMON_ASSETS_H
#define SBX_COMMON_ASSETS_H

#include <limits.h>
#include <stdbool.h>

#include "common/paths.h"

struct sbx_assets {
	char kernel[PATH_MAX];    /* vmlinux (ELF, PVH entry) */
	char initramfs[PATH_MAX]; /* cpio */
	char rootfs[PATH_MAX];    /* template root image (erofs), read-only */
};

/**
 * assets_find() - locate ready kernel, initramfs and template @tmpl without building.
 * Return: 0, or -1 with a one-line error printed naming what is missing and the command
 * that builds it ("sbx template build shell").
 */
int assets_find(const struct sbx_paths *p, const char *tmpl, struct sbx_assets *out);

/**
 * assets_ensure() - like assets_find() but fetch/build whatever is missing first, showing
 * progress on stderr unless @quiet. Return 0, or -1 with the error printed.
 */
int assets_ensure(const struct sbx_paths *p, const char *tmpl, bool quiet, struct sbx_assets *out);

/**
 * assets_template_known() - true if @name is a template sbx knows how to build (a recipe
 * in images/templates/) or one already built in the cache.
 */
bool assets_template_known(const struct sbx_paths *p, const char *name);

#endif
