/* The guest's boot assets in sbx's cache: the Debian kernel (vmlinux + modules), the
 * initramfs (sbx-init + modules), and templates (read-only root image + metadata).
 *   <cache>/kernel/<kver>/{vmlinux,modules/,version}
 *   <cache>/initramfs/<hash>.cpio          hash over sbx-init, kernel version, initramfs.sh
 *   <cache>/templates/<name>/{rootfs.img,meta.json}
 * A template is current when its meta.json's "recipe_sha256" is the hash of the recipe files it
 * would be built from now (assets_recipe_sha256()); *_ensure() rebuilds an outdated one.
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
	char kernel[PATH_MAX];	  /* vmlinux (ELF, PVH entry) */
	char initramfs[PATH_MAX]; /* cpio */
	char rootfs[PATH_MAX];	  /* template root image (erofs), read-only */
};

/**
 * assets_find() - locate ready kernel, initramfs and template @tmpl without building
 * (@tmpl NULL: kernel and initramfs only; out->rootfs is then empty).
 * Return: 0, or -1 with a one-line error printed naming what is missing and the command
 * that builds it ("sbx template build shell").
 */
int assets_find(const struct sbx_paths *p, const char *tmpl, struct sbx_assets *out);

/**
 * assets_ensure() - like assets_find() but fetch/build whatever is missing first, showing
 * progress on stderr unless @quiet (@tmpl NULL: kernel and initramfs only). Return 0, or -1 with
 * the error printed.
 */
int assets_ensure(const struct sbx_paths *p, const char *tmpl, bool quiet, struct sbx_assets *out);

/**
 * assets_template_known() - true if @name is a template sbx knows how to build (a recipe
 * in images/templates/) or one already built in the cache.
 */
bool assets_template_known(const struct sbx_paths *p, const char *name);

/* --- finer-grained calls (the template verb, tests) ------------------------------------- */

/**
 * assets_name_valid() - true if @name is a usable template name: 1-64 characters of a-z, 0-9,
 * and (not first) '-', '_', '.'.
 */
bool assets_name_valid(const char *name);

/**
 * assets_kernel_find() - the newest complete kernel directory in <cache>/kernel (vmlinux,
 * version and modules/ present) into @dir (PATH_MAX), its release into @kver (may be NULL).
 * Return: 0, or -1 if there is none (nothing printed).
 */
int assets_kernel_find(const struct sbx_paths *p, char *dir, char *kver, size_t kver_len);

/**
 * assets_initramfs_name() - the cache file name "<16 hex>.cpio" for an initramfs made of
 * @sbx_init for kernel @kver by @script (FNV-1a 64 over the three), into @out (@len bytes).
 * Return: 0, or -1 with errno set (a file cannot be read).
 */
int assets_initramfs_name(const char *sbx_init, const char *kver, const char *script, char *out,
			  size_t len);

/**
 * assets_template_dir() - <cache>/templates/@name into @out (PATH_MAX).
 * Return: 0, or -1 (EINVAL for an invalid name, ENAMETOOLONG).
 */
int assets_template_dir(const struct sbx_paths *p, const char *name, char *out);

/**
 * assets_template_built() - true if template @name has rootfs.img and meta.json (a complete
 * build, current or not: sbxd boots what is there).
 */
bool assets_template_built(const struct sbx_paths *p, const char *name);

/**
 * assets_recipe_sha256() - the hash of recipe @name as images/build-template.sh computes it:
 * sha256 over the lines "<sha256 of file>  <file>\n" of its files, relative to images/ —
 * build-template.sh, each base recipe (a recipe's last line "BASE=name", quotes allowed; the
 * outermost first, at most 8 deep), templates/@name.conf — i.e.
 * `cd images && sha256sum build-template.sh templates/shell.conf templates/claude.conf |
 * sha256sum`.
 * @hex: 65 bytes, lowercase hex.
 * Return: 0, or -1 with errno set (ENOENT a file is missing, ELOOP bases too deep, EINVAL a
 * bad name).
 */
int assets_recipe_sha256(const struct sbx_paths *p, const char *name, char *hex);

enum assets_tmpl_state {
	ASSETS_TMPL_NOT_BUILT, /* no complete build */
	ASSETS_TMPL_READY,    /* built from the current recipe (or built with no recipe to match) */
	ASSETS_TMPL_OUTDATED, /* built, but from another recipe (or before hashes were recorded) */
};

/** assets_template_state() - whether template @name is built and current (see the enum). */
enum assets_tmpl_state assets_template_state(const struct sbx_paths *p, const char *name);

/** assets_template_current() - true if template @name is built and READY. */
bool assets_template_current(const struct sbx_paths *p, const char *name);

/**
 * assets_recipe_value() - the value of a line "KEY=value" of recipe @name's own file (not its
 * base; the last such line wins; one pair of surrounding quotes removed; no expansion), e.g.
 * AGENT_NPM, AGENT_UNAVAILABLE, BASE, into @out (@len bytes).
 * Return: 0, or -1 if the recipe or the key is missing (or the value does not fit).
 */
int assets_recipe_value(const struct sbx_paths *p, const char *name, const char *key, char *out,
			size_t len);

#define ASSETS_NAME_MAX 72 /* a template name with its NUL fits */

/**
 * assets_recipe_names() - the names of the recipes in <libdir>/images/templates/ (valid names
 * only), sorted, at most @max into @names. Return: how many.
 */
size_t assets_recipe_names(const struct sbx_paths *p, char (*names)[ASSETS_NAME_MAX], size_t max);

/**
 * assets_template_unavailable() - true if recipe @name cannot be built here: it says why in a
 * line AGENT_UNAVAILABLE="reason" (copied into @reason, @len bytes; may be NULL). `sbx run
 * --help` lists these with their reasons.
 */
bool assets_template_unavailable(const struct sbx_paths *p, const char *name, char *reason,
				 size_t len);

/** assets_template_has_recipe() - true if <libdir>/images/templates/@name.conf exists. */
bool assets_template_has_recipe(const struct sbx_paths *p, const char *name);

/**
 * assets_template_build() - build template @name from its recipe unless already built from the
 * current recipe (always, with @force); an old or outdated build is replaced only once the new
 * one is complete, and stays if the build fails. Needs
 * the kernel/initramfs not at all; assets_ensure() builds those. Progress on stderr unless
 * @quiet. Return: 0, or -1 with a one-line error (and the build log's tail) printed.
 */
int assets_template_build(const struct sbx_paths *p, const char *name, bool force, bool quiet);

/**
 * assets_run_script() - run @argv (argv[0] an absolute program such as /bin/bash, argv[1]
 * the script) with its stderr rendered as progress titled @title and logged to @log_path,
 * the first line of its stdout captured into @result (PATH_MAX); the job's process group
 * is killed after @timeout_s or on SIGINT/SIGTERM/SIGHUP. @what names the job in errors.
 * Return: 0, or -1 with a one-line error (the script's "@@error" text if it gave one)
 * printed after the tail of the log.
 */
int assets_run_script(char *const argv[], const char *title, const char *what, const char *log_path,
		      int timeout_s, bool quiet, char *result);

#endif
