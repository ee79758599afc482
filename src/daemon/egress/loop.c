/* The egress service's loop: one loop thread (common/loopthread.h) serving every running
 * sandbox's egress listeners and connections, sandboxes added and removed by API threads
 * through loopthread_call(), deadlines swept a few times a second, and resolver results.
 * Owns every egress fd and struct; other threads only hand over calls. Never blocks: all
 * sockets are non-blocking. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/loopthread.h"
#include "daemon/dns/pool.h"
#include "daemon/egress/egress.h"
#include "daemon/egress/egress_int.h"
#include "daemon/egress/mitm.h"
#include "proto/ca.h"

#define POOL_SIZE 65536
#define SWEEP_MS  250 /* deadlines */

static const unsigned kind_port[EG_KINDS] = {EGRESS_PORT_PROXY, EGRESS_PORT_TRANSPARENT,
					     EGRESS_PORT_DNS, CA_PORT};

/* What an API thread hands the egress thread: a sandbox's name and (to add) its listeners. */
struct eg_cmd {
	char name[64];
	int64_t created; /* the sandbox's created_at */
	int lfd[EG_KINDS];
};

static struct loopthread *thread; /* set once the service runs */
static struct evloop *loop;
static struct eg_sandbox *sandboxes;
static uint64_t next_id = 1;

/* Open connections by id: a resolver result names its connection by id only. */
#define ID_BUCKETS 4096
static struct eg_conn *by_id[ID_BUCKETS];

long long eg_now_ms(void)
{
	return loopthread_now_ms();
}

struct evloop *eg_loop(void)
{
	return loop;
}

/* ---- connections ---- */

static void on_conn_fd(int fd, uint32_t events, void *opaque)
{
	struct eg_conn *c = opaque;

	if (c->kind == EG_DNS)
		eg_dns_event(c, fd, events);
	else if (c->kind == EG_CA)
		eg_ca_event(c, fd, events);
	else
		eg_conn_event(c, fd, events);
}

static void set_interest(struct eg_conn *c, int fd, uint32_t *have, uint32_t want)
{
	if (fd < 0 || *have == want)
		return;
	if (!*have)
		evloop_add(loop, fd, want, on_conn_fd, c);
	else if (!want)
		evloop_del(loop, fd);
	else
		evloop_mod(loop, fd, want);
	*have = want;
}

/**
 * eg_conn_update() - register the epoll interest @c's state and buffers call for.
 */
void eg_conn_update(struct eg_conn *c)
{
	uint32_t cw = 0, uw = 0;
	bool c_read = !c->c_eof && c->c2u.len < c->c2u.cap;

	switch (c->state) {
	case EG_ST_ORIG:
	case EG_ST_PEEK:
		cw = c_read ? EPOLLIN : 0;
		break;
	case EG_ST_RESOLVE:
		break;
	case EG_ST_CONNECT:
		uw = EPOLLOUT;
		break;
	case EG_ST_HELLO:
	case EG_ST_SPLICE:
		if (c_read)
			cw |= EPOLLIN;
		if (c->u2c.len > c->u2c.off)
			cw |= EPOLLOUT;
		if (!c->u_eof && c->u2c.len < c->u2c.cap)
			uw |= EPOLLIN;
		if (c->state == EG_ST_SPLICE && c->c2u.len > c->c2u.off)
			uw |= EPOLLOUT;
		break;
	case EG_ST_FINISH:
		cw = EPOLLOUT;
		break;
	case EG_ST_MITM:
		eg_mitm_interest(c, &cw, &uw);
		break;
	}
	if (c->kind == EG_DNS) {
		cw = c_read ? EPOLLIN : 0;
		if (c->u2c.len > c->u2c.off)
			cw |= EPOLLOUT;
	}
	if (c->kind == EG_CA)
		cw = iobuf_data(&c->u2c) ? EPOLLOUT : 0;
	set_interest(c, c->cfd, &c->cev, cw);
	set_interest(c, c->ufd, &c->uev, uw);
}

/**
 * eg_conn_close() - log (if not yet), close both sides and free @c.
 */
void eg_conn_close(struct eg_conn *c)
{
	set_interest(c, c->cfd, &c->cev, 0);
	set_interest(c, c->ufd, &c->uev, 0);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else if (c->sb)
		c->sb->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->sb)
		c->sb->nconns--;
	for (struct eg_conn **pp = &by_id[c->id % ID_BUCKETS]; *pp; pp = &(*pp)->id_next)
		if (*pp == c) {
			*pp = c->id_next;
			break;
		}
	eg_mitm_free(c->mitm);
	c->mitm = NULL;
	iobuf_free(&c->c2u);
	iobuf_free(&c->u2c);
	free(c);
}

static struct eg_conn *conn_find(uint64_t id)
{
	for (struct eg_conn *c = by_id[id % ID_BUCKETS]; c; c = c->id_next)
		if (c->id == id)
			return c;
	return NULL;
}

static void on_resolved(uint64_t token, int err, const struct pol_addr *addrs, size_t n)
{
	struct eg_conn *c = conn_find(token);

	if (c && c->state == EG_ST_RESOLVE)
		eg_conn_resolved(c, err, addrs, n);
}

static void on_accept(int lfd, uint32_t events, void *opaque)
{
	struct eg_sandbox *sb = opaque;
	enum eg_kind kind = EG_PROXY;
	struct eg_conn *c;
	int fd;

	for (int k = 0; k < EG_KINDS; k++)
		if (sb->lfd[k] == lfd)
			kind = (enum eg_kind)k;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		size_t u2c_cap = kind == EG_DNS ? EG_C2U_CAP : EG_U2C_CAP;

		if (kind == EG_CA) /* the PEM one way; nothing is read */
			u2c_cap = CA_PEM_MAX;
		c = sb->nconns < EG_CONNS_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (!c || iobuf_init(&c->c2u, kind == EG_CA ? 1 : EG_C2U_CAP) < 0 ||
		    iobuf_init(&c->u2c, u2c_cap) < 0) {
			if (c) {
				iobuf_free(&c->c2u);
				iobuf_free(&c->u2c);
				free(c);
			}
			sbx_log("egress %s: refusing a connection (%s)", sb->name,
				sb->nconns >= EG_CONNS_MAX ? "too many open" : "out of memory");
			close(fd);
			continue;
		}
		c->id = next_id++;
		c->id_next = by_id[c->id % ID_BUCKETS];
		by_id[c->id % ID_BUCKETS] = c;
		c->sb = sb;
		c->kind = kind;
		c->cfd = fd;
		c->ufd = -1;
		c->next = sb->conns;
		if (sb->conns)
			sb->conns->prev = c;
		sb->conns = c;
		sb->nconns++;
		c->deadline = eg_now_ms() + (kind == EG_DNS ? EG_IDLE_MS : EG_HEAD_MS);
		if (kind == EG_DNS) {
			c->proxy = "dns";
			c->state = EG_ST_SPLICE;
			eg_conn_update(c);
		} else if (kind == EG_CA) {
			eg_ca_start(c);
		} else {
			eg_conn_start(c);
		}
	}
}

/* The tick: end the connections whose deadline passed. */
static void sweep_deadlines(void *opaque)
{
	long long now = eg_now_ms();

	for (struct eg_sandbox *sb = sandboxes; sb; sb = sb->next) {
		struct eg_conn *c = sb->conns, *next;

		for (; c; c = next) {
			next = c->next;
			if (c->deadline && now >= c->deadline)
				eg_conn_timeout(c);
		}
	}
}

/* ---- sandboxes ---- */

static void sandbox_free(struct eg_sandbox *sb)
{
	while (sb->conns)
		eg_conn_close(sb->conns);
	for (int k = 0; k < EG_KINDS; k++)
		if (sb->lfd[k] >= 0) {
			evloop_del(loop, sb->lfd[k]);
			close(sb->lfd[k]);
		}
	dns_pool_free(sb->pool);
	free(sb);
}

/* On the egress thread: stop serving the sandbox named in @arg (a struct eg_cmd), if any. */
static void do_remove(void *arg)
{
	const struct eg_cmd *cm = arg;
	struct eg_sandbox **pp = &sandboxes;

	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, cm->name) == 0) {
			struct eg_sandbox *sb = *pp;
			*pp = sb->next;
			sandbox_free(sb);
			return;
		}
}

/* On the egress thread: serve @arg's (a struct eg_cmd) sandbox on its listeners, which it
 * takes. */
static void do_add(void *arg)
{
	struct eg_cmd *cm = arg;
	struct eg_sandbox *sb;

	do_remove(cm); /* a restart replaces the old listeners */
	sb = calloc(1, sizeof(*sb));
	if (!sb || !(sb->pool = dns_pool_new(POOL_SIZE))) {
		sbx_log("egress %s: out of memory: its guest has no network", cm->name);
		for (int k = 0; k < EG_KINDS; k++)
			close(cm->lfd[k]);
		free(sb);
		return;
	}
	snprintf(sb->name, sizeof(sb->name), "%s", cm->name);
	sb->created = cm->created;
	for (int k = 0; k < EG_KINDS; k++) {
		sb->lfd[k] = cm->lfd[k];
		evloop_add(loop, sb->lfd[k], EPOLLIN, on_accept, sb);
	}
	sb->next = sandboxes;
	sandboxes = sb;
}

int egress_start(void)
{
	struct loopthread *t;

	if (thread)
		return 0;
	loopthread_raise_nofile(); /* every proxied connection holds two fds (guest, upstream) */
	t = loopthread_new();
	if (!t) {
		sbx_err("egress: cannot set up its event loop: %s", strerror(errno));
		return -1;
	}
	loop = loopthread_loop(t);
	if (eg_resolver_start(loop, on_resolved) < 0)
		return -1;
	if (loopthread_start(t, SWEEP_MS, sweep_deadlines, NULL) < 0) {
		sbx_err("egress: cannot start its thread: %s", strerror(errno));
		return -1;
	}
	thread = t;
	return 0;
}

static int listen_at(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "egress socket path %s too long (use a shorter SBX_HOME)",
			 path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		snprintf(err, errlen, "egress socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int egress_sandbox_add(const char *name, int64_t created, const char *run_dir, char *err,
		       size_t errlen)
{
	struct eg_cmd cm = {.created = created};
	char path[PATH_MAX];

	if (!thread) {
		snprintf(err, errlen, "egress service not running (see sbxd.log)");
		return -1;
	}
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	for (int k = 0; k < EG_KINDS; k++) {
		cm.lfd[k] = -1;
		if (snprintf(path, sizeof(path), "%s/vsock.sock_%u", run_dir, kind_port[k]) >=
			(int)sizeof(path) ||
		    (cm.lfd[k] = listen_at(path, err, errlen)) < 0) {
			for (int j = 0; j < k; j++)
				close(cm.lfd[j]);
			return -1;
		}
	}
	loopthread_call(thread, do_add, &cm);
	return 0;
}

void egress_sandbox_remove(const char *name)
{
	struct eg_cmd cm = {0};

	if (!thread)
		return;
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	loopthread_call(thread, do_remove, &cm);
}
