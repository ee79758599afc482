/* The port forwarder (see fwd.h): its loop thread (common/loopthread.h) and the calls API
 * threads make on it, the listeners, the guest streams' hybrid-vsock handshake and TCP
 * connections relayed both ways. UDP flows are in fwd_udp.c. Owns every listener, connection
 * and flow fd once handed over; never blocks its loop: every socket is non-blocking and every
 * handshake has a deadline. */
#include "daemon/ports/fwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/loopthread.h"
#include "daemon/ports/fwd_int.h"
#include "proto/agent.h"
#include "proto/ports.h"

/* One TCP connection: the client accepted on a listener and its guest stream. */
struct fwd_conn {
	struct fwd_listener *l;
	struct fwd_gs gs;
	int cfd;
	uint32_t cev;	       /* epoll interest registered on cfd */
	struct iobuf c2g, g2c; /* c2g starts with the ports header */
	bool c_eof, g_eof;     /* read side saw EOF */
	bool c_shut, g_shut;   /* we sent SHUT_WR to that side */
	bool g_any;	       /* the guest sent at least one byte */
	struct fwd_conn *prev, *next;
};

/* What an API thread hands the forwarder thread: a sandbox's listener to add (takes fd), to
 * remove or to look for (by spec), or all of its listeners to remove. */
struct fwd_cmd {
	char name[64];
	struct sockaddr_un vsock;
	struct port_spec spec;
	int fd;
	bool found; /* the answer of a look-up */
};

static struct loopthread *thread; /* set once the forwarder runs */
static struct evloop *loop;
static struct fwd_listener *listeners;

long long fwd_now_ms(void)
{
	return loopthread_now_ms();
}

struct evloop *fwd_loop(void)
{
	return loop;
}

/* Ask for the next sweep soon: a guest connect waits to be retried. */
void fwd_want_retry(void)
{
	loopthread_tick_soon(thread, FWD_RETRY_MS);
}

/* "127.0.0.1:8080/tcp" or "[::1]:8080/tcp" into @out. */
static char *addr_text(const struct port_spec *p, char *out, size_t n)
{
	snprintf(out, n, p->family == AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", p->host_ip,
		 (unsigned)p->host_port, portspec_proto_name(p->proto));
	return out;
}

/**
 * fwd_refused() - note that a connection or flow of @l was refused or reset because of @why;
 * logged at most once a second per listener, with the count of those not logged.
 */
void fwd_refused(struct fwd_listener *l, const char *why)
{
	long long now = fwd_now_ms();
	char at[PORTSPEC_TEXT_MAX];

	if (l->refuse_logged && now - l->refuse_logged < 1000) {
		l->refused++;
		return;
	}
	if (l->refused)
		sbx_log("ports %s: %s: refused a connection: %s (and %u more since the last such "
			"line)",
			l->name, portspec_format(&l->spec, at, sizeof(at)), why, l->refused);
	else
		sbx_log("ports %s: %s: refused a connection: %s", l->name,
			portspec_format(&l->spec, at, sizeof(at)), why);
	l->refuse_logged = now;
	l->refused = 0;
}

/**
 * fwd_set_interest() - register @want on @fd (add, change or drop), *@have tracking what is.
 */
void fwd_set_interest(int fd, uint32_t *have, uint32_t want, evloop_cb cb, void *opaque)
{
	if (fd < 0 || *have == want)
		return;
	if (!*have) {
		if (evloop_add(loop, fd, want, cb, opaque) < 0)
			return; /* retried at the next update */
	} else if (!want) {
		evloop_del(loop, fd);
	} else {
		evloop_mod(loop, fd, want);
	}
	*have = want;
}

/* ---- the guest stream's hybrid-vsock handshake ---- */

/* Send the CONNECT line on @g's just-connected stream. */
static int gs_send_line(struct fwd_gs *g)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", PORTS_VSOCK_PORT);

	/* a fresh stream's send buffer always takes the short line whole */
	if (send(g->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		return -1;
	g->state = FWD_GS_WAIT_OK;
	return 0;
}

/* connect() (again) to the guest's hybrid-vsock socket; send the CONNECT line when done. */
static int gs_connect(struct fwd_gs *g, const struct fwd_listener *l)
{
	if (g->fd < 0)
		g->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0)
		return -1;
	if (connect(g->fd, (const struct sockaddr *)&l->vsock, sizeof(l->vsock)) < 0) {
		if (errno == EAGAIN || errno == EINTR) { /* its backlog is full */
			g->state = FWD_GS_RETRY;
			fwd_want_retry();
			return 0;
		}
		if (errno != EINPROGRESS)
			return -1;
		g->state = FWD_GS_CONNECTING;
		return 0;
	}
	return gs_send_line(g);
}

int fwd_gs_begin(struct fwd_gs *g, const struct fwd_listener *l)
{
	g->fd = -1;
	g->ev = 0;
	g->line_len = 0;
	g->deadline = fwd_now_ms() + FWD_HS_MS;
	return gs_connect(g, l);
}

uint32_t fwd_gs_want(const struct fwd_gs *g)
{
	switch (g->state) {
	case FWD_GS_CONNECTING:
		return EPOLLOUT;
	case FWD_GS_WAIT_OK:
		return EPOLLIN;
	default:
		return 0;
	}
}

/* Read the "OK <n>\n" line without consuming a byte after its '\n'. */
static int gs_read_ok(struct fwd_gs *g)
{
	for (;;) {
		size_t want = sizeof(g->line) - g->line_len, take;
		ssize_t r = recv(g->fd, g->line + g->line_len, want, MSG_PEEK | MSG_DONTWAIT);
		const char *nl;

		if (r == 0) /* closed without OK: nothing listens on that guest port */
			return -1;
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		nl = memchr(g->line + g->line_len, '\n', (size_t)r);
		take = nl ? (size_t)(nl - (g->line + g->line_len)) + 1 : (size_t)r;
		if (recv(g->fd, g->line + g->line_len, take, MSG_DONTWAIT) != (ssize_t)take)
			return -1;
		g->line_len += take;
		if (nl)
			break;
		if (g->line_len == sizeof(g->line))
			return -1;
	}
	if (agent_hybrid_ok_parse(g->line, g->line_len) < 0)
		return -1;
	g->state = FWD_GS_OPEN;
	g->deadline = 0;
	return 1;
}

int fwd_gs_step(struct fwd_gs *g, const struct fwd_listener *l)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	switch (g->state) {
	case FWD_GS_RETRY:
		return gs_connect(g, l);
	case FWD_GS_CONNECTING:
		if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err)
			return -1;
		return gs_send_line(g);
	case FWD_GS_WAIT_OK:
		return gs_read_ok(g);
	case FWD_GS_OPEN:
		break;
	}
	return 0;
}

/* ---- TCP connections ---- */

static void on_conn(int fd, uint32_t events, void *opaque);

static void conn_update(struct fwd_conn *c)
{
	uint32_t cw = 0, gw = 0;

	if (!c->c_eof && iobuf_room(&c->c2g))
		cw |= EPOLLIN;
	if (iobuf_data(&c->g2c))
		cw |= EPOLLOUT;
	if (c->gs.state == FWD_GS_OPEN) {
		if (!c->g_eof && iobuf_room(&c->g2c))
			gw |= EPOLLIN;
		if (iobuf_data(&c->c2g))
			gw |= EPOLLOUT;
	} else {
		gw = fwd_gs_want(&c->gs);
	}
	fwd_set_interest(c->cfd, &c->cev, cw, on_conn, c);
	fwd_set_interest(c->gs.fd, &c->gs.ev, gw, on_conn, c);
}

/* Close both sides of @c and free it. */
static void conn_close(struct fwd_conn *c)
{
	struct fwd_listener *l = c->l;

	fwd_set_interest(c->cfd, &c->cev, 0, NULL, NULL);
	fwd_set_interest(c->gs.fd, &c->gs.ev, 0, NULL, NULL);
	close(c->cfd);
	if (c->gs.fd >= 0)
		close(c->gs.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->nconns--;
	iobuf_free(&c->c2g);
	iobuf_free(&c->g2c);
	free(c);
}

/* Make @fd's close send a TCP reset. */
static void set_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Reset the client, close the guest stream, free @c. */
static void conn_reset(struct fwd_conn *c)
{
	set_reset(c->cfd);
	conn_close(c);
}

/* The guest stream ended or failed: reset the client (logged when the guest never sent a
 * byte, i.e. its relay could not reach the port). */
static void conn_guest_gone(struct fwd_conn *c)
{
	if (!c->g_any) {
		char why[64];

		snprintf(why, sizeof(why), "nothing answered on port %u in the sandbox",
			 (unsigned)c->l->spec.sandbox_port);
		fwd_refused(c->l, why);
	}
	conn_reset(c);
}

/* Move bytes both ways; handle EOFs and errors. Return false if @c was closed. */
static bool relay(struct fwd_conn *c)
{
	/* a few rounds while bytes move, fewer epoll wake-ups for a fast stream; bounded so
	 * one busy connection cannot starve the others */
	for (int round = 0; round < 8; round++) {
		bool moved = false;
		ssize_t n;
		int w;

		if (!c->c_eof && iobuf_room(&c->c2g)) {
			n = iobuf_read(c->cfd, &c->c2g);
			if (n == 0)
				c->c_eof = true;
			else if (n < 0 && errno != EAGAIN) /* client reset: drop the guest stream */
				return conn_close(c), false;
			moved |= n >= 0;
		}
		if (!c->g_eof && iobuf_room(&c->g2c)) {
			n = iobuf_read(c->gs.fd, &c->g2c);
			if (n == 0)
				c->g_eof = true;
			else if (n < 0 && errno != EAGAIN)
				return conn_guest_gone(c), false;
			c->g_any |= n > 0;
			moved |= n >= 0;
		}
		if ((w = iobuf_write(c->gs.fd, &c->c2g, NULL)) < 0)
			return conn_guest_gone(c), false;
		moved |= w > 0;
		if ((w = iobuf_write(c->cfd, &c->g2c, NULL)) < 0)
			return conn_close(c), false;
		moved |= w > 0;
		if (!moved)
			break;
	}
	if (c->c_eof && !iobuf_data(&c->c2g) && !c->g_shut) {
		shutdown(c->gs.fd, SHUT_WR);
		c->g_shut = true;
	}
	if (c->g_eof && !iobuf_data(&c->g2c) && !c->c_shut) {
		if (!c->g_any) /* the guest relay could not reach the port */
			return conn_guest_gone(c), false;
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
	if (c->c_shut && c->g_shut)
		return conn_close(c), false;
	return true;
}

static void on_conn(int fd, uint32_t events, void *opaque)
{
	struct fwd_conn *c = opaque;

	if (c->gs.state != FWD_GS_OPEN) {
		if (fd == c->cfd) { /* bytes before the guest answered: keep them */
			ssize_t n = iobuf_read(c->cfd, &c->c2g);

			if (n == 0)
				c->c_eof = true;
			else if (n < 0 && errno != EAGAIN)
				return conn_close(c);
			return conn_update(c);
		}
		int r = fwd_gs_step(&c->gs, c->l);

		if (r < 0) {
			fwd_refused(c->l,
				    "the sandbox's port relay did not answer (is it running?)");
			return conn_reset(c);
		}
		if (r == 0)
			return conn_update(c);
	}
	if (relay(c))
		conn_update(c);
}

/* Refuse (reset) a client we cannot serve. */
static void refuse_fd(struct fwd_listener *l, int fd, const char *why)
{
	set_reset(fd);
	close(fd);
	fwd_refused(l, why);
}

static void conn_new(struct fwd_listener *l, int fd)
{
	struct fwd_conn *c;
	int one = 1;

	if (l->nconns >= FWD_CONNS_MAX)
		return refuse_fd(l, fd, "too many connections open");
	c = calloc(1, sizeof(*c));
	if (!c || iobuf_init(&c->c2g, FWD_BUF_CAP) < 0 || iobuf_init(&c->g2c, FWD_BUF_CAP) < 0) {
		if (c) {
			iobuf_free(&c->c2g);
			iobuf_free(&c->g2c);
			free(c);
		}
		return refuse_fd(l, fd, "out of memory");
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->l = l;
	c->cfd = fd;
	ports_hdr_put(c->c2g.d, PORTS_PROTO_TCP, l->spec.sandbox_port);
	c->c2g.len = PORTS_HDR_LEN;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	if (fwd_gs_begin(&c->gs, l) < 0) {
		fwd_refused(l, "cannot reach the sandbox's vsock socket (is it running?)");
		return conn_reset(c);
	}
	conn_update(c);
}

static void listener_pause(struct fwd_listener *l)
{
	evloop_del(loop, l->fd);
	l->paused = true;
	l->pause_until = fwd_now_ms() + FWD_ACCEPT_PAUSE_MS;
}

static void on_accept(int lfd, uint32_t events, void *opaque)
{
	struct fwd_listener *l = opaque;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_new(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* the pending client stays queued; try again after a pause */
			fwd_refused(l, "out of file descriptors");
			listener_pause(l);
		}
		return;
	}
}

/* The tick: retry waiting guest connects, expire handshakes, resume paused listeners. */
static void sweep(void *opaque)
{
	long long now = fwd_now_ms();

	for (struct fwd_listener *l = listeners; l; l = l->next) {
		struct fwd_conn *c, *next;

		if (l->paused && now >= l->pause_until &&
		    evloop_add(loop, l->fd, EPOLLIN,
			       l->spec.proto == PORTS_PROTO_TCP ? on_accept : fwd_udp_event,
			       l) == 0)
			l->paused = false;
		for (c = l->conns; c; c = next) {
			next = c->next;
			if (c->gs.state == FWD_GS_OPEN)
				continue;
			if (c->gs.state == FWD_GS_RETRY) {
				if (fwd_gs_step(&c->gs, l) < 0) {
					fwd_refused(l, "cannot reach the sandbox's vsock socket");
					conn_reset(c);
					continue;
				}
				conn_update(c);
			}
			if (now >= c->gs.deadline) {
				fwd_refused(l, "the sandbox did not answer in time");
				conn_reset(c);
			}
		}
		fwd_udp_sweep(l, now);
	}
}

/* ---- listeners and the calls that add and remove them ---- */

static bool listener_match(const struct fwd_listener *l, const char *name,
			   const struct port_spec *p)
{
	return strcmp(l->name, name) == 0 && l->spec.proto == p->proto &&
	       l->spec.host_port == p->host_port && strcmp(l->spec.host_ip, p->host_ip) == 0;
}

static void listener_free(struct fwd_listener *l)
{
	char at[PORTSPEC_TEXT_MAX];

	while (l->conns)
		conn_close(l->conns);
	while (l->flows)
		fwd_flow_close(l->flows);
	if (!l->paused)
		evloop_del(loop, l->fd);
	close(l->fd);
	sbx_log("ports %s: unpublished %s", l->name, portspec_format(&l->spec, at, sizeof(at)));
	free(l);
}

/* Remove @name's listeners matching @p (all of them when @p is NULL). */
static void do_remove(const char *name, const struct port_spec *p)
{
	struct fwd_listener **pp = &listeners;

	while (*pp) {
		struct fwd_listener *l = *pp;

		if (strcmp(l->name, name) == 0 && (!p || listener_match(l, name, p))) {
			*pp = l->next;
			listener_free(l);
		} else {
			pp = &l->next;
		}
	}
}

/* On the forwarder thread: serve @arg's (a struct fwd_cmd) listener, which it takes. */
static void do_add(void *arg)
{
	const struct fwd_cmd *cm = arg;
	struct fwd_listener *l;
	char at[PORTSPEC_TEXT_MAX];
	bool tcp = cm->spec.proto == PORTS_PROTO_TCP;

	do_remove(cm->name, &cm->spec); /* the same address again replaces the old one */
	l = calloc(1, sizeof(*l));
	if (!l || evloop_add(loop, cm->fd, EPOLLIN, tcp ? on_accept : fwd_udp_event, l) < 0) {
		sbx_log("ports %s: cannot serve %s: %s", cm->name,
			portspec_format(&cm->spec, at, sizeof(at)), strerror(errno));
		close(cm->fd);
		free(l);
		return;
	}
	snprintf(l->name, sizeof(l->name), "%s", cm->name);
	l->vsock = cm->vsock;
	l->spec = cm->spec;
	l->fd = cm->fd;
	l->next = listeners;
	listeners = l;
	sbx_log("ports %s: publishing %s", l->name, portspec_format(&l->spec, at, sizeof(at)));
}

/* On the forwarder thread: remove @arg's (a struct fwd_cmd) listener. */
static void do_remove_one(void *arg)
{
	const struct fwd_cmd *cm = arg;

	do_remove(cm->name, &cm->spec);
}

/* On the forwarder thread: remove every listener of @arg's (a struct fwd_cmd) sandbox. */
static void do_remove_all(void *arg)
{
	const struct fwd_cmd *cm = arg;

	do_remove(cm->name, NULL);
}

/* On the forwarder thread: is @arg's (a struct fwd_cmd) listener served? Into its found. */
static void do_has(void *arg)
{
	struct fwd_cmd *cm = arg;

	cm->found = false;
	for (const struct fwd_listener *l = listeners; l && !cm->found; l = l->next)
		cm->found = listener_match(l, cm->name, &cm->spec) &&
			    l->spec.sandbox_port == cm->spec.sandbox_port;
}

int ports_fwd_start(void)
{
	struct loopthread *t;

	if (thread)
		return 0;
	loopthread_raise_nofile(); /* every forwarded connection holds two fds (client, guest) */
	t = loopthread_new();
	if (!t) {
		sbx_err("ports: cannot set up the forwarder's event loop: %s", strerror(errno));
		return -1;
	}
	loop = loopthread_loop(t);
	thread = t; /* before the thread runs: fwd_want_retry() uses it there */
	if (loopthread_start(t, FWD_SWEEP_MS, sweep, NULL) < 0) {
		sbx_err("ports: cannot start the forwarder thread: %s", strerror(errno));
		thread = NULL;
		return -1;
	}
	return 0;
}

int ports_fwd_listen(const struct port_spec *p, uint16_t *bound, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool tcp = p->proto == PORTS_PROTO_TCP;
	char at[PORTSPEC_TEXT_MAX];
	int fd = -1, one = 1, e;

	addr_text(p, at, sizeof(at));
	memset(&ss, 0, sizeof(ss));
	if (p->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p->host_port);
		e = inet_pton(AF_INET6, p->host_ip, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(p->host_port);
		e = p->family == AF_INET ? inet_pton(AF_INET, p->host_ip, &s4->sin_addr) : 0;
		sl = sizeof(*s4);
	}
	if (e != 1 || (!tcp && p->proto != PORTS_PROTO_UDP)) {
		snprintf(err, errlen, "cannot listen on %s: not an IP address and protocol", at);
		return -1;
	}
	fd = socket(p->family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (p->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || (tcp && listen(fd, 512) < 0))
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (e == EADDRINUSE)
		snprintf(err, errlen,
			 "host port %s is already in use (by another program or sandbox)", at);
	else if (e == EADDRNOTAVAIL)
		snprintf(err, errlen,
			 p->family == AF_INET6
			     ? "host address [%s] is not an address of this machine"
			     : "host address %s is not an address of this machine",
			 p->host_ip);
	else if (e == EACCES)
		snprintf(err, errlen, "host port %u needs privileges (pick a port above 1023)",
			 (unsigned)p->host_port);
	else
		snprintf(err, errlen, "cannot listen on %s: %s", at, strerror(e));
	return -1;
}

void ports_fwd_add(const char *name, const char *vsock_path, const struct port_spec *p, int fd)
{
	struct fwd_cmd cm = {.fd = fd, .spec = *p};
	char at[PORTSPEC_TEXT_MAX];

	if (!thread || strlen(vsock_path) >= sizeof(cm.vsock.sun_path)) {
		sbx_log("ports %s: cannot serve %s: %s", name, portspec_format(p, at, sizeof(at)),
			thread ? "vsock socket path too long" : "forwarder not running");
		close(fd);
		return;
	}
	if (!cm.spec.host_port) { /* the caller did not fill in the bound port */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			cm.spec.host_port =
			    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							   : ((struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	cm.vsock.sun_family = AF_UNIX;
	strcpy(cm.vsock.sun_path, vsock_path);
	loopthread_call(thread, do_add, &cm);
}

void ports_fwd_remove(const char *name, const struct port_spec *p)
{
	struct fwd_cmd cm = {.spec = *p, .fd = -1};

	if (!thread)
		return;
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	loopthread_call(thread, do_remove_one, &cm);
}

void ports_fwd_remove_all(const char *name)
{
	struct fwd_cmd cm = {.fd = -1};

	if (!thread)
		return;
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	loopthread_call(thread, do_remove_all, &cm);
}

bool ports_fwd_has(const char *name, const struct port_spec *p)
{
	struct fwd_cmd cm = {.spec = *p, .fd = -1};

	if (!thread)
		return false;
	snprintf(cm.name, sizeof(cm.name), "%s", name);
	loopthread_call(thread, do_has, &cm);
	return cm.found;
}
