/* The port forwarder's UDP side: one flow per client address of a listener, each a framed
 * hybrid-vsock stream to the guest relay (u16 BE length + payload, src/proto/ports.h).
 * Datagrams are dropped, never waited for: when a queue is full, a flow cap is reached, or
 * the reply cannot be sent at once. Runs only on the forwarder thread (fwd.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/ports/fwd_int.h"
#include "proto/ports.h"

/* One datagram read from a listener; the forwarder thread is the only user. */
static uint8_t dgram[PORTS_DGRAM_MAX + 1];

static void on_flow(int fd, uint32_t events, void *opaque);

static void flow_update(struct fwd_flow *f)
{
	uint32_t want;

	if (f->gs.state == FWD_GS_OPEN)
		want = EPOLLIN | (f->tog.len > f->tog.off ? EPOLLOUT : 0);
	else
		want = fwd_gs_want(&f->gs);
	fwd_set_interest(f->gs.fd, &f->gs.ev, want, on_flow, f);
}

/**
 * fwd_flow_close() - close @f's guest stream and free it.
 */
void fwd_flow_close(struct fwd_flow *f)
{
	struct fwd_listener *l = f->l;

	fwd_set_interest(f->gs.fd, &f->gs.ev, 0, NULL, NULL);
	if (f->gs.fd >= 0)
		close(f->gs.fd);
	if (f->prev)
		f->prev->next = f->next;
	else
		l->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	l->nflows--;
	iobuf_free(&f->tog);
	iobuf_free(&f->fromg);
	free(f);
}

/* Send every whole frame in f->fromg to the client. Return false if @f was closed. */
static bool deliver(struct fwd_flow *f)
{
	struct iobuf *b = &f->fromg;

	for (;;) {
		long n = ports_dgram_frame(b->d + b->off, iobuf_data(b));

		if (n < 0) { /* a length no datagram has: the stream is not ours to trust */
			fwd_flow_close(f);
			return false;
		}
		if (n == 0)
			break;
		/* a full socket buffer or an unreachable client drops the datagram, as UDP does */
		(void)!sendto(f->l->fd, b->d + b->off + 2, (size_t)n - 2,
			      MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&f->peer,
			      f->peer_len);
		iobuf_consume(b, (size_t)n);
		f->idle_at = fwd_now_ms() + PORTS_UDP_IDLE_MS;
	}
	return true;
}

/* Move frames both ways on an open flow. Return false if @f was closed. */
static bool flow_io(struct fwd_flow *f)
{
	if (iobuf_write(f->gs.fd, &f->tog, NULL) < 0) {
		fwd_flow_close(f);
		return false;
	}
	for (int round = 0; round < 8; round++) {
		ssize_t n = iobuf_read(f->gs.fd, &f->fromg);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* the guest ended the flow (EOF or error) */
			fwd_flow_close(f);
			return false;
		}
		if (!deliver(f))
			return false;
	}
	return true;
}

static void on_flow(int fd, uint32_t events, void *opaque)
{
	struct fwd_flow *f = opaque;

	if (f->gs.state != FWD_GS_OPEN) {
		int r = fwd_gs_step(&f->gs, f->l);

		if (r < 0) {
			fwd_refused(f->l,
				    "the sandbox's port relay did not answer (is it running?)");
			return fwd_flow_close(f);
		}
		if (r == 0)
			return flow_update(f);
	}
	if (flow_io(f))
		flow_update(f);
}

static struct fwd_flow *flow_find(struct fwd_listener *l, const struct sockaddr_storage *a,
				  socklen_t alen)
{
	for (struct fwd_flow *f = l->flows; f; f = f->next)
		if (f->peer_len == alen && memcmp(&f->peer, a, alen) == 0)
			return f;
	return NULL;
}

static struct fwd_flow *flow_new(struct fwd_listener *l, const struct sockaddr_storage *a,
				 socklen_t alen)
{
	struct fwd_flow *f;

	if (l->nflows >= FWD_FLOWS_MAX) {
		fwd_refused(l, "too many UDP clients at once: datagram dropped");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || iobuf_init(&f->tog, FWD_UDP_TOG_CAP) < 0 ||
	    iobuf_init(&f->fromg, FWD_UDP_FROMG_CAP) < 0) {
		if (f) {
			iobuf_free(&f->tog);
			iobuf_free(&f->fromg);
			free(f);
		}
		fwd_refused(l, "out of memory: datagram dropped");
		return NULL;
	}
	f->l = l;
	memcpy(&f->peer, a, alen);
	f->peer_len = alen;
	ports_hdr_put(f->tog.d, PORTS_PROTO_UDP, l->spec.sandbox_port);
	f->tog.len = PORTS_HDR_LEN;
	f->idle_at = fwd_now_ms() + PORTS_UDP_IDLE_MS;
	f->next = l->flows;
	if (l->flows)
		l->flows->prev = f;
	l->flows = f;
	l->nflows++;
	if (fwd_gs_begin(&f->gs, l) < 0) {
		fwd_refused(l, "cannot reach the sandbox's vsock socket (is it running?)");
		fwd_flow_close(f);
		return NULL;
	}
	flow_update(f);
	return f;
}

/* Frame @n bytes of dgram onto @f's queue toward the guest; drop them if it is full. */
static void flow_queue(struct fwd_flow *f, size_t n)
{
	struct iobuf *b = &f->tog;
	uint8_t len[2];

	if (b->cap - b->len < n + 2) /* a whole frame or nothing */
		iobuf_compact(b);
	if (b->cap - b->len < n + 2)
		return;
	ports_dgram_put_len(len, n);
	iobuf_put(b, len, sizeof(len));
	iobuf_put(b, dgram, n);
	f->idle_at = fwd_now_ms() + PORTS_UDP_IDLE_MS;
}

/**
 * fwd_udp_event() - a UDP listener is readable: route each datagram to its client's flow
 * (a new one for a new address), at most FWD_UDP_BATCH per call.
 */
void fwd_udp_event(int fd, uint32_t events, void *opaque)
{
	struct fwd_listener *l = opaque;

	for (int i = 0; i < FWD_UDP_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		struct fwd_flow *f;
		ssize_t n = recvfrom(fd, dgram, sizeof(dgram), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an error the next datagram does not have */
		}
		if ((size_t)n > PORTS_DGRAM_MAX || flen > sizeof(from))
			continue; /* too big to frame */
		f = flow_find(l, &from, flen);
		if (!f)
			f = flow_new(l, &from, flen);
		if (!f)
			continue;
		flow_queue(f, (size_t)n);
		if (f->gs.state == FWD_GS_OPEN && flow_io(f))
			flow_update(f);
	}
}

/**
 * fwd_udp_sweep() - retry waiting guest connects of @l's flows, end those whose handshake
 * is late or that were idle for PORTS_UDP_IDLE_MS (@now: fwd_now_ms()).
 */
void fwd_udp_sweep(struct fwd_listener *l, long long now)
{
	struct fwd_flow *f, *next;

	for (f = l->flows; f; f = next) {
		next = f->next;
		if (f->gs.state == FWD_GS_RETRY) {
			if (fwd_gs_step(&f->gs, l) < 0) {
				fwd_refused(l, "cannot reach the sandbox's vsock socket");
				fwd_flow_close(f);
				continue;
			}
			flow_update(f);
		}
		if ((f->gs.state != FWD_GS_OPEN && now >= f->gs.deadline) || now >= f->idle_at)
			fwd_flow_close(f);
	}
}
