/* Published ports in the state database (see store_ports.h). */
#include "daemon/store_ports.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "daemon/store_int.h"

int store_ports_list(struct store *st, const char *sandbox, struct store_port **out, size_t *n)
{
	sqlite3_stmt *s;
	struct store_port *v = NULL;
	size_t cnt = 0;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	if (store_prepare(st,
			  "SELECT id, proto, host_ip, host_port, sandbox_port, ephemeral FROM ports"
			  " WHERE sandbox = ? ORDER BY id",
			  &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, sandbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_port *nv = realloc(v, (cnt + 1) * sizeof(*v));
		const unsigned char *proto = sqlite3_column_text(s, 1);
		const unsigned char *ip = sqlite3_column_text(s, 2);
		struct store_port *p;

		if (!nv)
			goto fin;
		v = nv;
		p = &v[cnt];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(s, 0);
		p->spec.proto = portspec_proto_parse(proto ? (const char *)proto : "");
		if (!p->spec.proto || portspec_set_ip(&p->spec, ip ? (const char *)ip : "") < 0) {
			sbx_log("store: ports row %lld of %s is malformed: skipped",
				(long long)p->id, sandbox);
			continue;
		}
		p->spec.host_port = (uint16_t)sqlite3_column_int(s, 3);
		p->spec.sandbox_port = (uint16_t)sqlite3_column_int(s, 4);
		p->ephemeral = sqlite3_column_int(s, 5) != 0;
		p->spec.ip_given = true;
		p->spec.host_port_given = !p->ephemeral;
		cnt++;
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else
		sbx_log("store: list ports of %s: %s", sandbox, sqlite3_errmsg(st->db));
fin:
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	if (ret < 0 || cnt == 0) {
		free(v);
		v = NULL;
		cnt = 0;
	}
	*out = v;
	*n = cnt;
	return ret;
}

int store_ports_add(struct store *st, const char *sandbox, struct store_port *p)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (store_prepare(st,
			  "INSERT INTO ports (sandbox, proto, host_ip, host_port, sandbox_port,"
			  " ephemeral, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			  &s) < 0)
		goto out;
	sqlite3_bind_text(s, 1, sandbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, portspec_proto_name(p->spec.proto), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, p->spec.host_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, p->spec.host_port);
	sqlite3_bind_int(s, 5, p->spec.sandbox_port);
	sqlite3_bind_int(s, 6, p->ephemeral);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)time(NULL));
	if (sqlite3_step(s) == SQLITE_DONE) {
		p->id = sqlite3_last_insert_rowid(st->db);
		ret = 0;
	} else {
		sbx_log("store: add a port of %s: %s", sandbox, sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Run @sql with ?1 = @id (and ?2 = @v). Return: 0, 1 if no row changed, -1 on error. */
static int by_id(struct store *st, const char *sql, int64_t id, int v)
{
	sqlite3_stmt *s;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (store_prepare(st, sql, &s) < 0)
		goto out;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	sqlite3_bind_int(s, 2, v);
	if (sqlite3_step(s) == SQLITE_DONE)
		ret = sqlite3_changes(st->db) ? 0 : 1;
	else
		sbx_log("store: ports row %lld: %s", (long long)id, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_ports_set_host_port(struct store *st, int64_t id, uint16_t port)
{
	return by_id(st, "UPDATE ports SET host_port = ?2 WHERE id = ?1", id, port) < 0 ? -1 : 0;
}

int store_ports_delete(struct store *st, int64_t id)
{
	return by_id(st, "DELETE FROM ports WHERE id = ?1 AND ?2 = 0", id, 0);
}
