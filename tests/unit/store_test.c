/* Unit tests for src/daemon/store.c and store_ports.c: schema creation, CRUD, ports, unique names,
 * name rules and default-name generation, on a temporary database. */
#include "daemon/store.h"
#include "daemon/store_ports.h"
#include "proto/ports.h"
#include "t.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/sbx-store-test-XXXXXX";
static char dbpath[256];

static void fill(struct sbx_sandbox *sb, const char *id, const char *name)
{
	memset(sb, 0, sizeof(*sb));
	snprintf(sb->id, sizeof(sb->id), "%s", id);
	snprintf(sb->name, sizeof(sb->name), "%s", name);
	snprintf(sb->agent, sizeof(sb->agent), "shell");
	snprintf(sb->workspace, sizeof(sb->workspace), "/home/me/proj");
	snprintf(sb->engine, sizeof(sb->engine), "qemu");
	snprintf(sb->status, sizeof(sb->status), "stopped");
	sb->memory_mib = 1024;
	sb->cpus = 2;
	sb->created_at = 1700000000;
}

TEST(crud)
{
	struct store *st;
	struct sbx_sandbox a, b, got;
	CHECK_EQ(store_open(dbpath, &st), 0);
	fill(&a, "0000000a", "shell-proj");
	CHECK_EQ(store_insert(st, &a), 0);
	CHECK_EQ(store_get(st, "shell-proj", &got), 0);
	CHECK_EQ(store_exists(st, "shell-proj"), 0);
	CHECK_EQ(store_exists(st, "no-such"), 1);
	CHECK_EQ(store_exists(st, "Bad/Name"), 1);
	CHECK_STR(got.id, "0000000a");
	CHECK_STR(got.workspace, "/home/me/proj");
	CHECK_EQ(got.memory_mib, 1024);
	CHECK_EQ(got.cpus, 2);
	CHECK_EQ(got.created_at, 1700000000);
	CHECK_STR(got.status, "stopped");
	CHECK_EQ(store_get(st, "nope", &got), 1);

	/* unique name and unique id */
	fill(&b, "0000000b", "shell-proj");
	CHECK_EQ(store_insert(st, &b), 1);
	fill(&b, "0000000a", "other");
	CHECK_EQ(store_insert(st, &b), 1);
	fill(&b, "0000000b", "other");
	b.created_at = 1700000001;
	CHECK_EQ(store_insert(st, &b), 0);

	/* state update round trip */
	snprintf(a.status, sizeof(a.status), "running");
	snprintf(a.accel, sizeof(a.accel), "tcg");
	snprintf(a.run_dir, sizeof(a.run_dir), "/run/sbx/vm/0000000a");
	a.run.vmm.pid = 1234;
	a.run.vmm.start_time = 987654321ULL;
	a.run.vhost.pid = 1233;
	a.run.vhost.start_time = 987654320ULL;
	CHECK_EQ(store_update_state(st, &a), 0);
	CHECK_EQ(store_get(st, "shell-proj", &got), 0);
	CHECK_STR(got.status, "running");
	CHECK_STR(got.accel, "tcg");
	CHECK_STR(got.run_dir, "/run/sbx/vm/0000000a");
	CHECK_EQ(got.run.vmm.pid, 1234);
	CHECK(got.run.vmm.start_time == 987654321ULL);
	CHECK_EQ(got.run.vhost.pid, 1233);

	struct sbx_sandbox *all;
	size_t n;
	CHECK_EQ(store_list(st, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STR(all[0].name, "shell-proj");
		CHECK_STR(all[1].name, "other");
	}
	free(all);

	CHECK_EQ(store_delete(st, "other"), 0);
	CHECK_EQ(store_delete(st, "other"), 1);
	fill(&b, "0000000c", "nothere");
	CHECK_EQ(store_update_state(st, &b), 1);
	store_close(st);

	/* persistence across reopen */
	CHECK_EQ(store_open(dbpath, &st), 0);
	CHECK_EQ(store_get(st, "shell-proj", &got), 0);
	CHECK_STR(got.status, "running");
	CHECK_EQ(store_list(st, &all, &n), 0);
	CHECK_EQ(n, 1);
	free(all);
	store_close(st);
}

TEST(name_rules)
{
	CHECK(store_name_valid("a"));
	CHECK(store_name_valid("shell-proj_1.x"));
	CHECK(store_name_valid("0abc"));
	CHECK(!store_name_valid(""));
	CHECK(!store_name_valid("-abc"));
	CHECK(!store_name_valid("_abc"));
	CHECK(!store_name_valid("Abc"));
	CHECK(!store_name_valid("a b"));
	CHECK(!store_name_valid("a/b"));
	CHECK(store_name_valid("a234567890123456789012345678901234567890"));   /* 40 */
	CHECK(!store_name_valid("a2345678901234567890123456789012345678901")); /* 41 */

	char out[STORE_NAME_MAX + 1];
	CHECK_EQ(store_name_sanitize("shell-My Project!!", out, STORE_NAME_MAX), 0);
	CHECK_STR(out, "shell-my-project");
	CHECK_EQ(store_name_sanitize("..Foo__bar..", out, STORE_NAME_MAX), 0);
	CHECK_STR(out, "foo__bar");
	CHECK_EQ(store_name_sanitize("---", out, STORE_NAME_MAX), -1);
	CHECK_EQ(store_name_sanitize("abcdefgh", out, 4), 0);
	CHECK_STR(out, "abcd");
	CHECK_EQ(store_name_sanitize("abc---", out, 4), 0);
	CHECK_STR(out, "abc");
}

TEST(default_names)
{
	struct store *st;
	struct sbx_sandbox sb;
	char name[STORE_NAME_MAX + 1];
	char db2[300];
	snprintf(db2, sizeof(db2), "%s/names.db", dir);
	CHECK_EQ(store_open(db2, &st), 0);
	CHECK_EQ(store_name_default(st, "shell", "/home/me/My Proj", name), 0);
	CHECK_STR(name, "shell-my-proj");
	fill(&sb, "00000001", name);
	CHECK_EQ(store_insert(st, &sb), 0);
	CHECK_EQ(store_name_default(st, "shell", "/other/My Proj", name), 0);
	CHECK_STR(name, "shell-my-proj-2");
	fill(&sb, "00000002", name);
	CHECK_EQ(store_insert(st, &sb), 0);
	CHECK_EQ(store_name_default(st, "shell", "/x/my-proj", name), 0);
	CHECK_STR(name, "shell-my-proj-3");
	CHECK_EQ(store_name_default(st, "shell", "/", name), 0);
	CHECK_STR(name, "shell");
	CHECK_EQ(store_name_default(
		     st, "claude", "/a/very-long-directory-name-that-goes-on-and-on-forever", name),
		 0);
	CHECK(strlen(name) <= STORE_NAME_MAX - 4);
	CHECK(store_name_valid(name));
	CHECK(strncmp(name, "claude-very-long", 16) == 0);
	store_close(st);
}

TEST(mounts_roundtrip)
{
	struct store *st;
	static struct sbx_sandbox a, got;
	static char text[STORE_MOUNTS_MAX * (PATH_MAX + 4)];

	CHECK_EQ(store_open(dbpath, &st), 0);
	fill(&a, "0000000c", "with-mounts");
	a.n_mounts = 3;
	snprintf(a.mounts[0].path, PATH_MAX, "/home/me/proj");
	snprintf(a.mounts[1].path, PATH_MAX, "/home/me/my docs, ro;x:y");
	a.mounts[1].readonly = true;
	snprintf(a.mounts[2].path, PATH_MAX, "/srv/data");
	CHECK_EQ(store_insert(st, &a), 0);
	CHECK_EQ(store_get(st, "with-mounts", &got), 0);
	CHECK_EQ(got.n_mounts, 3);
	CHECK_STR(got.mounts[0].path, "/home/me/proj");
	CHECK(!got.mounts[0].readonly);
	CHECK_STR(got.mounts[1].path, "/home/me/my docs, ro;x:y");
	CHECK(got.mounts[1].readonly);
	CHECK_STR(got.mounts[2].path, "/srv/data");
	CHECK(!got.mounts[2].readonly);
	/* a state update keeps the mounts */
	snprintf(got.status, sizeof(got.status), "running");
	CHECK_EQ(store_update_state(st, &got), 0);
	CHECK_EQ(store_get(st, "with-mounts", &got), 0);
	CHECK_EQ(got.n_mounts, 3);
	CHECK_EQ(store_delete(st, "with-mounts"), 0);
	store_close(st);

	/* the text form: malformed lines are skipped */
	CHECK(store_mounts_encode(&a, text, sizeof(text)) > 0);
	CHECK_STR(text, "rw /home/me/proj\nro /home/me/my docs, ro;x:y\nrw /srv/data\n");
	CHECK_EQ(store_mounts_decode("rw /a\nxx /b\nro relative\nro /c", &got), 2);
	CHECK_STR(got.mounts[1].path, "/c");
	CHECK(got.mounts[1].readonly);
	CHECK_EQ(store_mounts_decode("", &got), 0);
	CHECK_EQ(store_mounts_encode(&a, text, 10), -1);
	/* a single read-only file is "rf" */
	a.mounts[2].readonly = a.mounts[2].file = true;
	CHECK(store_mounts_encode(&a, text, sizeof(text)) > 0);
	CHECK(strstr(text, "\nrf /srv/data\n") != NULL);
	CHECK_EQ(store_mounts_decode(text, &got), 3);
	CHECK(got.mounts[2].file && got.mounts[2].readonly);
	CHECK(!got.mounts[1].file && got.mounts[1].readonly);
	CHECK(!got.mounts[0].file && !got.mounts[0].readonly);
}

/* A database made by the first sbxd (schema 1, no mounts column) opens, migrates to 2, and
 * its sandboxes come back without shares. */
TEST(migrate_v1)
{
	char path[300];
	sqlite3 *db;
	struct store *st;
	static struct sbx_sandbox got;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
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
			 "NULL DEFAULT '');"
			 "INSERT INTO sandboxes (id, name, agent, workspace, memory_mib, cpus, "
			 "engine, created_at) VALUES ('0000000d', 'old', 'shell', '/w', 512, 1, "
			 "'qemu', 1700000000);"
			 "PRAGMA user_version=1;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ(store_open(path, &st), 0);
	CHECK_EQ(store_get(st, "old", &got), 0);
	CHECK_STR(got.workspace, "/w");
	CHECK_EQ(got.n_mounts, 0);
	store_close(st);
	/* reopening a migrated database is a no-op */
	CHECK_EQ(store_open(path, &st), 0);
	CHECK_EQ(store_get(st, "old", &got), 0);
	store_close(st);
}

/* Publications: kept in order per sandbox, the bound port remembered, gone with the sandbox. */
TEST(ports_rows)
{
	struct store *st;
	struct sbx_sandbox a, b;
	struct store_port p1 = {.ephemeral = true}, p2 = {0}, q = {0}, *rows;
	size_t n;
	char err[128];

	CHECK_EQ(store_open(dbpath, &st), 0);
	fill(&a, "000000p1", "ports-a");
	fill(&b, "000000p2", "ports-b");
	CHECK_EQ(store_insert(st, &a), 0);
	CHECK_EQ(store_insert(st, &b), 0);
	CHECK_EQ(store_ports_list(st, "ports-a", &rows, &n), 0);
	CHECK(n == 0 && rows == NULL);
	portspec_parse("3000", &p1.spec, err, sizeof(err));
	portspec_parse("[::1]:5353:53/udp", &p2.spec, err, sizeof(err));
	portspec_parse("8080:80", &q.spec, err, sizeof(err));
	CHECK_EQ(store_ports_add(st, "ports-a", &p1), 0);
	CHECK_EQ(store_ports_add(st, "ports-a", &p2), 0);
	CHECK_EQ(store_ports_add(st, "ports-b", &q), 0);
	CHECK(p1.id > 0 && p2.id > p1.id);
	CHECK_EQ(store_ports_set_host_port(st, p1.id, 49152), 0);
	CHECK_EQ(store_ports_list(st, "ports-a", &rows, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_EQ(rows[0].spec.host_port, 49152);
		CHECK_EQ(rows[0].spec.sandbox_port, 3000);
		CHECK(rows[0].ephemeral && !rows[0].spec.host_port_given);
		CHECK_STR(rows[1].spec.host_ip, "::1");
		CHECK_EQ(rows[1].spec.proto, PORTS_PROTO_UDP);
		CHECK_EQ(rows[1].spec.host_port, 5353);
		CHECK(!rows[1].ephemeral);
	}
	free(rows);
	CHECK_EQ(store_ports_delete(st, p2.id), 0);
	CHECK_EQ(store_ports_delete(st, p2.id), 1);
	CHECK_EQ(store_delete(st, "ports-a"), 0);
	CHECK_EQ(store_ports_list(st, "ports-a", &rows, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(store_ports_list(st, "ports-b", &rows, &n), 0);
	CHECK_EQ(n, 1);
	free(rows);
	store_close(st);
}

TEST(bad_path)
{
	struct store *st = NULL;
	CHECK_EQ(store_open("/nonexistent-dir/x/sbx.db", &st), -1);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/sbx.db", dir);
	RUN(crud);
	RUN(name_rules);
	RUN(default_names);
	RUN(mounts_roundtrip);
	RUN(migrate_v1);
	RUN(ports_rows);
	RUN(bad_path);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	T_EXIT();
}
