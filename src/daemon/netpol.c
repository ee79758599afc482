/* sbxd's network policy state (see netpol.h): the snapshot the egress loop reads (swapped
 * under a mutex, reference counted, rebuilt from the store on every change), the policy
 * changes the API asks for, and the decision log buffer with its one-second flusher thread.
 * Never decides a connection (policy/ruleset.c does) and never blocks netpol_log() on SQLite. */
#include "daemon/netpol.h"
#include "common/err.h"
#include "daemon/policy/preset.h"
#include "daemon/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Decisions counted since the last flush, merged by key (no allocation in netpol_log). */
struct logbuf {
	struct store_log_row rows[NETPOL_LOG_BUFFER_MAX];
	uint32_t hash[NETPOL_LOG_BUFFER_MAX];
	size_t n;
};

static struct {
	struct store_pdb *db;
	char preset_dir[PATH_MAX];

	pthread_mutex_t snap_lock; /* cur and every snapshot's refs */
	struct netpol_snapshot *cur;

	pthread_mutex_t chg_lock; /* one change (store + rebuild) at a time */

	pthread_mutex_t log_lock; /* logbuf, dropped */
	struct logbuf bufs[2];
	struct logbuf *fill;
	uint64_t dropped;
	pthread_mutex_t flush_lock; /* one flush at a time */

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop, thread_on;
	pthread_t thread;
} np = {
    .snap_lock = PTHREAD_MUTEX_INITIALIZER,
    .chg_lock = PTHREAD_MUTEX_INITIALIZER,
    .log_lock = PTHREAD_MUTEX_INITIALIZER,
    .flush_lock = PTHREAD_MUTEX_INITIALIZER,
    .stop_lock = PTHREAD_MUTEX_INITIALIZER,
    .stop_cond = PTHREAD_COND_INITIALIZER,
};

/* What netpol_get() hands out before netpol_init(): no rules (default deny); never freed. */
static struct netpol_snapshot empty_snapshot = {.refs = 1};

static void seterr(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- snapshots ---- */

static void snapshot_free(struct netpol_snapshot *s)
{
	if (!s || s == &empty_snapshot)
		return;
	free(s->rules);
	free(s);
}

struct netpol_snapshot *netpol_get(void)
{
	pthread_mutex_lock(&np.snap_lock);
	struct netpol_snapshot *s = np.cur ? np.cur : &empty_snapshot;
	s->refs++;
	pthread_mutex_unlock(&np.snap_lock);
	return s;
}

void netpol_put(struct netpol_snapshot *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&np.snap_lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&np.snap_lock);
	if (last)
		snapshot_free(s);
}

/* Count the comma-separated items of @list (an upper bound for the parsers). */
static size_t list_items(const char *list)
{
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}

/* Parse one stored resource list item by item: a bad item (a database edited by hand, or a
 * pattern an older sbxd accepted) is logged and skipped, never fatal for the other rules. */
static size_t parse_stored(const struct store_policy *p, struct pol_pattern *out, size_t max)
{
	char item[POL_PATTERN_MAX + 8], err[256];
	const char *s = p->resources;
	size_t n = 0;

	while (*s && n < max) {
		size_t len = strcspn(s, ",");
		if (len < sizeof(item)) {
			memcpy(item, s, len);
			item[len] = '\0';
			if (pol_pattern_parse(item, &out[n], err, sizeof(err)) == 0)
				n++;
			else
				sbx_log("policy %s: skipping stored resource: %s", p->name, err);
		} else {
			sbx_log("policy %s: skipping a stored resource of %zu bytes", p->name, len);
		}
		s += len + (s[len] == ',');
	}
	return n;
}

/* Build a snapshot from the store. Caller holds chg_lock. Return it, or NULL on error. */
static struct netpol_snapshot *snapshot_build(void)
{
	struct store_policy *ps;
	size_t np_, total = 0;
	char preset[16];

	if (store_policy_list(np.db, &ps, &np_) < 0 ||
	    store_policy_get_preset(np.db, preset, sizeof(preset)) < 0)
		return NULL;
	for (size_t i = 0; i < np_; i++)
		total += list_items(ps[i].resources);
	struct netpol_snapshot *s = calloc(1, sizeof(*s));
	struct pol_pattern *pats = malloc(NETPOL_RESOURCES_MAX * sizeof(*pats));
	if (s && total)
		s->rules = calloc(total, sizeof(*s->rules));
	if (!s || !pats || (total && !s->rules)) {
		free(pats);
		snapshot_free(s);
		store_policy_free(ps, np_);
		return NULL;
	}
	for (size_t i = 0; i < np_; i++) {
		size_t k = parse_stored(&ps[i], pats, NETPOL_RESOURCES_MAX);
		for (size_t j = 0; j < k && s->n < total; j++) {
			struct pol_rule *r = &s->rules[s->n++];
			r->id = ps[i].id;
			r->decision = strcmp(ps[i].decision, "deny") == 0 ? POL_DENY : POL_ALLOW;
			r->pat = pats[j];
			snprintf(r->scope, sizeof(r->scope), "%s", ps[i].scope);
			snprintf(r->origin, sizeof(r->origin), "%s", ps[i].origin);
		}
	}
	snprintf(s->preset, sizeof(s->preset), "%s", preset);
	s->refs = 1; /* held by np.cur */
	free(pats);
	store_policy_free(ps, np_);
	return s;
}

/* Rebuild and swap the snapshot. Caller holds chg_lock. Return 0 or -1 (old one stays). */
static int snapshot_rebuild(void)
{
	struct netpol_snapshot *s = snapshot_build();
	if (!s) {
		sbx_log("network policy: cannot rebuild the rules (state database error); the "
			"previous rules stay in force");
		return -1;
	}
	pthread_mutex_lock(&np.snap_lock);
	struct netpol_snapshot *old = np.cur;
	np.cur = s;
	bool last = old && --old->refs == 0;
	pthread_mutex_unlock(&np.snap_lock);
	if (last)
		snapshot_free(old);
	return 0;
}

void netpol_rule_name(const struct netpol_snapshot *s, const struct pol_rule *r, char *out,
		      size_t len)
{
	if (strcmp(r->origin, "preset") == 0)
		snprintf(out, len, "preset-%s", s->preset[0] ? s->preset : "none");
	else
		snprintf(out, len, "%s-%lld", r->decision == POL_DENY ? "deny" : "allow",
			 (long long)r->id);
}

/* ---- the decision log ---- */

static uint32_t fnv(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u; /* a field separator */
}

static uint32_t row_hash(const struct store_log_row *r)
{
	uint32_t h = 2166136261u;
	h = fnv(h, r->sandbox);
	h = fnv(h, r->host);
	h = fnv(h, r->proxy);
	h = fnv(h, r->rule);
	h = fnv(h, r->reason);
	return (h ^ r->port ^ (r->allowed ? 0x10000u : 0)) * 16777619u;
}

static bool row_same(const struct store_log_row *a, const struct store_log_row *b)
{
	return a->port == b->port && a->allowed == b->allowed &&
	       strcmp(a->sandbox, b->sandbox) == 0 && strcmp(a->host, b->host) == 0 &&
	       strcmp(a->proxy, b->proxy) == 0 && strcmp(a->rule, b->rule) == 0 &&
	       strcmp(a->reason, b->reason) == 0;
}

void netpol_log(const struct netpol_event *ev)
{
	struct store_log_row r;

	if (!ev)
		return;
	memset(&r, 0, sizeof(r));
	snprintf(r.sandbox, sizeof(r.sandbox), "%s", ev->sandbox ? ev->sandbox : "");
	snprintf(r.host, sizeof(r.host), "%s", ev->host ? ev->host : "");
	snprintf(r.proxy, sizeof(r.proxy), "%s", ev->proxy ? ev->proxy : "");
	snprintf(r.rule, sizeof(r.rule), "%s", ev->rule ? ev->rule : "");
	snprintf(r.reason, sizeof(r.reason), "%s", ev->reason ? ev->reason : "");
	r.port = ev->port;
	r.allowed = ev->allowed;
	r.count = 1;
	r.bytes = ev->bytes;
	r.first_seen = r.last_seen = (int64_t)time(NULL);
	uint32_t h = row_hash(&r);

	pthread_mutex_lock(&np.log_lock);
	struct logbuf *b = np.fill ? np.fill : &np.bufs[0];
	np.fill = b;
	size_t i;
	for (i = 0; i < b->n; i++)
		if (b->hash[i] == h && row_same(&b->rows[i], &r))
			break;
	if (i < b->n) {
		b->rows[i].count++;
		b->rows[i].bytes += r.bytes;
		b->rows[i].last_seen = r.last_seen;
	} else if (b->n < NETPOL_LOG_BUFFER_MAX) {
		b->rows[b->n] = r;
		b->hash[b->n++] = h;
	} else {
		np.dropped++;
	}
	pthread_mutex_unlock(&np.log_lock);
}

void netpol_flush(void)
{
	pthread_mutex_lock(&np.flush_lock);
	pthread_mutex_lock(&np.log_lock);
	struct logbuf *full = np.fill ? np.fill : &np.bufs[0];
	uint64_t dropped = np.dropped;
	bool have_db = np.db != NULL;
	if (have_db) {
		np.fill = full == &np.bufs[0] ? &np.bufs[1] : &np.bufs[0];
		np.dropped = 0;
	}
	pthread_mutex_unlock(&np.log_lock);
	if (!have_db) { /* before netpol_init(): keep counting in the buffer */
		pthread_mutex_unlock(&np.flush_lock);
		return;
	}
	if (full->n && store_policy_log_add(np.db, full->rows, full->n, NETPOL_LOG_CAP) < 0)
		sbx_log("network log: %zu row(s) lost (state database error)", full->n);
	if (dropped)
		sbx_log("network log: %llu decision(s) not logged (more than %d distinct in a "
			"second)",
			(unsigned long long)dropped, NETPOL_LOG_BUFFER_MAX);
	full->n = 0;
	pthread_mutex_unlock(&np.flush_lock);
}

static void *flusher(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&np.stop_lock);
	while (!np.stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!np.stop && pthread_cond_timedwait(&np.stop_cond, &np.stop_lock, &ts) == 0)
			;
		pthread_mutex_unlock(&np.stop_lock);
		netpol_flush();
		pthread_mutex_lock(&np.stop_lock);
	}
	pthread_mutex_unlock(&np.stop_lock);
	return NULL;
}

/* ---- presets ---- */

/* Join @n patterns canonically with ","; NULL for none or on allocation failure (*@oom). */
static char *join_patterns(const struct pol_pattern *p, size_t n, bool *oom)
{
	char one[POL_PATTERN_MAX];
	size_t cap = n * 32 + 1, len = 0;
	char *out = n ? malloc(cap) : NULL;

	*oom = n && !out;
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		pol_pattern_format(&p[i], one, sizeof(one));
		size_t l = strlen(one);
		if (len + l + 2 > cap) {
			cap = (len + l + 2) * 2;
			char *no = realloc(out, cap);
			if (!no) {
				free(out);
				*oom = true;
				return NULL;
			}
			out = no;
		}
		if (len)
			out[len++] = ',';
		memcpy(out + len, one, l + 1);
		len += l;
	}
	return out;
}

/* Whether the stored preset policy already holds exactly @res ("" / NULL: none). */
static bool preset_stored_is(const char *res)
{
	struct store_policy *all;
	size_t n, found = 0;
	bool same = true;

	if (store_policy_list(np.db, &all, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].origin, "preset") != 0)
			continue;
		found++;
		same = same && res && strcmp(all[i].resources, res) == 0;
	}
	store_policy_free(all, n);
	return found ? found == 1 && same : !res || !res[0];
}

/* Store @preset's patterns as the preset policy (@if_changed: leave the store alone when
 * it already holds them, so a restart keeps ids). Caller holds chg_lock. */
static int preset_apply(const char *preset, bool if_changed, size_t *npat, char *err, size_t errlen)
{
	struct pol_pattern *pats = NULL;
	size_t n = 0;
	char perr[512];
	bool oom;

	if (strcmp(preset, "allow-all") != 0 && strcmp(preset, "balanced") != 0 &&
	    strcmp(preset, "deny-all") != 0) {
		seterr(err, errlen, "unknown preset \"%.40s\" (use one of: %s)", preset,
		       POL_PRESET_NAMES);
		return 400;
	}
	if (pol_preset_load(preset, np.preset_dir, &pats, &n, perr, sizeof(perr)) < 0) {
		seterr(err, errlen, "cannot load preset %s: %s (reinstall sbx, or fix the file)",
		       preset, perr);
		return 500;
	}
	char *res = join_patterns(pats, n, &oom);
	free(pats);
	if (oom) {
		seterr(err, errlen, "cannot set preset %s: out of memory", preset);
		return 500;
	}
	int rc =
	    if_changed && preset_stored_is(res) ? 0 : store_policy_set_preset(np.db, preset, res);
	free(res);
	if (rc < 0) {
		seterr(err, errlen, "cannot set preset %s: state database error (see sbxd.log)",
		       preset);
		return 500;
	}
	if (npat)
		*npat = n;
	return 200;
}

/* ---- init and teardown ---- */

int netpol_init(struct sbxd_ctx *ctx)
{
	char dbp[PATH_MAX], preset[16], err[SBX_ERR_MAX];

	if (np.db) {
		sbx_err("network policy: initialized twice (a bug in sbxd)");
		return -1;
	}
	if (sbx_path_join(dbp, "%s/sbx.db", ctx->paths.data) < 0 ||
	    sbx_path_join(np.preset_dir, "%s/images/policy", ctx->paths.libdir) < 0) {
		sbx_err("network policy: path too long: %s (use a shorter SBX_HOME)",
			ctx->paths.data);
		return -1;
	}
	if (store_policy_open(dbp, &np.db) < 0)
		return -1;
	pthread_mutex_lock(&np.chg_lock);
	/* A chosen preset follows the installed list: an upgraded balanced.rules applies at
	 * the next start. If it cannot be read, the stored copy stays in force. */
	if (store_policy_get_preset(np.db, preset, sizeof(preset)) == 0 && preset[0] &&
	    preset_apply(preset, true, NULL, err, sizeof(err)) != 200)
		sbx_log("network policy: %s; keeping the stored preset rules", err);
	int rc = snapshot_rebuild();
	pthread_mutex_unlock(&np.chg_lock);
	if (rc < 0) {
		sbx_err("network policy: cannot load the rules from %s (see above)", dbp);
		store_policy_close(np.db);
		np.db = NULL;
		return -1;
	}
	np.stop = false;
	int e = pthread_create(&np.thread, NULL, flusher, NULL);
	if (e) {
		sbx_err("network policy: cannot start the log flusher: %s", strerror(e));
		return -1;
	}
	np.thread_on = true;
	struct netpol_snapshot *s = netpol_get();
	sbx_log("network policy: %zu rule(s), default %s", s->n,
		s->preset[0] ? s->preset : "deny (no preset chosen yet)");
	netpol_put(s);
	return 0;
}

void netpol_close(void)
{
	if (np.thread_on) {
		pthread_mutex_lock(&np.stop_lock);
		np.stop = true;
		pthread_cond_broadcast(&np.stop_cond);
		pthread_mutex_unlock(&np.stop_lock);
		pthread_join(np.thread, NULL);
		np.thread_on = false;
	}
	netpol_flush();
	pthread_mutex_lock(&np.snap_lock);
	struct netpol_snapshot *old = np.cur;
	np.cur = NULL;
	bool last = old && --old->refs == 0;
	pthread_mutex_unlock(&np.snap_lock);
	if (last)
		snapshot_free(old);
	pthread_mutex_lock(&np.flush_lock);
	pthread_mutex_lock(&np.log_lock);
	store_policy_close(np.db);
	np.db = NULL;
	pthread_mutex_unlock(&np.log_lock);
	pthread_mutex_unlock(&np.flush_lock);
}

/* ---- changes from the API ---- */

static bool decision_valid(const char *d)
{
	return d && (strcmp(d, "allow") == 0 || strcmp(d, "deny") == 0);
}

/* Parse @list into a malloc'd array of distinct patterns. Return the count, or -1 + @err. */
static long parse_list(const char *list, struct pol_pattern **out, char *err, size_t errlen)
{
	char perr[512];
	size_t n = 0, max = list_items(list);

	*out = NULL;
	if (max > NETPOL_RESOURCES_MAX)
		max = NETPOL_RESOURCES_MAX + 1; /* let the parser say "too many" */
	struct pol_pattern *p = malloc(max * sizeof(*p));
	if (!p) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (pol_pattern_list_parse(list, p, max > NETPOL_RESOURCES_MAX ? NETPOL_RESOURCES_MAX : max,
				   &n, perr, sizeof(perr)) < 0) {
		seterr(err, errlen,
		       "bad resource: %s (patterns: host, *.domain, **.domain, **, IP, CIDR, each "
		       "with an optional :PORT)",
		       perr);
		free(p);
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < k && !pol_pattern_equal(&p[j], &p[i]); j++)
			;
		if (j == k)
			p[k++] = p[i];
	}
	*out = p;
	return (long)k;
}

int netpol_policy_add(const char *decision, const char *resources, const char *scope,
		      struct store_policy *out, char *err, size_t errlen)
{
	struct pol_pattern *pats;
	struct store_policy *all;
	size_t nall;
	bool oom;
	int status = 500;

	memset(out, 0, sizeof(*out));
	if (!scope)
		scope = "";
	if (!decision_valid(decision)) {
		seterr(err, errlen, "bad decision \"%.20s\" (use allow or deny)",
		       decision ? decision : "");
		return 400;
	}
	if (scope[0] && !store_name_valid(scope)) {
		seterr(err, errlen, "bad sandbox name \"%.60s\" (see sbx ls)", scope);
		return 400;
	}
	if (!resources || !resources[strspn(resources, " \t")]) {
		seterr(err, errlen, "no resources given (e.g. \"api.example.com,*.example.org\")");
		return 400;
	}
	long n = parse_list(resources, &pats, err, errlen);
	if (n < 0)
		return 400;
	char *res = join_patterns(pats, (size_t)n, &oom);
	free(pats);
	if (!res) {
		seterr(err, errlen, "out of memory");
		return 500;
	}
	pthread_mutex_lock(&np.chg_lock);
	if (!np.db || store_policy_list(np.db, &all, &nall) < 0) {
		seterr(err, errlen, "cannot add the policy: state database error (see sbxd.log)");
		goto out;
	}
	for (size_t i = 0; i < nall; i++) {
		if (strcmp(all[i].origin, "user") == 0 && strcmp(all[i].decision, decision) == 0 &&
		    strcmp(all[i].scope, scope) == 0 && strcmp(all[i].resources, res) == 0) {
			*out = all[i];
			all[i].resources = NULL;
			status = 200;
			break;
		}
	}
	store_policy_free(all, nall);
	if (status == 200)
		goto out;
	snprintf(out->decision, sizeof(out->decision), "%s", decision);
	snprintf(out->scope, sizeof(out->scope), "%s", scope);
	snprintf(out->origin, sizeof(out->origin), "user");
	out->resources = res;
	if (store_policy_insert(np.db, out) != 0) {
		out->resources = NULL;
		seterr(err, errlen, "cannot add the policy: state database error (see sbxd.log)");
		goto out;
	}
	res = NULL;
	snapshot_rebuild();
	status = 201;
out:
	pthread_mutex_unlock(&np.chg_lock);
	free(res);
	return status;
}

int netpol_policy_list(struct store_policy **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return np.db ? store_policy_list(np.db, out, n) : -1;
}

int netpol_policy_remove(const char *name_or_id, char *err, size_t errlen)
{
	struct store_policy *all;
	size_t n;
	int status = 404;
	char *end;

	if (!name_or_id || !name_or_id[0]) {
		seterr(err, errlen, "no policy name given (see sbx policy ls)");
		return 400;
	}
	errno = 0;
	long long id = strtoll(name_or_id, &end, 10);
	bool by_id = *end == '\0' && errno == 0 && name_or_id[0] >= '0' && name_or_id[0] <= '9';
	pthread_mutex_lock(&np.chg_lock);
	if (!np.db || store_policy_list(np.db, &all, &n) < 0) {
		seterr(err, errlen, "cannot remove the policy: state database error");
		pthread_mutex_unlock(&np.chg_lock);
		return 500;
	}
	seterr(err, errlen, "no policy named %.60s (see sbx policy ls)", name_or_id);
	for (size_t i = 0; i < n; i++) {
		if (by_id ? all[i].id != id : strcmp(all[i].name, name_or_id) != 0)
			continue;
		if (strcmp(all[i].origin, "preset") == 0) {
			seterr(err, errlen,
			       "%s comes from the default preset (change it with sbx policy "
			       "set-default, or add a deny rule)",
			       all[i].name);
			status = 400;
		} else if (store_policy_delete(np.db, all[i].id) < 0) {
			seterr(err, errlen, "cannot remove %s: state database error", all[i].name);
			status = 500;
		} else {
			snapshot_rebuild();
			status = 204;
		}
		break;
	}
	store_policy_free(all, n);
	pthread_mutex_unlock(&np.chg_lock);
	return status;
}

int netpol_policy_remove_resource(const char *decision, const char *resources, const char *scope,
				  unsigned *changed, char *err, size_t errlen)
{
	struct pol_pattern *drop, *pats = NULL;
	struct store_policy *all = NULL;
	size_t n = 0;
	int status = 500;
	bool oom;

	*changed = 0;
	if (!scope)
		scope = "";
	if (decision && !decision_valid(decision)) {
		seterr(err, errlen, "bad decision \"%.20s\" (use allow or deny)", decision);
		return 400;
	}
	if (!resources || !resources[strspn(resources, " \t")]) {
		seterr(err, errlen, "no resource given (e.g. --resource api.example.com)");
		return 400;
	}
	long nd = parse_list(resources, &drop, err, errlen);
	if (nd < 0)
		return 400;
	pats = malloc(NETPOL_RESOURCES_MAX * sizeof(*pats));
	pthread_mutex_lock(&np.chg_lock);
	if (!pats || !np.db || store_policy_list(np.db, &all, &n) < 0) {
		seterr(err, errlen, "cannot remove: state database error");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_policy *p = &all[i];
		if (strcmp(p->origin, "user") != 0 || strcmp(p->scope, scope) != 0 ||
		    (decision && strcmp(p->decision, decision) != 0))
			continue;
		size_t k = parse_stored(p, pats, NETPOL_RESOURCES_MAX), kept = 0;
		for (size_t j = 0; j < k; j++) {
			bool hit = false;
			for (long d = 0; d < nd && !hit; d++)
				hit = pol_pattern_equal(&pats[j], &drop[d]);
			if (!hit)
				pats[kept++] = pats[j];
		}
		if (kept == k)
			continue;
		int rc;
		if (kept == 0) {
			rc = store_policy_delete(np.db, p->id);
		} else {
			char *res = join_patterns(pats, kept, &oom);
			rc = res ? store_policy_set_resources(np.db, p->id, res) : -1;
			free(res);
		}
		if (rc < 0) {
			seterr(err, errlen, "cannot change %s: state database error", p->name);
			goto rebuild;
		}
		(*changed)++;
	}
	status = *changed ? 204 : 404;
	if (!*changed)
		seterr(err, errlen, "no %s%spolicy %s%s has %.200s (see sbx policy ls)",
		       decision ? decision : "", decision ? " " : "",
		       scope[0] ? "of sandbox " : "global", scope, resources);
rebuild:
	if (*changed)
		snapshot_rebuild();
out:
	pthread_mutex_unlock(&np.chg_lock);
	store_policy_free(all, n);
	free(pats);
	free(drop);
	return status;
}

void netpol_preset_get(char *out, size_t len)
{
	struct netpol_snapshot *s = netpol_get();
	snprintf(out, len, "%s", s->preset);
	netpol_put(s);
}

int netpol_preset_set(const char *preset, size_t *npatterns, char *err, size_t errlen)
{
	if (!np.db) {
		seterr(err, errlen, "network policy is not initialized");
		return 500;
	}
	pthread_mutex_lock(&np.chg_lock);
	int st = preset_apply(preset ? preset : "", false, npatterns, err, errlen);
	if (st == 200)
		snapshot_rebuild();
	pthread_mutex_unlock(&np.chg_lock);
	return st;
}

int netpol_reset(char *err, size_t errlen)
{
	int st = 500;

	netpol_flush(); /* nothing buffered comes back after the reset */
	pthread_mutex_lock(&np.chg_lock);
	if (np.db && store_policy_reset(np.db) == 0) {
		snapshot_rebuild();
		st = 204;
	} else {
		seterr(err, errlen, "cannot reset the network policy: state database error");
	}
	pthread_mutex_unlock(&np.chg_lock);
	return st;
}

int netpol_log_list(const char *sandbox, struct store_log_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!np.db)
		return -1;
	netpol_flush();
	return store_policy_log_list(np.db, sandbox, out, n);
}

void netpol_sandbox_removed(const char *name)
{
	if (!np.db || !name || !name[0])
		return;
	netpol_flush();
	pthread_mutex_lock(&np.chg_lock);
	if (store_policy_forget_sandbox(np.db, name) < 0)
		sbx_log("network policy: cannot forget the rules of %s (state database error)",
			name);
	else
		snapshot_rebuild();
	pthread_mutex_unlock(&np.chg_lock);
}
