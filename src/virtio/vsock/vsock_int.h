/* Internals shared by the vsock device files (device.c: queues and packets; hybrid.c: unix
 * sockets). Owns the struct vsock_dev layout. Never included outside src/virtio/vsock. */
#ifndef SBX_VIRTIO_VSOCK_INT_H
#define SBX_VIRTIO_VSOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/vsock/conn.h"
#include "virtio/vsock/pkt.h"
#include "virtio/vsock/vsock.h"

#define VSOCK_CTRL_MAX	    256 /* queued RSTs for streams we no longer track */
#define VSOCK_HANDSHAKE_MS  5000
#define VSOCK_CONNECT_MS    5000
#define VSOCK_CLOSE_MS	    10000
#define VSOCK_CREDIT_THRESH (VSOCK_BUF_ALLOC / 4)

struct vsock_dev {
	struct virtio_dev vdev;
	uint64_t guest_cid;
	char *uds_path;
	struct evloop *loop;
	int listen_fd;
	int timer_fd;
	uint32_t next_port;

	struct vsock_conn_table t;
	int q_head, q_tail; /* rx pending list */

	struct vsock_hdr ctrl[VSOCK_CTRL_MAX];
	unsigned ctrl_head, ctrl_len;
	unsigned rx_pushed;
};

/* device.c */

/**
 * vsock_rx_enqueue() - put @c on the round-robin list of streams owing the guest a packet.
 */
void vsock_rx_enqueue(struct vsock_dev *d, struct vsock_conn *c);

/**
 * vsock_rx_run() - fill available rx buffers: queued RSTs first, then one packet per stream
 * per turn; interrupts the guest if anything was pushed. Stops when rx buffers run out.
 */
void vsock_rx_run(struct vsock_dev *d);

/**
 * vsock_ctrl_rst() - queue an RST for a stream we no longer (or never) tracked; dropped with a
 * log line when VSOCK_CTRL_MAX are already queued.
 */
void vsock_ctrl_rst(struct vsock_dev *d, uint32_t local_port, uint32_t peer_port);

/**
 * vsock_conn_kill() - close @c's socket and free its slot; @rst: also tell the guest (RST).
 */
void vsock_conn_kill(struct vsock_dev *d, struct vsock_conn *c, bool rst);

/**
 * vsock_conn_check_done() - free @c (with RST) once both directions are finished, or the guest
 * shut both ways and everything it sent was delivered. @c may be freed on return.
 */
void vsock_conn_check_done(struct vsock_dev *d, struct vsock_conn *c);

/* hybrid.c */

/**
 * vsock_now_ms() - CLOCK_MONOTONIC in milliseconds (deadlines).
 */
uint64_t vsock_now_ms(void);

/**
 * vsock_conn_update_events() - set @c's epoll interest from its state: read only while the
 * guest has credit and nothing read is pending, write only while bytes are buffered.
 */
void vsock_conn_update_events(struct vsock_dev *d, struct vsock_conn *c);

/**
 * vsock_conn_connect_host() - connect @c to "<uds>_<local_port>" (non-blocking).
 * Return: 0, or -1 (no listener, backlog full, path too long). Syscalls: socket, connect.
 */
int vsock_conn_connect_host(struct vsock_dev *d, struct vsock_conn *c);

/**
 * vsock_conn_flush() - write buffered guest bytes to the host socket; shut its write side
 * once drained after a guest SHUTDOWN(SEND). Return: 0, or -1 if @c was freed.
 */
int vsock_conn_flush(struct vsock_dev *d, struct vsock_conn *c);

/**
 * vsock_conn_write_guest_data() - deliver @len payload bytes (@iov in guest memory) to the host
 * socket, buffering what it does not take (within VSOCK_BUF_ALLOC).
 * Return: 0, or -1 if @c was freed (socket error).
 */
int vsock_conn_write_guest_data(struct vsock_dev *d, struct vsock_conn *c, const struct iovec *iov,
				int niov, size_t len);

/**
 * vsock_conn_established() - the guest accepted a host-initiated stream: write "OK <port>\n".
 * Return: 0, or -1 if @c was freed.
 */
int vsock_conn_established(struct vsock_dev *d, struct vsock_conn *c);

/**
 * vsock_hybrid_start() - create the housekeeping timer (deadlines). Return: 0 or -1.
 */
int vsock_hybrid_start(struct vsock_dev *d);

/**
 * vsock_hybrid_stop() - close the listener (unlinking its path) and the timer.
 */
void vsock_hybrid_stop(struct vsock_dev *d);

/**
 * vsock_conn_close_fd() - stop watching and close @c's socket (slot stays allocated).
 */
void vsock_conn_close_fd(struct vsock_dev *d, struct vsock_conn *c);

#endif
