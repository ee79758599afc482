/* Sandbox lifecycle in sbxd: create (validation, names, state disk), start (assets,
 * engine, guest agent), stop, rm, reset, and the per-sandbox serialization that makes
 * concurrent requests on one sandbox wait for each other. Speaks no HTTP and no SQL:
 * results are HTTP-like status codes plus one error line. */
#ifndef SBX_DAEMON_SANDBOX_H
#define SBX_DAEMON_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/paths.h"
#include "daemon/engine_select.h"
#include "daemon/store.h"
#include "engine/accel.h"

#define SBX_ERR_MAX 1024

/* What sbxd knows for its lifetime. */
struct sbxd_ctx {
	struct sbx_paths paths;
	struct store *store;
	char engine_default[16]; /* "kvm" or "qemu" (engine_select_default()) */
	char engine_why[256];	 /* why that engine is the default */
	enum engine_accel accel; /* qemu engine's accelerator: from config, else probe */
	char accel_why[160];	 /* why TCG was picked ("" if KVM or configured) */
	char kvm_no[160];	 /* why KVM cannot run a stock kernel ("": it can), probed */
	bool vmm_found;		 /* sbx-vmm found (SBX_VMM, else next to sbxd) */
	char vmm_bin[PATH_MAX];	 /* its path */
	long tsc_khz;		 /* host TSC kHz for TCG guests */
};

/**
 * sandbox_engine_host() - what @ctx probed about this host, as engine_select_*() want it.
 */
void sandbox_engine_host(const struct sbxd_ctx *ctx, struct engine_host *h);

/* One requested share (POST /v1/sandboxes "mounts"). */
struct sandbox_mount_req {
	const char *path;
	bool readonly;
};

/* POST /v1/sandboxes body; 0 / NULL means "default". */
struct sandbox_create_req {
	const char *agent;
	const char *workspace; /* NULL with mounts given: the first mount's path */
	int n_mounts;	       /* -1: no "mounts" (nothing shared); else the shares, workspace
				  first */
	struct sandbox_mount_req mounts[STORE_MOUNTS_MAX];
	const char *name;
	long long memory_mib;
	long long cpus;
	const char *engine;
};

/**
 * sandbox_ctx_init() - read <config>/config (engine=, accel=), probe the accelerator
 * (logging once when TCG is picked) and fill @ctx (paths must be set, store opened by the
 * caller). Return 0 or -1 with an error printed (bad config line).
 */
int sandbox_ctx_init(struct sbxd_ctx *ctx);

/**
 * sandbox_create() - validate @req, pick defaults, make <data>/sandboxes/<name>/ with its
 * sparse ext4 state disk, and record the sandbox (stopped) in *@out.
 * Return: 201, or 400/409/500 with @err (SBX_ERR_MAX) set; nothing is left on failure.
 */
int sandbox_create(struct sbxd_ctx *ctx, const struct sandbox_create_req *req,
		   struct sbx_sandbox *out, char *err);

/**
 * sandbox_start() - boot @name and wait for its guest agent; concurrent calls for one
 * sandbox wait for the first. Return: 200 with *@out running, or 404/409/500/504 + @err.
 */
int sandbox_start(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err);

/**
 * sandbox_stop() - ask the guest to power off, then stop its processes (escalating to
 * signals) and remove the run directory. Return: 200 with *@out stopped, or 404 + @err.
 */
int sandbox_stop(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err);

/**
 * sandbox_rm() - delete @name's directory and record; a running one only with @force
 * (stopped first). Return: 204, or 404/409/500 + @err.
 */
int sandbox_rm(struct sbxd_ctx *ctx, const char *name, bool force, char *err);

/**
 * sandbox_reset() - stop and delete every sandbox. Return 204, or 500 + @err (first error).
 */
int sandbox_reset(struct sbxd_ctx *ctx, char *err);

/**
 * sandbox_claim() - claim @name (waiting, bounded, for another operation on it) and load it
 * into *@out. Return: 0 with the claim held (release with sandbox_busy_release()), or
 * 404/500/504 with @err set and no claim held.
 */
int sandbox_claim(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err);

/**
 * sandbox_busy_try() - claim @name for an operation without waiting (the supervisor uses
 * this so it never races a start/stop). Return true if claimed; release with
 * sandbox_busy_release().
 */
bool sandbox_busy_try(const char *name);

/**
 * sandbox_busy_release() - release a claim taken by sandbox_busy_try().
 */
void sandbox_busy_release(const char *name);

/**
 * sandbox_mark_stopped() - the VM of @sb is (or must be treated as) gone: kill whatever
 * of its processes is still ours, remove its run directory, record it stopped. Caller
 * holds the busy claim.
 */
void sandbox_mark_stopped(struct sbxd_ctx *ctx, struct sbx_sandbox *sb);

/**
 * sandbox_data_dir() - <data>/sandboxes/<name> into @out (PATH_MAX). Return 0 or -1.
 */
int sandbox_data_dir(const struct sbxd_ctx *ctx, const char *name, char *out);

/**
 * sandbox_path_normal() - true when @path is absolute with no "//", "." or ".." component and
 * no trailing '/': such a path is kept as given (symlinks included) as the guest's mount point.
 */
bool sandbox_path_normal(const char *path);

/**
 * sandbox_mounts_from_req() - check @req's mounts into @sb->mounts (workspace first) and that
 * they fit the guest kernel command line (mounts.c). Return 0, or 400 with @err set.
 */
int sandbox_mounts_from_req(const struct sbxd_ctx *ctx, const struct sandbox_create_req *req,
			    struct sbx_sandbox *sb, char *err);

/**
 * sandbox_seterr() - one error line into @err (SBX_ERR_MAX bytes); long paths are cut.
 */
void sandbox_seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
