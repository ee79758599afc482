/* sbxd's network policy state, shared by the API threads and the egress loop: the rules (table
 * policies in SQLite, and an in-memory snapshot the egress loop reads without touching SQLite),
 * the default preset, and the decision log (table policy_log: one row per distinct decision,
 * counted). Thread-safe. Never opens a socket and never decides by itself: deciding is
 * src/daemon/policy/ruleset.c on a snapshot. */
#ifndef SBX_DAEMON_NETPOL_H
#define SBX_DAEMON_NETPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/policy/ruleset.h"
#include "daemon/store_policy.h"

struct sbxd_ctx;

/* The rules in force at one moment: immutable, reference counted. */
struct netpol_snapshot {
	struct pol_rule *rules;
	size_t n;
	char preset[16]; /* "allow-all" | "balanced" | "deny-all" | "" (never chosen) */
	unsigned refs;	 /* private to netpol.c */
};

/* One decision, as the egress code reports it. */
struct netpol_event {
	const char *sandbox; /* name */
	const char *host;    /* hostname, or the IP literal for a bare-IP connection */
	uint16_t port;	     /* 0 for DNS */
	const char *proxy;   /* "dns" | "http" | "connect" | "transparent" */
	bool allowed;
	const char *rule;   /* the rule's canonical resource text, or "" for the default */
	const char *reason; /* pol_verdict.reason or why the proxy refused ("SNI mismatch") */
	uint64_t bytes;	    /* bytes carried both ways (0 when denied or for DNS) */
};

/**
 * netpol_init() - open the policy tables (store_open()'s migration made them), refresh a
 * chosen preset from <libdir>/images/policy/balanced.rules (kept as stored if unreadable),
 * load the rules into the first snapshot and start the log flusher (a thread writing the
 * buffered log every second). Call after store_open(). Return: 0 or -1 with a message.
 */
int netpol_init(struct sbxd_ctx *ctx);

/**
 * netpol_get() - the current snapshot with a reference held (never NULL after netpol_init).
 */
struct netpol_snapshot *netpol_get(void);

/**
 * netpol_put() - drop a reference from netpol_get().
 */
void netpol_put(struct netpol_snapshot *s);

/**
 * netpol_log() - record @ev: counted into the row with the same sandbox, host, port, proxy,
 * decision, rule and reason (last-seen time updated, bytes added). Cheap enough to call for
 * every connection and DNS answer from the egress loop (buffered; flushed at least every
 * second and by netpol_flush()).
 */
void netpol_log(const struct netpol_event *ev);

/**
 * netpol_flush() - write buffered log rows now (tests and shutdown).
 */
void netpol_flush(void);

/**
 * netpol_sandbox_removed() - forget @name's per-sandbox rules and log rows (sbx rm).
 */
void netpol_sandbox_removed(const char *name);

/* ---- the policy surface for the API (api_policy.c); each returns an HTTP-like status
 * and, on failure, one error line in @err (@errlen bytes) ---- */

#define NETPOL_LOG_CAP	      10000 /* rows kept in policy_log; the least recently seen go */
#define NETPOL_RESOURCES_MAX  4096  /* patterns in one policy */
#define NETPOL_LOG_BUFFER_MAX 512   /* distinct decisions buffered between flushes */

/**
 * netpol_policy_add() - validate and store a user policy, then swap in a new snapshot.
 * @decision: "allow" or "deny".
 * @resources: "a,b:443,*.c,**.d,**,10.0.0.0/8" (pol_pattern_list_parse(); duplicates folded).
 * @scope: "" or NULL for global, else a sandbox name (existence is the caller's check).
 * @out: the stored policy (or the identical one that already existed); free
 *       @out->resources.
 * Return: 201 created, 200 an identical user policy already existed, 400 (bad decision,
 * resource or scope; @err names the bad item), 500.
 */
int netpol_policy_add(const char *decision, const char *resources, const char *scope,
		      struct store_policy *out, char *err, size_t errlen);

/**
 * netpol_policy_list() - every policy (user and preset), by id; free with
 * store_policy_free(). Return: 0 or -1.
 */
int netpol_policy_list(struct store_policy **out, size_t *n);

/**
 * netpol_policy_remove() - delete the user policy named @name_or_id ("allow-3" or "3").
 * Return: 204, 400 (a preset policy: changed only by set-default), 404, 500.
 */
int netpol_policy_remove(const char *name_or_id, char *err, size_t errlen);

/**
 * netpol_policy_remove_resource() - take the patterns of @resources out of every user
 * policy of @scope ("" / NULL global) and @decision (NULL: both); a policy left with no
 * resource is deleted. Patterns compare canonically ("A.com." equals "a.com").
 * @changed: set to the number of policies changed or deleted.
 * Return: 204, 400 (bad decision or resource), 404 (no user policy of that scope has any of
 * them), 500.
 */
int netpol_policy_remove_resource(const char *decision, const char *resources, const char *scope,
				  unsigned *changed, char *err, size_t errlen);

/**
 * netpol_preset_get() - the chosen preset into @out ("" if never chosen).
 */
void netpol_preset_get(char *out, size_t len);

/**
 * netpol_preset_set() - make @preset ("allow-all", "balanced", "deny-all") the default:
 * replaces the preset policy (user policies stay) and records the choice.
 * @npatterns: set to the number of patterns the preset allows (may be NULL).
 * Return: 200, 400 (unknown name), 500 (the balanced list cannot be read, or the database).
 */
int netpol_preset_set(const char *preset, size_t *npatterns, char *err, size_t errlen);

/**
 * netpol_reset() - delete every policy, the preset choice and the log (back to default
 * deny with no preset chosen). Return: 204 or 500.
 */
int netpol_reset(char *err, size_t errlen);

/**
 * netpol_log_list() - flush, then the log rows of @sandbox (NULL or "": all), most recent
 * first; the caller frees *@out. Return: 0 or -1.
 */
int netpol_log_list(const char *sandbox, struct store_log_row **out, size_t *n);

/**
 * netpol_rule_name() - the name of the policy a rule of @s came from ("allow-3",
 * "preset-balanced") into @out (@len bytes).
 */
void netpol_rule_name(const struct netpol_snapshot *s, const struct pol_rule *r, char *out,
		      size_t len);

/**
 * netpol_close() - stop the flusher, flush, and release everything (tests; sbxd just
 * calls netpol_flush() before exiting). netpol_init() may be called again afterwards.
 */
void netpol_close(void);

#endif
