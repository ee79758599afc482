/* Unit tests for src/daemon/store_policy.c and src/daemon/netpol.c on a temporary database:
 * schema 2 -> 4 migration, policy round trip and names, snapshot expansion, presets, the
 * decision log (counting, flush, cap), sandbox removal, reset and snapshot lifetimes. */
#include "daemon/netpol.h"
#include "daemon/sandbox.h"
#include "daemon/store_policy.h"
#include "t.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/sbx-netpol-test-XXXXXX";
static struct sbxd_ctx ctx;
static char err[1024];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Rules of the current snapshot with @origin, and how many. */
static size_t count_rules(const char *origin)
{
	struct netpol_snapshot *s = netpol_get();
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += strcmp(s->rules[i].origin, origin) == 0;
	netpol_put(s);
	return n;
}

static bool allowed(const char *sandbox, const char *host, uint16_t port)
{
	struct netpol_snapshot *s = netpol_get();
	struct pol_verdict v = pol_decide(s->rules, s->n, sandbox, host, NULL, port);
	netpol_put(s);
	return v.decision == POL_ALLOW;
}

/* A database of the shares era (schema 2) gains the policy tables; an unmigrated one is
 * refused by store_policy_open(). */
TEST(migrate_v2)
{
	char path[300];
	sqlite3 *db;
	struct store *st;
	struct store_pdb *pdb = NULL;
	sqlite3_stmt *s;

	snprintf(path, sizeof(path), "%s/v2.db", dir);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(
	    sqlite3_exec(db,
			 "CREATE TABLE sandboxes (id TEXT PRIMARY KEY, name TEXT NOT NULL "
			 "UNIQUE, agent TEXT NOT NULL, workspace TEXT NOT NULL, memory_mib "
			 "INTEGER NOT NULL, cpus INTEGER NOT NULL, engine TEXT NOT NULL, accel "
			 "TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'stopped', "
			 "created_at INTEGER NOT NULL, vmm_pid INTEGER NOT NULL DEFAULT 0, "
			 "vmm_start INTEGER NOT NULL DEFAULT 0, vhost_pid INTEGER NOT NULL "
			 "DEFAULT 0, vhost_start INTEGER NOT NULL DEFAULT 0, run_dir TEXT NOT "
			 "NULL DEFAULT '', mounts TEXT NOT NULL DEFAULT '');"
			 "INSERT INTO sandboxes (id, name, agent, workspace, memory_mib, cpus, "
			 "engine, created_at) VALUES ('0000000d', 'old', 'shell', '/w', 512, 1, "
			 "'qemu', 1700000000);"
			 "PRAGMA user_version=2;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(store_policy_open(path, &pdb), -1); /* not migrated yet */
	CHECK(pdb == NULL);
	CHECK_EQ(store_open(path, &st), 0);
	CHECK_EQ(store_policy_open(path, &pdb), 0);
	store_policy_close(pdb);
	store_close(st);
	CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	CHECK_EQ(sqlite3_step(s), SQLITE_ROW);
	CHECK_EQ(sqlite3_column_int(s, 0), 4);
	sqlite3_finalize(s);
	sqlite3_close(db);
	/* a migrated database reopens as it is */
	CHECK_EQ(store_open(path, &st), 0);
	store_close(st);
}

TEST(store_roundtrip)
{
	char path[300];
	struct store *st;
	struct store_pdb *db;
	struct store_policy a = {0}, b = {0}, c = {0}, *all;
	size_t n;
	char preset[16];

	snprintf(path, sizeof(path), "%s/rt.db", dir);
	CHECK_EQ(store_open(path, &st), 0);
	CHECK_EQ(store_policy_open(path, &db), 0);
	snprintf(a.decision, sizeof(a.decision), "allow");
	snprintf(a.origin, sizeof(a.origin), "user");
	a.resources = "a.com,*.b.com";
	CHECK_EQ(store_policy_insert(db, &a), 0);
	CHECK(a.id > 0);
	char want[64];
	snprintf(want, sizeof(want), "allow-%lld", (long long)a.id);
	CHECK_STR(a.name, want);
	CHECK(a.created_at > 0);
	snprintf(b.decision, sizeof(b.decision), "deny");
	snprintf(b.origin, sizeof(b.origin), "user");
	snprintf(b.scope, sizeof(b.scope), "sb1");
	b.resources = "x.com";
	CHECK_EQ(store_policy_insert(db, &b), 0);
	snprintf(want, sizeof(want), "deny-%lld", (long long)b.id);
	CHECK_STR(b.name, want);
	/* a taken name is refused, and leaves nothing behind */
	c = b;
	CHECK_EQ(store_policy_insert(db, &c), 1);
	/* a bad decision is refused by the schema */
	c = a;
	c.name[0] = '\0';
	snprintf(c.decision, sizeof(c.decision), "maybe");
	CHECK(store_policy_insert(db, &c) != 0);

	CHECK_EQ(store_policy_list(db, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STR(all[0].resources, "a.com,*.b.com");
		CHECK_STR(all[1].scope, "sb1");
		CHECK_STR(all[1].decision, "deny");
	}
	store_policy_free(all, n);

	CHECK_EQ(store_policy_set_resources(db, a.id, "a.com"), 0);
	CHECK_EQ(store_policy_set_resources(db, 9999, "a.com"), 1);
	CHECK_EQ(store_policy_delete(db, b.id), 0);
	CHECK_EQ(store_policy_delete(db, b.id), 1);

	CHECK_EQ(store_policy_get_preset(db, preset, sizeof(preset)), 0);
	CHECK_STR(preset, "");
	CHECK_EQ(store_policy_set_preset(db, "allow-all", "**"), 0);
	CHECK_EQ(store_policy_set_preset(db, "deny-all", NULL), 0); /* replaces, adds none */
	CHECK_EQ(store_policy_get_preset(db, preset, sizeof(preset)), 0);
	CHECK_STR(preset, "deny-all");
	CHECK_EQ(store_policy_list(db, &all, &n), 0);
	CHECK_EQ(n, 1);
	if (n == 1)
		CHECK_STR(all[0].resources, "a.com");
	store_policy_free(all, n);

	/* ids are never reused: a later policy never inherits a removed one's name */
	struct store_policy d = {0};
	snprintf(d.decision, sizeof(d.decision), "deny");
	snprintf(d.origin, sizeof(d.origin), "user");
	d.resources = "y.com";
	CHECK_EQ(store_policy_insert(db, &d), 0);
	CHECK(d.id > b.id);

	CHECK_EQ(store_policy_reset(db), 0);
	CHECK_EQ(store_policy_list(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	store_policy_free(all, n);
	CHECK_EQ(store_policy_get_preset(db, preset, sizeof(preset)), 0);
	CHECK_STR(preset, "");
	store_policy_close(db);
	store_close(st);
}

static void row(struct store_log_row *r, const char *host, int64_t t)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->sandbox, sizeof(r->sandbox), "sb");
	snprintf(r->host, sizeof(r->host), "%s", host);
	snprintf(r->proxy, sizeof(r->proxy), "connect");
	r->port = 443;
	r->count = 1;
	r->first_seen = r->last_seen = t;
}

TEST(log_cap)
{
	char path[300], host[32];
	struct store *st;
	struct store_pdb *db;
	struct store_log_row rows[10], *out;
	size_t n;

	snprintf(path, sizeof(path), "%s/cap.db", dir);
	CHECK_EQ(store_open(path, &st), 0);
	CHECK_EQ(store_policy_open(path, &db), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(host, sizeof(host), "h%d.com", i);
		row(&rows[i], host, 1000 + i);
	}
	CHECK_EQ(store_policy_log_add(db, rows, 10, 5), 0);
	CHECK_EQ(store_policy_log_list(db, NULL, &out, &n), 0);
	CHECK_EQ(n, 5); /* the five most recently seen stay */
	if (n == 5) {
		CHECK_STR(out[0].host, "h9.com");
		CHECK_STR(out[4].host, "h5.com");
	}
	free(out);
	/* an old host seen again counts up and moves to the front; the cap still holds */
	row(&rows[0], "h5.com", 2000);
	rows[0].count = 2;
	rows[0].bytes = 100;
	row(&rows[1], "new.com", 1999);
	CHECK_EQ(store_policy_log_add(db, rows, 2, 5), 0);
	CHECK_EQ(store_policy_log_list(db, "sb", &out, &n), 0);
	CHECK_EQ(n, 5);
	if (n == 5) {
		CHECK_STR(out[0].host, "h5.com");
		CHECK_EQ(out[0].count, 3);
		CHECK_EQ(out[0].bytes, 100);
		CHECK_EQ(out[0].first_seen, 1005);
		CHECK_EQ(out[0].last_seen, 2000);
		CHECK_STR(out[1].host, "new.com");
		CHECK_STR(out[4].host, "h7.com"); /* h6 went */
	}
	free(out);
	CHECK_EQ(store_policy_log_list(db, "other", &out, &n), 0);
	CHECK_EQ(n, 0);
	free(out);
	store_policy_close(db);
	store_close(st);
}

/* netpol on a database (@fresh: a new one) with a two-line balanced list. */
static int np_open(bool fresh)
{
	char path[PATH_MAX + 16];
	memset(&ctx, 0, sizeof(ctx));
	snprintf(path, sizeof(path), "rm -rf '%s/np'", dir);
	if (fresh && system(path) != 0)
		return -1;
	snprintf(ctx.paths.data, sizeof(ctx.paths.data), "%s/np", dir);
	snprintf(ctx.paths.libdir, sizeof(ctx.paths.libdir), "%s/lib", dir);
	mkdir(ctx.paths.data, 0700);
	snprintf(path, sizeof(path), "%s/lib", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lib/images", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lib/images/policy", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lib/images/policy/balanced.rules", dir);
	write_file(path, "# test list\napi.anthropic.com\n*.npmjs.org:443\n");
	snprintf(path, sizeof(path), "%s/sbx.db", ctx.paths.data);
	if (store_open(path, &ctx.store) < 0)
		return -1;
	return netpol_init(&ctx);
}

/* The id of the (one) preset policy, or 0. */
static int64_t preset_id(void)
{
	struct store_policy *all;
	size_t n;
	int64_t id = 0;
	if (netpol_policy_list(&all, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].origin, "preset") == 0)
			id = all[i].id;
	store_policy_free(all, n);
	return id;
}

static void np_close(void)
{
	netpol_close();
	store_close(ctx.store);
	ctx.store = NULL;
}

TEST(snapshot_expansion)
{
	struct store_policy p;

	CHECK_EQ(np_open(true), 0);
	struct netpol_snapshot *s0 = netpol_get();
	CHECK_EQ(s0->n, 0);
	CHECK_STR(s0->preset, "");
	CHECK(!allowed("sb", "a.com", 443)); /* nothing chosen: default deny */

	CHECK_EQ(
	    netpol_policy_add("allow", " A.com. , *.b.com:443,a.com", NULL, &p, err, sizeof(err)),
	    201);
	CHECK_STR(p.resources, "a.com,*.b.com:443"); /* canonical, duplicate folded */
	CHECK_STR(p.origin, "user");
	CHECK_STR(p.scope, "");
	int64_t id = p.id;
	free(p.resources);

	struct netpol_snapshot *s = netpol_get();
	CHECK_EQ(s->n, 2); /* one policy, two resources -> two rules */
	if (s->n == 2) {
		CHECK_EQ(s->rules[0].id, id);
		CHECK_EQ(s->rules[1].id, id);
		CHECK_EQ(s->rules[0].decision, POL_ALLOW);
		CHECK_EQ(s->rules[1].pat.port, 443);
		char name[64];
		netpol_rule_name(s, &s->rules[0], name, sizeof(name));
		char want[64];
		snprintf(want, sizeof(want), "allow-%lld", (long long)id);
		CHECK_STR(name, want);
	}
	netpol_put(s);
	/* the snapshot held before the change is still whole and unchanged */
	CHECK_EQ(s0->n, 0);
	netpol_put(s0);

	CHECK(allowed("sb", "a.com", 443));
	CHECK(allowed("sb", "x.b.com", 443));
	CHECK(!allowed("sb", "x.b.com", 80));
	CHECK(!allowed("sb", "sub.a.com", 443));

	/* the same policy again: 200 with the existing one, nothing added */
	CHECK_EQ(netpol_policy_add("allow", "a.com,*.b.com:443", "", &p, err, sizeof(err)), 200);
	CHECK_EQ(p.id, id);
	free(p.resources);
	CHECK_EQ(count_rules("user"), 2);

	/* deny wins, per sandbox */
	CHECK_EQ(netpol_policy_add("deny", "a.com", "sb1", &p, err, sizeof(err)), 201);
	free(p.resources);
	CHECK(!allowed("sb1", "a.com", 443));
	CHECK(allowed("sb2", "a.com", 443));

	/* bad input names the item */
	CHECK_EQ(netpol_policy_add("allow", "ok.com,a..b", NULL, &p, err, sizeof(err)), 400);
	CHECK(strstr(err, "a..b") != NULL);
	CHECK(strstr(err, "item 2") != NULL);
	CHECK_EQ(netpol_policy_add("maybe", "ok.com", NULL, &p, err, sizeof(err)), 400);
	CHECK_EQ(netpol_policy_add("allow", "  ", NULL, &p, err, sizeof(err)), 400);
	CHECK_EQ(netpol_policy_add("allow", "ok.com", "Bad Name", &p, err, sizeof(err)), 400);
	CHECK_EQ(netpol_policy_add("allow", "10.1.0.0/8", NULL, &p, err, sizeof(err)), 400);
	CHECK_EQ(count_rules("user"), 3);
	np_close();
}

TEST(presets)
{
	struct store_policy p;
	size_t n = 0;
	char preset[16];

	CHECK_EQ(np_open(true), 0);
	CHECK_EQ(netpol_policy_add("allow", "mine.com", NULL, &p, err, sizeof(err)), 201);
	free(p.resources);
	CHECK_EQ(netpol_preset_set("balanced", &n, err, sizeof(err)), 200);
	CHECK_EQ(n, 2);
	CHECK_EQ(count_rules("preset"), 2);
	CHECK_EQ(count_rules("user"), 1);
	netpol_preset_get(preset, sizeof(preset));
	CHECK_STR(preset, "balanced");
	CHECK(allowed("sb", "api.anthropic.com", 443));
	CHECK(allowed("sb", "registry.npmjs.org", 443));
	CHECK(!allowed("sb", "registry.npmjs.org", 80));
	CHECK(!allowed("sb", "evil.com", 443));

	struct netpol_snapshot *s = netpol_get();
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->rules[i].origin, "preset") == 0) {
			char name[64];
			netpol_rule_name(s, &s->rules[i], name, sizeof(name));
			CHECK_STR(name, "preset-balanced");
		}
	}
	netpol_put(s);

	CHECK_EQ(netpol_preset_set("allow-all", &n, err, sizeof(err)), 200);
	CHECK_EQ(n, 1);
	CHECK_EQ(count_rules("preset"), 1);
	CHECK(allowed("sb", "evil.com", 443));
	CHECK_EQ(count_rules("user"), 1);

	CHECK_EQ(netpol_preset_set("deny-all", &n, err, sizeof(err)), 200);
	CHECK_EQ(n, 0);
	CHECK_EQ(count_rules("preset"), 0);
	CHECK(!allowed("sb", "evil.com", 443));
	CHECK(allowed("sb", "mine.com", 443));

	CHECK_EQ(netpol_preset_set("nonsense", &n, err, sizeof(err)), 400);
	CHECK(strstr(err, "balanced") != NULL);
	netpol_preset_get(preset, sizeof(preset));
	CHECK_STR(preset, "deny-all");

	/* a preset policy is changed only through set-default */
	CHECK_EQ(netpol_preset_set("balanced", &n, err, sizeof(err)), 200);
	CHECK_EQ(netpol_policy_remove("preset-balanced", err, sizeof(err)), 400);

	/* the choice and the rules survive a restart, with the same ids */
	int64_t pid = preset_id();
	CHECK(pid > 0);
	np_close();
	CHECK_EQ(np_open(false), 0);
	netpol_preset_get(preset, sizeof(preset));
	CHECK_STR(preset, "balanced");
	CHECK_EQ(count_rules("preset"), 2);
	CHECK_EQ(count_rules("user"), 1);
	CHECK_EQ(preset_id(), pid);

	/* an edited (upgraded) balanced list applies at the next start */
	np_close();
	CHECK_EQ(np_open(false), 0); /* np_open rewrites the two-line list: unchanged */
	CHECK_EQ(preset_id(), pid);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/lib/images/policy/balanced.rules", dir);
	write_file(path, "api.anthropic.com\n*.npmjs.org:443\npypi.org\n");
	netpol_close(); /* restart without np_open's rewrite */
	CHECK_EQ(netpol_init(&ctx), 0);
	CHECK_EQ(count_rules("preset"), 3);
	CHECK(allowed("sb", "pypi.org", 443));
	CHECK(preset_id() != pid);

	/* an unreadable list fails set-default and keeps what was in force */
	write_file(path, "ok.com\nbad..name\n");
	CHECK_EQ(netpol_preset_set("balanced", &n, err, sizeof(err)), 500);
	CHECK(strstr(err, "bad..name") != NULL);
	CHECK_EQ(count_rules("preset"), 3);
	/* ... also at start: the stored preset rules stay in force */
	netpol_close();
	CHECK_EQ(netpol_init(&ctx), 0);
	CHECK_EQ(count_rules("preset"), 3);

	CHECK_EQ(netpol_reset(err, sizeof(err)), 204);
	netpol_preset_get(preset, sizeof(preset));
	CHECK_STR(preset, "");
	CHECK_EQ(count_rules("preset") + count_rules("user"), 0);
	np_close();
}

TEST(remove_policies)
{
	struct store_policy p;
	unsigned changed;
	char name[64];

	CHECK_EQ(np_open(true), 0);
	CHECK_EQ(netpol_policy_add("allow", "a.com,b.com,c.com", NULL, &p, err, sizeof(err)), 201);
	snprintf(name, sizeof(name), "%s", p.name);
	int64_t id = p.id;
	free(p.resources);
	CHECK_EQ(netpol_policy_add("allow", "b.com", "sb1", &p, err, sizeof(err)), 201);
	free(p.resources);

	CHECK_EQ(netpol_policy_remove_resource(NULL, "B.com.", NULL, &changed, err, sizeof(err)),
		 204);
	CHECK_EQ(changed, 1); /* the global one only, not sb1's */
	CHECK(!allowed("sb2", "b.com", 443));
	CHECK(allowed("sb1", "b.com", 443));
	CHECK(allowed("sb2", "a.com", 443));
	CHECK_EQ(netpol_policy_remove_resource("deny", "a.com", NULL, &changed, err, sizeof(err)),
		 404);
	CHECK_EQ(netpol_policy_remove_resource(NULL, "zzz.com", NULL, &changed, err, sizeof(err)),
		 404);
	CHECK_EQ(netpol_policy_remove_resource(NULL, "a..b", NULL, &changed, err, sizeof(err)),
		 400);
	/* the last resource out deletes the policy */
	CHECK_EQ(netpol_policy_remove_resource("allow", "b.com", "sb1", &changed, err, sizeof(err)),
		 204);
	CHECK(!allowed("sb1", "b.com", 443));
	CHECK_EQ(count_rules("user"), 2);

	/* by name and by id */
	char idtext[32];
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	CHECK_EQ(netpol_policy_remove("allow-99999", err, sizeof(err)), 404);
	CHECK_EQ(netpol_policy_remove(idtext, err, sizeof(err)), 204);
	CHECK_EQ(netpol_policy_remove(name, err, sizeof(err)), 404);
	CHECK_EQ(count_rules("user"), 0);
	np_close();
}

TEST(log_and_removed_sandbox)
{
	struct store_policy p;
	struct store_log_row *rows;
	size_t n;
	struct netpol_event ev = {.sandbox = "sb1",
				  .host = "a.com",
				  .port = 443,
				  .proxy = "connect",
				  .allowed = true,
				  .rule = "a.com",
				  .reason = "allowed by rule",
				  .bytes = 10};

	CHECK_EQ(np_open(true), 0);
	netpol_log(&ev);
	netpol_log(&ev);
	ev.bytes = 5;
	netpol_log(&ev);
	ev.allowed = false;
	ev.rule = "";
	ev.reason = "no rule allows it (default deny)";
	ev.bytes = 0;
	netpol_log(&ev);
	ev.sandbox = "sb2";
	netpol_log(&ev);
	netpol_log(NULL); /* ignored */

	CHECK_EQ(netpol_log_list("sb1", &rows, &n), 0); /* flushes first */
	CHECK_EQ(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].allowed) {
			CHECK_EQ(rows[i].count, 3);
			CHECK_EQ(rows[i].bytes, 25);
			CHECK_STR(rows[i].rule, "a.com");
		} else {
			CHECK_EQ(rows[i].count, 1);
			CHECK_STR(rows[i].rule, "");
		}
	}
	free(rows);
	/* logged again after a flush: counted into the same row */
	ev.sandbox = "sb1";
	netpol_log(&ev);
	netpol_flush();
	CHECK_EQ(netpol_log_list("sb1", &rows, &n), 0);
	CHECK_EQ(n, 2);
	for (size_t i = 0; i < n; i++)
		if (!rows[i].allowed)
			CHECK_EQ(rows[i].count, 2);
	free(rows);

	/* the flusher thread writes within about a second without being asked */
	ev.host = "late.com";
	netpol_log(&ev);
	usleep(1600 * 1000);
	struct store_pdb *db;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/sbx.db", ctx.paths.data);
	CHECK_EQ(store_policy_open(path, &db), 0);
	CHECK_EQ(store_policy_log_list(db, "sb1", &rows, &n), 0);
	CHECK_EQ(n, 3);
	free(rows);
	store_policy_close(db);

	/* more distinct decisions in a second than the buffer holds: the excess is dropped,
	 * never blocking the caller */
	char host[32];
	ev.sandbox = "sb3";
	ev.host = host;
	for (int i = 0; i < NETPOL_LOG_BUFFER_MAX + 20; i++) {
		snprintf(host, sizeof(host), "h%d.com", i);
		netpol_log(&ev);
	}
	CHECK_EQ(netpol_log_list("sb3", &rows, &n), 0);
	CHECK(n >= NETPOL_LOG_BUFFER_MAX && n < NETPOL_LOG_BUFFER_MAX + 20);
	free(rows);

	CHECK_EQ(netpol_policy_add("allow", "a.com", "sb1", &p, err, sizeof(err)), 201);
	free(p.resources);
	CHECK_EQ(netpol_policy_add("allow", "g.com", NULL, &p, err, sizeof(err)), 201);
	free(p.resources);
	netpol_sandbox_removed("sb1");
	CHECK_EQ(count_rules("user"), 1); /* the global one stays */
	CHECK(!allowed("sb1", "a.com", 443));
	CHECK(allowed("sb1", "g.com", 443));
	CHECK_EQ(netpol_log_list("sb1", &rows, &n), 0);
	CHECK_EQ(n, 0);
	free(rows);
	CHECK_EQ(netpol_log_list("sb2", &rows, &n), 0);
	CHECK_EQ(n, 1);
	free(rows);
	netpol_sandbox_removed(""); /* never the global scope */
	CHECK_EQ(count_rules("user"), 1);

	CHECK_EQ(netpol_reset(err, sizeof(err)), 204);
	CHECK_EQ(netpol_log_list(NULL, &rows, &n), 0);
	CHECK_EQ(n, 0);
	free(rows);
	np_close();
}

/* Before netpol_init() the egress code still gets a snapshot: no rules, default deny. */
TEST(before_init)
{
	struct netpol_snapshot *s = netpol_get();
	if (!s) {
		CHECK(s != NULL);
		return;
	}
	CHECK_EQ(s->n, 0);
	CHECK_STR(s->preset, "");
	netpol_put(s);
	s = netpol_get(); /* the empty snapshot is never freed by a put */
	CHECK(s != NULL && s->n == 0);
	netpol_put(s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(before_init);
	RUN(migrate_v2);
	RUN(store_roundtrip);
	RUN(log_cap);
	RUN(snapshot_expansion);
	RUN(presets);
	RUN(remove_policies);
	RUN(log_and_removed_sandbox);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	T_EXIT();
}
