/* Every query on the network policy tables (see store_policy.h): policies, policy_log and
 * the preset setting, on a connection of their own guarded by a mutex. Never interprets a
 * resource and never decides anything; the schema itself lives in store.c. */
#include "daemon/store_policy.h"
#include "common/err.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store_pdb {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static int exec_sql(struct store_pdb *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sbx_log("store: policy: %s: %s", sql, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int prepare(struct store_pdb *db, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(db->db, sql, -1, s, NULL) != SQLITE_OK) {
		sbx_log("store: policy: prepare failed: %s", sqlite3_errmsg(db->db));
		*s = NULL;
		return -1;
	}
	return 0;
}

/* Run a prepared statement with no result rows; finalizes it. Return 0 or -1. */
static int step_done(struct store_pdb *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		sbx_log("store: policy: %s", sqlite3_errmsg(db->db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_policy_open(const char *path, struct store_pdb **out)
{
	struct store_pdb *db = calloc(1, sizeof(*db));
	sqlite3_stmt *s;

	if (!db)
		return -1;
	int rc =
	    sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		sbx_err("cannot open state database %s: %s (check permissions and disk space)",
			path, db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
		sqlite3_close(db->db);
		free(db);
		return -1;
	}
	sqlite3_busy_timeout(db->db, 5000);
	pthread_mutex_init(&db->lock, NULL);
	int n = 0;
	if (prepare(db,
		    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
		    "('policies', 'policy_log', 'settings')",
		    &s) == 0) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (n != 3) {
		sbx_err("state database %s: the policy tables are missing (open it with "
			"store_open() first, or remove it to start over)",
			path);
		store_policy_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void store_policy_close(struct store_pdb *db)
{
	if (!db)
		return;
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* Lock @db and open a write transaction. Return: 0, or -1 (and @db is unlocked again). */
static int tx_begin(struct store_pdb *db)
{
	pthread_mutex_lock(&db->lock);
	if (exec_sql(db, "BEGIN IMMEDIATE") == 0)
		return 0;
	pthread_mutex_unlock(&db->lock);
	return -1;
}

/* End tx_begin()'s transaction: commit when @ret is 0 (a failed commit makes it -1), else roll
 * back; unlock. Return: the final result. */
static int tx_end(struct store_pdb *db, int ret)
{
	if (ret == 0 && exec_sql(db, "COMMIT") < 0)
		ret = -1;
	if (ret != 0)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&db->lock);
	return ret;
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int store_policy_insert(struct store_pdb *db, struct store_policy *p)
{
	sqlite3_stmt *s;
	int ret = -1;

	if (!p->created_at)
		p->created_at = (int64_t)time(NULL);
	if (tx_begin(db) < 0)
		return -1;
	if (prepare(db,
		    "INSERT INTO policies (name, decision, scope, origin, resources, created_at)"
		    " VALUES (?, ?, ?, ?, ?, ?)",
		    &s) < 0)
		goto end;
	sqlite3_bind_text(s, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->decision, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, p->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, p->resources ? p->resources : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, p->created_at);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT) {
		ret = 1;
		goto end;
	}
	if (rc != SQLITE_DONE) {
		sbx_log("store: policy insert: %s", sqlite3_errmsg(db->db));
		goto end;
	}
	p->id = sqlite3_last_insert_rowid(db->db);
	if (!p->name[0]) {
		/* "" is never left in a committed row: the name follows from the id here. */
		snprintf(p->name, sizeof(p->name), "%s-%lld", p->decision, (long long)p->id);
		if (prepare(db, "UPDATE policies SET name = ? WHERE id = ?", &s) < 0)
			goto end;
		sqlite3_bind_text(s, 1, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, p->id);
		if (step_done(db, s) < 0)
			goto end;
	}
	ret = 0;
end:
	ret = tx_end(db, ret);
	return ret;
}

void store_policy_free(struct store_policy *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].resources);
	free(p);
}

int store_policy_list(struct store_pdb *db, struct store_policy **out, size_t *n)
{
	sqlite3_stmt *s;
	struct store_policy *arr = NULL;
	size_t len = 0, cap = 0;
	int ret = -1, rc = SQLITE_ERROR;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	if (prepare(db,
		    "SELECT id, name, decision, scope, origin, resources, created_at"
		    " FROM policies ORDER BY id",
		    &s) < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct store_policy *na = realloc(arr, nc * sizeof(*arr));
			if (!na)
				break;
			arr = na;
			cap = nc;
		}
		struct store_policy *p = &arr[len];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(s, 0);
		copy_text(p->name, sizeof(p->name), s, 1);
		copy_text(p->decision, sizeof(p->decision), s, 2);
		copy_text(p->scope, sizeof(p->scope), s, 3);
		copy_text(p->origin, sizeof(p->origin), s, 4);
		const unsigned char *r = sqlite3_column_text(s, 5);
		p->resources = strdup(r ? (const char *)r : "");
		p->created_at = sqlite3_column_int64(s, 6);
		if (!p->resources)
			break;
		len++;
	}
	if (rc == SQLITE_DONE) {
		ret = 0;
		*out = arr;
		*n = len;
		arr = NULL;
	} else {
		sbx_log("store: policy list: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&db->lock);
	store_policy_free(arr, len);
	return ret;
}

/* One UPDATE/DELETE by id; 0, 1 when no row changed, -1 on error. Caller holds the lock. */
static int change_by_id(struct store_pdb *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		sbx_log("store: policy: %s", sqlite3_errmsg(db->db));
		return -1;
	}
	return sqlite3_changes(db->db) ? 0 : 1;
}

int store_policy_delete(struct store_pdb *db, int64_t id)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&db->lock);
	if (prepare(db, "DELETE FROM policies WHERE id = ?", &s) == 0) {
		sqlite3_bind_int64(s, 1, id);
		ret = change_by_id(db, s);
	}
	pthread_mutex_unlock(&db->lock);
	return ret;
}

int store_policy_set_resources(struct store_pdb *db, int64_t id, const char *resources)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&db->lock);
	if (prepare(db, "UPDATE policies SET resources = ? WHERE id = ?", &s) == 0) {
		sqlite3_bind_text(s, 1, resources, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, id);
		ret = change_by_id(db, s);
	}
	pthread_mutex_unlock(&db->lock);
	return ret;
}

int store_policy_forget_sandbox(struct store_pdb *db, const char *name)
{
	static const char *const sql[] = {"DELETE FROM policies WHERE scope = ?",
					  "DELETE FROM policy_log WHERE sandbox = ?"};
	sqlite3_stmt *s;
	int ret = -1;

	if (!name || !name[0])
		return 0; /* "" is the global scope: never forgotten this way */
	if (tx_begin(db) < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		if (prepare(db, sql[i], &s) < 0)
			goto end;
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		if (step_done(db, s) < 0)
			goto end;
	}
	ret = 0;
end:
	ret = tx_end(db, ret);
	return ret;
}

int store_policy_set_preset(struct store_pdb *db, const char *preset, const char *resources)
{
	sqlite3_stmt *s;
	char name[STORE_POLICY_NAME_MAX];
	int ret = -1;

	snprintf(name, sizeof(name), "preset-%s", preset);
	if (tx_begin(db) < 0)
		return -1;
	if (exec_sql(db, "DELETE FROM policies WHERE origin = 'preset'") < 0)
		goto end;
	if (resources && resources[0]) {
		if (prepare(db,
			    "INSERT INTO policies (name, decision, scope, origin, resources,"
			    " created_at) VALUES (?, 'allow', '', 'preset', ?, ?)",
			    &s) < 0)
			goto end;
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, resources, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
		if (step_done(db, s) < 0)
			goto end;
	}
	if (prepare(db, "INSERT OR REPLACE INTO settings (key, value) VALUES ('preset', ?)", &s) <
	    0)
		goto end;
	sqlite3_bind_text(s, 1, preset, -1, SQLITE_STATIC);
	if (step_done(db, s) < 0)
		goto end;
	ret = 0;
end:
	ret = tx_end(db, ret);
	return ret;
}

int store_policy_get_preset(struct store_pdb *db, char *out, size_t len)
{
	sqlite3_stmt *s;
	int ret = -1;

	if (len)
		out[0] = '\0';
	pthread_mutex_lock(&db->lock);
	if (prepare(db, "SELECT value FROM settings WHERE key = 'preset'", &s) == 0) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && len)
			copy_text(out, len, s, 0);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			ret = 0;
		else
			sbx_log("store: policy preset: %s", sqlite3_errmsg(db->db));
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&db->lock);
	return ret;
}

int store_policy_reset(struct store_pdb *db)
{
	if (tx_begin(db) < 0)
		return -1;
	return tx_end(db, exec_sql(db, "DELETE FROM policies; DELETE FROM policy_log;"
				       " DELETE FROM settings WHERE key = 'preset'"));
}

int store_policy_log_add(struct store_pdb *db, const struct store_log_row *rows, size_t n,
			 size_t cap)
{
	sqlite3_stmt *s = NULL, *c = NULL;
	int ret = -1;

	if (!n)
		return 0;
	if (tx_begin(db) < 0)
		return -1;
	if (prepare(db,
		    "INSERT INTO policy_log (sandbox, proxy, host, port, allowed, rule, reason,"
		    " count, bytes, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
		    " ON CONFLICT (sandbox, proxy, host, port, allowed, rule, reason) DO UPDATE"
		    " SET count = count + excluded.count, bytes = bytes + excluded.bytes,"
		    " last_seen = max(last_seen, excluded.last_seen)",
		    &s) < 0)
		goto end;
	for (size_t i = 0; i < n; i++) {
		const struct store_log_row *r = &rows[i];
		sqlite3_bind_text(s, 1, r->sandbox, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->proxy, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, r->host, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, r->port);
		sqlite3_bind_int(s, 5, r->allowed ? 1 : 0);
		sqlite3_bind_text(s, 6, r->rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, r->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, (sqlite3_int64)(r->count ? r->count : 1));
		sqlite3_bind_int64(s, 9, (sqlite3_int64)r->bytes);
		sqlite3_bind_int64(s, 10, r->first_seen ? r->first_seen : r->last_seen);
		sqlite3_bind_int64(s, 11, r->last_seen);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sbx_log("store: policy log: %s", sqlite3_errmsg(db->db));
			goto end;
		}
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	if (prepare(db,
		    "DELETE FROM policy_log WHERE id IN (SELECT id FROM policy_log"
		    " ORDER BY last_seen DESC, id DESC LIMIT -1 OFFSET ?)",
		    &c) < 0)
		goto end;
	sqlite3_bind_int64(c, 1, (sqlite3_int64)cap);
	if (step_done(db, c) < 0) {
		c = NULL;
		goto end;
	}
	c = NULL;
	ret = 0;
end:
	ret = tx_end(db, ret);
	sqlite3_finalize(s);
	sqlite3_finalize(c);
	return ret;
}

int store_policy_log_list(struct store_pdb *db, const char *sandbox, struct store_log_row **out,
			  size_t *n)
{
	sqlite3_stmt *s;
	struct store_log_row *arr = NULL;
	size_t len = 0, cap = 0;
	int ret = -1, rc = SQLITE_ERROR;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	if (prepare(db,
		    "SELECT sandbox, host, port, proxy, allowed, rule, reason, count, bytes,"
		    " first_seen, last_seen FROM policy_log WHERE ?1 = '' OR sandbox = ?1"
		    " ORDER BY last_seen DESC, id DESC",
		    &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, sandbox ? sandbox : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct store_log_row *na = realloc(arr, nc * sizeof(*arr));
			if (!na)
				break;
			arr = na;
			cap = nc;
		}
		struct store_log_row *r = &arr[len++];
		memset(r, 0, sizeof(*r));
		copy_text(r->sandbox, sizeof(r->sandbox), s, 0);
		copy_text(r->host, sizeof(r->host), s, 1);
		r->port = (uint16_t)sqlite3_column_int(s, 2);
		copy_text(r->proxy, sizeof(r->proxy), s, 3);
		r->allowed = sqlite3_column_int(s, 4) != 0;
		copy_text(r->rule, sizeof(r->rule), s, 5);
		copy_text(r->reason, sizeof(r->reason), s, 6);
		r->count = (uint64_t)sqlite3_column_int64(s, 7);
		r->bytes = (uint64_t)sqlite3_column_int64(s, 8);
		r->first_seen = sqlite3_column_int64(s, 9);
		r->last_seen = sqlite3_column_int64(s, 10);
	}
	if (rc == SQLITE_DONE) {
		ret = 0;
		*out = arr;
		*n = len;
		arr = NULL;
	} else {
		sbx_log("store: policy log list: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&db->lock);
	free(arr);
	return ret;
}
