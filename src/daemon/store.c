/* SQLite state of sbxd (see store.h): schema, migrations and every query; sandbox name
 * rules. Holds one connection guarded by a mutex; never calls out to engines or HTTP. */
#include "daemon/store.h"
#include "common/err.h"
#include "daemon/store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SCHEMA_VERSION 4
#define MOUNTS_TEXT_MAX	     (STORE_MOUNTS_MAX * (PATH_MAX + 4))

static const char *schema_v1 = "CREATE TABLE IF NOT EXISTS sandboxes ("
			       " id TEXT PRIMARY KEY,"
			       " name TEXT NOT NULL UNIQUE,"
			       " agent TEXT NOT NULL,"
			       " workspace TEXT NOT NULL,"
			       " memory_mib INTEGER NOT NULL,"
			       " cpus INTEGER NOT NULL,"
			       " engine TEXT NOT NULL,"
			       " accel TEXT NOT NULL DEFAULT '',"
			       " status TEXT NOT NULL DEFAULT 'stopped',"
			       " created_at INTEGER NOT NULL,"
			       " vmm_pid INTEGER NOT NULL DEFAULT 0,"
			       " vmm_start INTEGER NOT NULL DEFAULT 0,"
			       " vhost_pid INTEGER NOT NULL DEFAULT 0,"
			       " vhost_start INTEGER NOT NULL DEFAULT 0,"
			       " run_dir TEXT NOT NULL DEFAULT '');";

/* v2: the shares (mounts), one "rw PATH" / "ro PATH" line each; rows of v1 get none. */
static const char *schema_v2 = "ALTER TABLE sandboxes ADD COLUMN mounts TEXT NOT NULL DEFAULT '';";

/* v3: network policy (queries in store_policy.c): the rules, one row per policy with its
 * canonical comma-separated resources; the decision log, one counted row per distinct
 * decision; and key/value settings (the chosen preset). */
static const char *schema_v3 =
    "CREATE TABLE IF NOT EXISTS policies ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),"
    " scope TEXT NOT NULL DEFAULT '',"
    " origin TEXT NOT NULL CHECK (origin IN ('user', 'preset')),"
    " resources TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS policy_log ("
    " id INTEGER PRIMARY KEY,"
    " sandbox TEXT NOT NULL, proxy TEXT NOT NULL, host TEXT NOT NULL,"
    " port INTEGER NOT NULL, allowed INTEGER NOT NULL, rule TEXT NOT NULL,"
    " reason TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (sandbox, proxy, host, port, allowed, rule, reason));"
    "CREATE INDEX IF NOT EXISTS policy_log_last_seen ON policy_log (last_seen);"
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/* v4: published ports (queries in store_ports.c), one row per publication; host_port is the
 * port last bound (0: an ephemeral one never bound yet). */
static const char *schema_v4 = "CREATE TABLE IF NOT EXISTS ports ("
			       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
			       " sandbox TEXT NOT NULL,"
			       " proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),"
			       " host_ip TEXT NOT NULL,"
			       " host_port INTEGER NOT NULL,"
			       " sandbox_port INTEGER NOT NULL,"
			       " ephemeral INTEGER NOT NULL,"
			       " created_at INTEGER NOT NULL);"
			       "CREATE INDEX IF NOT EXISTS ports_sandbox ON ports (sandbox);";

static const char *cols =
    "id, name, agent, workspace, memory_mib, cpus, engine, accel, status,"
    " created_at, vmm_pid, vmm_start, vhost_pid, vhost_start, run_dir, mounts";

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sbx_err("state database: %s (check the disk, or remove sbx.db to start over)",
			msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

int store_open(const char *path, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st)
		return -1;
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		sbx_err("cannot open state database %s: %s (check permissions and disk space)",
			path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite3_close(st->db);
		free(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, 5000);
	pthread_mutex_init(&st->lock, NULL);
	if (exec_sql(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") < 0)
		goto fail;
	int v = user_version(st->db);
	if (v < 0) {
		sbx_err("state database %s: cannot read its version: %s (remove it to start over)",
			path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (v > STORE_SCHEMA_VERSION) {
		sbx_err("state database %s: schema version %d is newer than this sbxd (%d) "
			"(upgrade sbx)",
			path, v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (v < STORE_SCHEMA_VERSION) {
		if (exec_sql(st->db, "BEGIN") < 0)
			goto fail;
		if ((v < 1 && exec_sql(st->db, schema_v1) < 0) ||
		    (v < 2 && exec_sql(st->db, schema_v2) < 0) ||
		    (v < 3 && exec_sql(st->db, schema_v3) < 0) ||
		    (v < 4 && exec_sql(st->db, schema_v4) < 0) ||
		    exec_sql(st->db, "PRAGMA user_version=4; COMMIT") < 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		if (v >= 1)
			sbx_log("state database %s: migrated from schema %d to 4 (%s%sports)", path,
				v, v < 2 ? "shares, " : "", v < 3 ? "network policy, " : "");
	}
	*out = st;
	return 0;
fail:
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
	return -1;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_sandbox(sqlite3_stmt *s, struct sbx_sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	copy_text(sb->id, sizeof(sb->id), s, 0);
	copy_text(sb->name, sizeof(sb->name), s, 1);
	copy_text(sb->agent, sizeof(sb->agent), s, 2);
	copy_text(sb->workspace, sizeof(sb->workspace), s, 3);
	sb->memory_mib = (unsigned)sqlite3_column_int64(s, 4);
	sb->cpus = (unsigned)sqlite3_column_int64(s, 5);
	copy_text(sb->engine, sizeof(sb->engine), s, 6);
	copy_text(sb->accel, sizeof(sb->accel), s, 7);
	copy_text(sb->status, sizeof(sb->status), s, 8);
	sb->created_at = sqlite3_column_int64(s, 9);
	sb->run.vmm.pid = (pid_t)sqlite3_column_int64(s, 10);
	sb->run.vmm.start_time = (unsigned long long)sqlite3_column_int64(s, 11);
	sb->run.vhost.pid = (pid_t)sqlite3_column_int64(s, 12);
	sb->run.vhost.start_time = (unsigned long long)sqlite3_column_int64(s, 13);
	copy_text(sb->run_dir, sizeof(sb->run_dir), s, 14);
	const unsigned char *m = sqlite3_column_text(s, 15);
	store_mounts_decode(m ? (const char *)m : "", sb);
}

int store_mounts_encode(const struct sbx_sandbox *sb, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return -1;
	out[0] = '\0';
	for (unsigned i = 0; i < sb->n_mounts && i < STORE_MOUNTS_MAX; i++) {
		int w = snprintf(out + o, outlen - o, "%s %s\n",
				 sb->mounts[i].file	  ? "rf"
				 : sb->mounts[i].readonly ? "ro"
							  : "rw",
				 sb->mounts[i].path);
		if (w < 0 || (size_t)w >= outlen - o)
			return -1;
		o += (size_t)w;
	}
	return (int)o;
}

unsigned store_mounts_decode(const char *text, struct sbx_sandbox *sb)
{
	sb->n_mounts = 0;
	while (text && *text && sb->n_mounts < STORE_MOUNTS_MAX) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		struct sbx_mount *m = &sb->mounts[sb->n_mounts];
		if (len > 3 && len - 3 < sizeof(m->path) && text[2] == ' ' && text[3] == '/' &&
		    (strncmp(text, "rw", 2) == 0 || strncmp(text, "ro", 2) == 0 ||
		     strncmp(text, "rf", 2) == 0)) {
			m->readonly = text[1] != 'w';
			m->file = text[1] == 'f';
			memcpy(m->path, text + 3, len - 3);
			m->path[len - 3] = '\0';
			sb->n_mounts++;
		}
		text += len + (nl ? 1 : 0);
	}
	return sb->n_mounts;
}

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK) {
		sbx_log("store: prepare failed: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int store_insert(struct store *st, const struct sbx_sandbox *sb)
{
	char sql[512];
	sqlite3_stmt *s;
	int ret = -1;
	char *mounts = malloc(MOUNTS_TEXT_MAX);

	if (!mounts || store_mounts_encode(sb, mounts, MOUNTS_TEXT_MAX) < 0) {
		sbx_log("store: insert %s: mounts do not fit", sb->name);
		free(mounts);
		return -1;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO sandboxes (%s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cols);
	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, sql, &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, sb->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, sb->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, sb->agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, sb->workspace, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, sb->memory_mib);
	sqlite3_bind_int64(s, 6, sb->cpus);
	sqlite3_bind_text(s, 7, sb->engine, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, sb->accel, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, sb->status[0] ? sb->status : "stopped", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, sb->created_at);
	sqlite3_bind_int64(s, 11, sb->run.vmm.pid);
	sqlite3_bind_int64(s, 12, (sqlite3_int64)sb->run.vmm.start_time);
	sqlite3_bind_int64(s, 13, sb->run.vhost.pid);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)sb->run.vhost.start_time);
	sqlite3_bind_text(s, 15, sb->run_dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 16, mounts, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (rc == SQLITE_CONSTRAINT)
		ret = 1;
	else
		sbx_log("store: insert %s: %s", sb->name, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	free(mounts);
	return ret;
}

int store_get(struct store *st, const char *name, struct sbx_sandbox *out)
{
	char sql[512];
	sqlite3_stmt *s;
	int ret = -1;

	snprintf(sql, sizeof(sql), "SELECT %s FROM sandboxes WHERE name = ?", cols);
	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, sql, &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_sandbox(s, out);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sbx_log("store: get %s: %s", name, sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_list(struct store *st, struct sbx_sandbox **out, size_t *n)
{
	char sql[512];
	sqlite3_stmt *s;
	struct sbx_sandbox *arr = NULL;
	size_t len = 0, cap = 0;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT %s FROM sandboxes ORDER BY created_at, rowid", cols);
	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, sql, &s) < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct sbx_sandbox *na = realloc(arr, nc * sizeof(*arr));
			if (!na)
				break;
			arr = na;
			cap = nc;
		}
		row_to_sandbox(s, &arr[len++]);
	}
	if (rc == SQLITE_DONE) {
		ret = 0;
		*out = arr;
		*n = len;
		arr = NULL;
	} else {
		sbx_log("store: list: %s", sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	free(arr);
	return ret;
}

int store_update_state(struct store *st, const struct sbx_sandbox *sb)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (store_prepare(st,
			  "UPDATE sandboxes SET status = ?, accel = ?, run_dir = ?, vmm_pid = ?,"
			  " vmm_start = ?, vhost_pid = ?, vhost_start = ? WHERE name = ?",
			  &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, sb->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, sb->accel, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, sb->run_dir, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, sb->run.vmm.pid);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)sb->run.vmm.start_time);
	sqlite3_bind_int64(s, 6, sb->run.vhost.pid);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)sb->run.vhost.start_time);
	sqlite3_bind_text(s, 8, sb->name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_DONE)
		ret = sqlite3_changes(st->db) ? 0 : 1;
	else
		sbx_log("store: update %s: %s", sb->name, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_exists(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int ret = -1, rc;

	if (!store_name_valid(name))
		return 1;
	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, "SELECT 1 FROM sandboxes WHERE name = ?", &s) == 0) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_delete(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, "DELETE FROM sandboxes WHERE name = ?", &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_DONE)
		ret = sqlite3_changes(st->db) ? 0 : 1;
	else
		sbx_log("store: delete %s: %s", name, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	/* its publications go with it */
	if (ret == 0 && store_prepare(st, "DELETE FROM ports WHERE sandbox = ?", &s) == 0) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			sbx_log("store: delete ports of %s: %s", name, sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
	}
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static bool name_first(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool name_rest(char c)
{
	return name_first(c) || c == '_' || c == '.' || c == '-';
}

bool store_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > STORE_NAME_MAX || !name_first(name[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!name_rest(name[i]))
			return false;
	return true;
}

int store_name_sanitize(const char *in, char *out, size_t maxlen)
{
	size_t o = 0;
	for (; *in && o < maxlen; in++) {
		char c = *in;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!name_rest(c))
			c = '-';
		if (o == 0 && !name_first(c))
			continue;
		if (c == '-' && out[o - 1] == '-')
			continue;
		out[o++] = c;
	}
	while (o > 0 && !name_first(out[o - 1]))
		o--;
	out[o] = '\0';
	return o ? 0 : -1;
}

int store_name_default(struct store *st, const char *agent, const char *workspace, char *out)
{
	char raw[PATH_MAX + 80], base[STORE_NAME_MAX + 1], cand[STORE_NAME_MAX + 16];
	struct sbx_sandbox tmp;
	const char *b = workspace ? strrchr(workspace, '/') : NULL;
	b = b ? b + 1 : (workspace ? workspace : "");
	if (*b)
		snprintf(raw, sizeof(raw), "%s-%s", agent, b);
	else
		snprintf(raw, sizeof(raw), "%s", agent);
	/* Leave room for a "-NNN" suffix so the unique form is still a valid name. */
	if (store_name_sanitize(raw, base, STORE_NAME_MAX - 4) < 0)
		return -1;
	for (unsigned i = 1; i < 1000; i++) {
		if (i == 1)
			snprintf(cand, sizeof(cand), "%s", base);
		else
			snprintf(cand, sizeof(cand), "%s-%u", base, i);
		int rc = store_get(st, cand, &tmp);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			cand[STORE_NAME_MAX] = '\0'; /* base <= 36 chars: never cuts */
			memcpy(out, cand, STORE_NAME_MAX + 1);
			return 0;
		}
	}
	return -1;
}
