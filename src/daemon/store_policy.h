/* The SQL of sbxd's network policy: tables policies, policy_log and settings in <data>/sbx.db
 * (created by store.c's schema migration). Its own connection, so log writes never wait on a
 * sandbox query. Never parses or judges a pattern: resources are stored as given. */
#ifndef SBX_DAEMON_STORE_POLICY_H
#define SBX_DAEMON_STORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store.h"

#define STORE_POLICY_NAME_MAX 40
#define STORE_LOG_HOST_MAX    256
#define STORE_LOG_RULE_MAX    304
#define STORE_LOG_REASON_MAX  128

struct store_pdb;

/* One row of table policies. */
struct store_policy {
	int64_t id;
	char name[STORE_POLICY_NAME_MAX]; /* "allow-3", "deny-4", "preset-balanced" */
	char decision[8];		  /* "allow" | "deny" */
	char scope[STORE_NAME_MAX + 1];	  /* "" global, else a sandbox name */
	char origin[8];			  /* "user" | "preset" */
	char *resources;		  /* canonical "a,b:443" (malloc'd) */
	int64_t created_at;		  /* unix seconds */
};

/* One row of table policy_log: a distinct decision and how often it was made. */
struct store_log_row {
	char sandbox[STORE_NAME_MAX + 1];
	char host[STORE_LOG_HOST_MAX];
	uint16_t port;
	char proxy[16];
	bool allowed;
	char rule[STORE_LOG_RULE_MAX];
	char reason[STORE_LOG_REASON_MAX];
	uint64_t count;
	uint64_t bytes;
	int64_t first_seen, last_seen; /* unix seconds */
};

/**
 * store_policy_open() - open a second connection to the database at @path (already made and
 * migrated by store_open()). Return: 0 with *@out set, or -1 with an error printed (also
 * when the policy tables are missing: the database is older than this sbxd's store.c).
 */
int store_policy_open(const char *path, struct store_pdb **out);

/**
 * store_policy_close() - close the connection; NULL is fine.
 */
void store_policy_close(struct store_pdb *db);

/**
 * store_policy_insert() - add @p; sets @p->id, and @p->name to "<decision>-<id>" when it is
 * empty, and created_at to now when 0. Return: 0, 1 if the name is taken, -1 on error.
 */
int store_policy_insert(struct store_pdb *db, struct store_policy *p);

/**
 * store_policy_list() - every policy, by id, into a malloc'd array *@out of *@n; free with
 * store_policy_free(). Return: 0 or -1.
 */
int store_policy_list(struct store_pdb *db, struct store_policy **out, size_t *n);

/**
 * store_policy_free() - free an array from store_policy_list() (NULL is fine).
 */
void store_policy_free(struct store_policy *p, size_t n);

/**
 * store_policy_delete() - remove the policy @id. Return: 0, 1 if none, -1 on error.
 */
int store_policy_delete(struct store_pdb *db, int64_t id);

/**
 * store_policy_set_resources() - replace the resources of policy @id.
 * Return: 0, 1 if none, -1 on error.
 */
int store_policy_set_resources(struct store_pdb *db, int64_t id, const char *resources);

/**
 * store_policy_forget_sandbox() - delete the policies scoped to @name and its log rows.
 * Return: 0 or -1.
 */
int store_policy_forget_sandbox(struct store_pdb *db, const char *name);

/**
 * store_policy_set_preset() - in one transaction: delete the preset policies, insert one
 * allow policy "preset-<preset>" with @resources unless @resources is NULL or "", and
 * record @preset as the chosen preset. Return: 0 or -1.
 */
int store_policy_set_preset(struct store_pdb *db, const char *preset, const char *resources);

/**
 * store_policy_get_preset() - the chosen preset into @out (@len bytes), "" if never chosen.
 * Return: 0 or -1.
 */
int store_policy_get_preset(struct store_pdb *db, char *out, size_t len);

/**
 * store_policy_reset() - delete every policy (user and preset), the preset choice and the
 * whole log, in one transaction. Return: 0 or -1.
 */
int store_policy_reset(struct store_pdb *db);

/**
 * store_policy_log_add() - upsert @n rows in one transaction: a row with the same sandbox,
 * proxy, host, port, allowed, rule and reason gets count and bytes added and last_seen
 * raised; then, if the table holds more than @cap rows, the least recently seen go.
 * Return: 0 or -1.
 */
int store_policy_log_add(struct store_pdb *db, const struct store_log_row *rows, size_t n,
			 size_t cap);

/**
 * store_policy_log_list() - log rows of @sandbox (NULL or "": all), most recent first, into
 * a malloc'd array *@out of *@n (caller frees). Return: 0 or -1.
 */
int store_policy_log_list(struct store_pdb *db, const char *sandbox, struct store_log_row **out,
			  size_t *n);

#endif
