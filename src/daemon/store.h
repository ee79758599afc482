/* sbxd's persistent state: the SQLite database <data>/sbx.db (WAL, versioned schema) and
 * the sandbox records in it, plus the sandbox name rules. All SQL lives in store*.c
 * (store.c: schema and sandboxes; store_policy.c: policies, log, settings); no other file
 * builds a query. Never starts or stops anything. */
#ifndef SBX_DAEMON_STORE_H
#define SBX_DAEMON_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define STORE_NAME_MAX 40 /* [a-z0-9][a-z0-9_.-]{0,39} */

struct store;

#define STORE_MOUNTS_MAX ENGINE_SHARES_MAX

/* One host directory shared into the sandbox at the same absolute path. */
struct sbx_mount {
	char path[PATH_MAX];
	bool readonly;
	bool file; /* a single regular file (always readonly), stored as "rf PATH" */
};

/* One row of table sandboxes. */
struct sbx_sandbox {
	char id[9]; /* 8 hex chars, names the run directory */
	char name[STORE_NAME_MAX + 1];
	char agent[64];
	char workspace[PATH_MAX];
	unsigned memory_mib;
	unsigned cpus;
	char engine[16];	/* "qemu" */
	char accel[8];		/* "kvm" | "tcg" | "" */
	char status[16];	/* "stopped" | "starting" | "running" | "stopping" */
	int64_t created_at;	/* unix seconds */
	struct engine_run run;	/* processes while running (pid 0 when none) */
	char run_dir[PATH_MAX]; /* <runtime>/vm/<id> while running, else "" */
	unsigned n_mounts;	/* shares: the workspace first; 0 for sandboxes made before
				   shares existed (schema 1) or created without any */
	struct sbx_mount mounts[STORE_MOUNTS_MAX];
};

/**
 * store_open() - open (creating if needed) the database at @path: WAL, 5 s busy timeout,
 * schema created or migrated to the current user_version.
 * Return: 0 with *@out set, or -1 with an error printed.
 */
int store_open(const char *path, struct store **out);

/**
 * store_close() - close the database; NULL is fine.
 */
void store_close(struct store *st);

/**
 * store_insert() - add @sb. Return: 0, 1 if its name or id is already used, -1 on error.
 */
int store_insert(struct store *st, const struct sbx_sandbox *sb);

/**
 * store_get() - the sandbox called @name into @out. Return: 0, 1 if none, -1 on error.
 */
int store_get(struct store *st, const char *name, struct sbx_sandbox *out);

/**
 * store_exists() - whether a sandbox called @name exists (an invalid name never does).
 * Return: 0 if it does, 1 if not, -1 on a database error.
 */
int store_exists(struct store *st, const char *name);

/**
 * store_list() - every sandbox, ordered by creation, into a malloc'd array *@out of *@n.
 * Return: 0 or -1. The caller frees *@out.
 */
int store_list(struct store *st, struct sbx_sandbox **out, size_t *n);

/**
 * store_update_state() - write @sb's status, accel, run_dir and process ids (by name).
 * Return: 0, 1 if the row is gone, -1 on error.
 */
int store_update_state(struct store *st, const struct sbx_sandbox *sb);

/**
 * store_delete() - remove the sandbox @name. Return: 0, 1 if none, -1 on error.
 */
int store_delete(struct store *st, const char *name);

/**
 * store_mounts_encode() - @sb's mounts as the text kept in the mounts column: one line per
 * mount, "rw PATH", "ro PATH" or "rf PATH" (a read-only single file; paths never hold a newline:
 * sandbox.c refuses them).
 * Return: the length, or -1 if @outlen is too small.
 */
int store_mounts_encode(const struct sbx_sandbox *sb, char *out, size_t outlen);

/**
 * store_mounts_decode() - parse the mounts column text @text into @sb->mounts / n_mounts.
 * Malformed lines are skipped. Return: the number of mounts.
 */
unsigned store_mounts_decode(const char *text, struct sbx_sandbox *sb);

/**
 * store_name_valid() - true if @name matches [a-z0-9][a-z0-9_.-]{0,39}.
 */
bool store_name_valid(const char *name);

/**
 * store_name_sanitize() - map @in into the name alphabet: lower-case, other characters to
 * '-', runs of '-' squeezed, leading characters outside [a-z0-9] dropped, cut to @maxlen
 * and trailing '-', '.', '_' dropped. @out has room for @maxlen + 1.
 * Return: 0, or -1 if nothing usable is left.
 */
int store_name_sanitize(const char *in, char *out, size_t maxlen);

/**
 * store_name_default() - "<agent>-<basename of @workspace>" sanitized, made unique among
 * existing sandboxes by appending -2, -3, ... (@out: STORE_NAME_MAX + 1 bytes).
 * Return: 0, or -1 (no usable name, or database error).
 */
int store_name_default(struct store *st, const char *agent, const char *workspace, char *out);

#endif
