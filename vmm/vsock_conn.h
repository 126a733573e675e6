/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One hybrid-vsock stream connection: a virtio-vsock stream (virtio 1.2,
 * 5.10.6.3-5.10.6.6) between a guest port and a host unix socket, its state
 * machine and its credit accounting in both directions.
 *
 * Direction names follow the device's queues: "tx" is what the guest sent
 * (to be written to the unix socket), "rx" is what the device puts on the
 * guest's rx queue (control packets and data read from the unix socket).
 *
 * Flow control: the guest may have at most buf_alloc bytes outstanding
 * (sent but not yet written to the host socket); we advertise fwd_cnt, the
 * bytes written so far. We send the guest at most its credit,
 * peer_buf_alloc - (rx_cnt - peer_fwd_cnt). A guest that overruns its credit
 * is reset, so buffering never exceeds buf_alloc.
 */
#ifndef HULL_VMM_VSOCK_CONN_H
#define HULL_VMM_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsock_packet.h"
#include "vsock_ring.h"

enum vsock_conn_state {
	VSOCK_CONN_LOCAL_INIT,  /* host-initiated: REQUEST owed/sent, awaiting RESPONSE */
	VSOCK_CONN_ESTABLISHED, /* stream open (maybe half-closed) */
	VSOCK_CONN_DEAD,        /* finished; socket to be closed, maybe an RST owed */
};

/* Control packets owed to the guest (vsock_conn.pending). */
enum {
	VSOCK_PEND_REQUEST = 1u << 0,
	VSOCK_PEND_RESPONSE = 1u << 1,
	VSOCK_PEND_RST = 1u << 2,
	VSOCK_PEND_CREDIT_UPDATE = 1u << 3,
	VSOCK_PEND_CREDIT_REQUEST = 1u << 4,
	VSOCK_PEND_SHUTDOWN = 1u << 5,
};

struct vsock_conn {
	int fd; /* non-blocking unix stream socket, -1 once closed */
	enum vsock_conn_state state;
	uint64_t guest_cid;
	uint32_t local_port; /* host side */
	uint32_t peer_port;  /* guest side */
	unsigned pending;    /* VSOCK_PEND_* */
	bool readable;       /* the socket polled readable; read until EAGAIN */
	bool host_eof;       /* the host socket reached EOF: SHUTDOWN(SEND) owed/sent */
	bool host_wr_shut;   /* we did shutdown(SHUT_WR) on the socket */
	bool credit_requested;
	bool peer_reset;      /* the guest sent RST while its data was still buffered */
	uint32_t peer_shut;   /* VSOCK_SHUTDOWN_* flags the guest sent */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0 = none */
	uint64_t shutdown_timeout_ms;

	/* guest -> host */
	struct vsock_ring txbuf; /* cap = our buf_alloc */
	uint32_t recv_cnt;       /* payload bytes received from the guest */
	uint32_t fwd_cnt;        /* of those, bytes written to the socket */
	uint32_t last_fwd_cnt_sent;

	/* host -> guest */
	uint32_t rx_cnt; /* payload bytes put on the guest's rx queue */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
};

struct vsock_conn_params {
	int fd; /* taken over */
	uint64_t guest_cid;
	uint32_t local_port;
	uint32_t peer_port;
	uint32_t buf_alloc;
	uint64_t deadline_ms;         /* LOCAL_INIT: give up on the guest then */
	uint64_t shutdown_timeout_ms; /* how long to flush after the guest closed */
};

/* Host-initiated (after a CONNECT line): owes the guest a REQUEST. */
void vsock_conn_init_local(struct vsock_conn *c, const struct vsock_conn_params *p);
/* Guest-initiated (req is its REQUEST, the socket is connected): owes a RESPONSE. */
void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_conn_params *p,
			  const struct vsock_hdr *req);
/* Close the socket and free the buffer. */
void vsock_conn_exit(struct vsock_conn *c);
/* Close the socket of a DEAD connection (after removing it from epoll: a
 * forked child holding a copy would otherwise keep it registered). */
void vsock_conn_close(struct vsock_conn *c);

/*
 * A guest packet for this connection (already checked by vsock_hdr_check;
 * data holds exactly h->len payload bytes). Protocol violations reset the
 * connection; nothing here blocks.
 */
void vsock_conn_tx(struct vsock_conn *c, const struct vsock_hdr *h, const struct iovec *data, int n,
		   uint64_t now_ms);

/*
 * Fill the next packet for the guest: *h and, for RW, up to
 * iov_len(data) payload bytes read straight from the socket into data.
 * Returns 0 with a packet, -EAGAIN when nothing is owed.
 */
int vsock_conn_rx(struct vsock_conn *c, struct vsock_hdr *h, const struct iovec *data, int n,
		  uint64_t now_ms);

/*
 * The guest forgot the stream (it reset it, or the whole device) while
 * bytes it sent still wait for the host socket: write them out within
 * shutdown_timeout_ms, then close without a word to the guest.
 */
void vsock_conn_orphan(struct vsock_conn *c, uint64_t now_ms);
/* Orphaned: only flushing to the host, no longer the guest's stream. */
bool vsock_conn_orphaned(const struct vsock_conn *c);

/* The socket polled with `events` (EPOLL*). */
void vsock_conn_notify(struct vsock_conn *c, uint32_t events, uint64_t now_ms);
/* Enforce deadline_ms. */
void vsock_conn_tick(struct vsock_conn *c, uint64_t now_ms);

/* EPOLL* events worth polling the socket for now (0: do not poll it). */
uint32_t vsock_conn_events(const struct vsock_conn *c);
/* Whether vsock_conn_rx() has something to give. */
bool vsock_conn_has_rx(const struct vsock_conn *c);
/* Dead and owing nothing: may be freed. */
bool vsock_conn_done(const struct vsock_conn *c);
/* Bytes we may still send the guest. */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);

#endif
