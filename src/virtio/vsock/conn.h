/* vsock connection state and the fixed-size connection table (VSOCK_MAX_CONNS, no growth).
 * Owns slot allocation, the (host port, guest port) hash and per-stream credit arithmetic.
 * Never does I/O: sockets and queues belong to hybrid.c and device.c. */
#ifndef SBX_VIRTIO_VSOCK_CONN_H
#define SBX_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>

#define VSOCK_MAX_CONNS 1024
#define VSOCK_HASH_SIZE 2048
#define VSOCK_BUF_ALLOC (256 * 1024) /* per stream, per direction */
#define VSOCK_NO_CONN	(-1)

enum vsock_conn_state {
	VCONN_FREE = 0,
	VCONN_HANDSHAKE,   /* host peer accepted, waiting for "CONNECT <port>\n" */
	VCONN_CONNECTING,  /* REQUEST sent to the guest, waiting for RESPONSE/RST */
	VCONN_ESTABLISHED, /* relaying */
	VCONN_CLOSING,	   /* we told the guest SHUTDOWN both ways; waiting for its RST */
};

/* What the device still owes the guest for this stream (sent in this order of precedence). */
#define VPEND_REQUEST  (1u << 0)
#define VPEND_RESPONSE (1u << 1)
#define VPEND_CREDIT   (1u << 2)
#define VPEND_SHUTDOWN (1u << 3)

struct vsock_conn {
	enum vsock_conn_state state;
	int fd;
	uint32_t local_port; /* host side */
	uint32_t peer_port;  /* guest side */

	/* guest-bound: what the guest lets us send */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* host-bound: what we let the guest send */
	uint32_t rx_cnt, fwd_cnt, last_fwd_adv;
	uint8_t *buf; /* VSOCK_BUF_ALLOC ring, allocated on first partial write */
	uint32_t buf_head, buf_len;

	uint32_t pending;   /* VPEND_* */
	uint32_t shut_send; /* flags for the pending SHUTDOWN */
	uint8_t peer_shut;  /* VSOCK_SHUTDOWN_* received from the guest */
	bool readable;	    /* socket reported readable and not yet drained */
	bool eof;	    /* host peer will send nothing more */
	bool hup;	    /* host peer gone both ways */
	bool wr_shut;	    /* we did shutdown(SHUT_WR) */
	uint32_t ev_mask;   /* epoll mask currently set (or ~0u when not registered) */
	uint64_t deadline;  /* ms, CLOCK_MONOTONIC; 0 = none */
	char hs[32];	    /* handshake line so far */
	uint8_t hs_len;

	void *owner;	  /* the device, for fd callbacks */
	int hnext;	  /* hash chain */
	int qprev, qnext; /* rx pending list */
	bool queued;
	int fnext; /* free list */
};

struct vsock_conn_table {
	struct vsock_conn c[VSOCK_MAX_CONNS];
	int hash[VSOCK_HASH_SIZE];
	int free_head;
	unsigned used;
};

/**
 * vconn_table_init() - mark every slot free (and free any stream buffers first if @reinit).
 */
void vconn_table_init(struct vsock_conn_table *t, bool reinit);

/**
 * vconn_alloc() - take a free slot, zeroed, with fd -1.
 * Return: the connection, or NULL when VSOCK_MAX_CONNS are in use.
 */
struct vsock_conn *vconn_alloc(struct vsock_conn_table *t);

/**
 * vconn_release() - return a slot (removing it from the hash if hashed; frees its buffer).
 * The caller has already closed its fd and unlinked it from the rx list.
 */
void vconn_release(struct vsock_conn_table *t, struct vsock_conn *c);

/**
 * vconn_hash_add() - make @c findable by (local_port, peer_port).
 * Return: 0, or -1 if that pair is already in use.
 */
int vconn_hash_add(struct vsock_conn_table *t, struct vsock_conn *c);

/**
 * vconn_lookup() - find the stream for a (host port, guest port) pair.
 * Return: the connection or NULL.
 */
struct vsock_conn *vconn_lookup(struct vsock_conn_table *t, uint32_t local_port,
				uint32_t peer_port);

/**
 * vconn_index() - slot index of @c.
 */
int vconn_index(const struct vsock_conn_table *t, const struct vsock_conn *c);

/**
 * vconn_peer_credit() - bytes the guest still accepts from us on this stream.
 */
uint32_t vconn_peer_credit(const struct vsock_conn *c);

/**
 * vconn_our_space() - bytes of our host-bound budget not yet used by the guest.
 */
uint32_t vconn_our_space(const struct vsock_conn *c);

#endif
