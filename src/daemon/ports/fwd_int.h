/* The port forwarder's internals, shared by fwd.c (thread, listeners, guest streams, TCP) and
 * fwd_udp.c (UDP flows). Never included outside src/daemon/ports and its tests. Everything
 * here lives on the forwarder thread; other threads only hand it calls (fwd.c). */
#ifndef SBX_DAEMON_PORTS_FWD_INT_H
#define SBX_DAEMON_PORTS_FWD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/evloop.h"
#include "common/iobuf.h"
#include "common/portspec.h"

#define FWD_BUF_CAP	    (256u << 10) /* TCP: each direction of one connection */
#define FWD_HS_MS	    10000	 /* connect + "OK" from the guest */
#define FWD_CONNS_MAX	    4096	 /* TCP connections per listener */
#define FWD_FLOWS_MAX	    256		 /* UDP flows per listener */
#define FWD_UDP_TOG_CAP	    (128u << 10) /* UDP: framed datagrams queued toward the guest */
#define FWD_UDP_FROMG_CAP   (128u << 10) /* UDP: frames read from the guest (>= one frame) */
#define FWD_UDP_BATCH	    64		 /* datagrams handled per wake-up of a listener */
#define FWD_SWEEP_MS	    250		 /* deadlines, idle flows, paused listeners */
#define FWD_RETRY_MS	    20		 /* a guest connect refused with EAGAIN is retried */
#define FWD_ACCEPT_PAUSE_MS 250		 /* out of fds: a listener is not watched for a while */

enum fwd_gs_state {
	FWD_GS_RETRY,	   /* connect() said EAGAIN (backlog full): retried by the sweep */
	FWD_GS_CONNECTING, /* connect() in progress: waiting for EPOLLOUT */
	FWD_GS_WAIT_OK,	   /* "CONNECT 1025\n" sent: waiting for "OK <n>\n" */
	FWD_GS_OPEN,	   /* the stream carries the header and then payload */
};

/* The guest end of one connection or flow: a hybrid-vsock stream and its handshake. */
struct fwd_gs {
	int fd;
	uint32_t ev; /* epoll interest registered now (0: none) */
	enum fwd_gs_state state;
	long long deadline; /* monotonic ms the handshake must finish by; 0 when open */
	char line[32];	    /* the "OK <n>\n" line read so far */
	size_t line_len;
};

struct fwd_conn;
struct fwd_flow;

/* One published host address of one sandbox. */
struct fwd_listener {
	char name[64];
	struct sockaddr_un vsock; /* <run_dir>/vsock.sock */
	struct port_spec spec;	  /* host_port is the bound one */
	int fd;
	bool paused; /* not watched until pause_until (out of fds) */
	long long pause_until;
	struct fwd_conn *conns; /* TCP */
	unsigned nconns;
	struct fwd_flow *flows; /* UDP */
	unsigned nflows;
	long long refuse_logged; /* when a refusal was last logged (ms) */
	unsigned refused;	 /* refusals not logged yet */
	struct fwd_listener *next;
};

/* One UDP client address of a listener and its framed guest stream. */
struct fwd_flow {
	struct fwd_listener *l;
	struct fwd_gs gs;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct iobuf tog;   /* header, then framed datagrams toward the guest */
	struct iobuf fromg; /* frames from the guest, possibly partial */
	long long idle_at;  /* monotonic ms the flow expires at */
	struct fwd_flow *prev, *next;
};

/* fwd.c: shared with fwd_udp.c */
long long fwd_now_ms(void);
struct evloop *fwd_loop(void);
void fwd_refused(struct fwd_listener *l, const char *why);
void fwd_want_retry(void);
void fwd_set_interest(int fd, uint32_t *have, uint32_t want, evloop_cb cb, void *opaque);

/**
 * fwd_gs_begin() - open @g's unix socket toward @l's guest, send the CONNECT line when the
 * connect completes at once. Return: 0 (state set, deadline armed), -1 (cannot connect).
 */
int fwd_gs_begin(struct fwd_gs *g, const struct fwd_listener *l);

/**
 * fwd_gs_step() - advance @g's handshake after an event or a retry.
 * Return: 1 when the stream just opened, 0 when still pending, -1 when it failed (the
 * guest is unreachable, refused, or answered something other than "OK <n>\n").
 */
int fwd_gs_step(struct fwd_gs *g, const struct fwd_listener *l);

/**
 * fwd_gs_want() - epoll interest the handshake of @g needs (0 when open or retrying).
 */
uint32_t fwd_gs_want(const struct fwd_gs *g);

/* fwd_udp.c */
void fwd_udp_event(int fd, uint32_t events, void *opaque);
void fwd_flow_close(struct fwd_flow *f);
void fwd_udp_sweep(struct fwd_listener *l, long long now);

#endif
