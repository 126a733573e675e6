// SPDX-License-Identifier: Apache-2.0
/*
 * One hybrid-vsock stream connection (virtio 1.2, 5.10.6.3 "Buffer Space
 * Management", 5.10.6.5 "Stream Sockets", 5.10.6.6 "Device Events"): the
 * connection state machine, credit accounting, and moving bytes between
 * guest buffers and the host unix socket without ever blocking.
 *
 * Closing follows what Linux's virtio transport expects: a side that is done
 * sends SHUTDOWN with RCV/SEND flags, and the side that sees both directions
 * finished answers with RST, which ends the connection for both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "vsock_conn.h"

/* At most this many iovec entries are used for one RW read. */
#define RX_IOV_MAX 64

static void conn_init(struct vsock_conn *c, const struct vsock_conn_params *p)
{
	*c = (struct vsock_conn){
	    .fd = p->fd,
	    .guest_cid = p->guest_cid,
	    .local_port = p->local_port,
	    .peer_port = p->peer_port,
	    .shutdown_timeout_ms = p->shutdown_timeout_ms,
	};
	vsock_ring_init(&c->txbuf, p->buf_alloc);
}

void vsock_conn_init_local(struct vsock_conn *c, const struct vsock_conn_params *p)
{
	conn_init(c, p);
	c->state = VSOCK_CONN_LOCAL_INIT;
	c->pending = VSOCK_PEND_REQUEST;
	c->deadline_ms = p->deadline_ms;
}

void vsock_conn_init_peer(struct vsock_conn *c, const struct vsock_conn_params *p,
			  const struct vsock_hdr *req)
{
	conn_init(c, p);
	c->state = VSOCK_CONN_ESTABLISHED;
	c->pending = VSOCK_PEND_RESPONSE;
	c->peer_buf_alloc = req->buf_alloc;
	c->peer_fwd_cnt = req->fwd_cnt;
}

static void close_fd(struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void vsock_conn_exit(struct vsock_conn *c)
{
	close_fd(c);
	vsock_ring_exit(&c->txbuf);
}

void vsock_conn_close(struct vsock_conn *c)
{
	vsock_conn_exit(c);
}

/* End the connection: the guest gets an RST unless it is the one that reset.
 * The socket stays open until the owner, which may have it registered with
 * epoll, calls vsock_conn_close(). */
static void conn_kill(struct vsock_conn *c, bool send_rst, const char *why)
{
	if (c->state == VSOCK_CONN_DEAD)
		return;
	log_debug("vsock: conn %u<->%u closed: %s", c->local_port, c->peer_port, why);
	vsock_ring_exit(&c->txbuf);
	c->state = VSOCK_CONN_DEAD;
	c->pending = send_rst ? VSOCK_PEND_RST : 0;
	c->readable = false;
	c->deadline_ms = 0;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt; /* wraps like the counters */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool can_send_data(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof &&
	       !(c->peer_shut & VSOCK_SHUTDOWN_RCV) && vsock_conn_peer_credit(c) > 0;
}

/* Both directions are finished (or the guest closed and all its data is
 * out): end with RST, which Linux waits for after its SHUTDOWN. */
static void check_close(struct vsock_conn *c)
{
	if (c->state != VSOCK_CONN_ESTABLISHED || c->txbuf.len > 0)
		return;
	if (c->peer_shut == VSOCK_SHUTDOWN_BOTH)
		conn_kill(c, !c->peer_reset, "guest shut down");
	else if ((c->peer_shut & VSOCK_SHUTDOWN_SEND) && c->host_eof)
		conn_kill(c, true, "both directions done");
}

/* Tell the guest about freed buffer space before it stalls on stale credit. */
static void maybe_credit_update(struct vsock_conn *c)
{
	if (c->peer_reset)
		return;
	uint32_t seen_used = c->recv_cnt - c->last_fwd_cnt_sent;
	uint32_t seen_free = seen_used >= c->txbuf.cap ? 0 : c->txbuf.cap - seen_used;
	if (c->fwd_cnt != c->last_fwd_cnt_sent && seen_free < c->txbuf.cap / 2)
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
}

/* After the guest's data is all out: pass its SHUTDOWN(SEND) on as EOF. */
static void after_flush(struct vsock_conn *c)
{
	if (c->txbuf.len == 0 && (c->peer_shut & VSOCK_SHUTDOWN_SEND) && !c->host_wr_shut &&
	    c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	maybe_credit_update(c);
	check_close(c);
}

static void flush(struct vsock_conn *c)
{
	ssize_t w = vsock_ring_flush(&c->txbuf, c->fd);
	if (w == -EAGAIN)
		return;
	if (w < 0) {
		conn_kill(c, true, "host socket write failed");
		return;
	}
	c->fwd_cnt += (uint32_t)w;
	after_flush(c);
}

/* Guest payload: straight to the socket while nothing is queued (keeps
 * ordering), the rest into the ring. */
static void deliver(struct vsock_conn *c, const struct vsock_hdr *h, const struct iovec *data,
		    int n)
{
	if (c->peer_shut & VSOCK_SHUTDOWN_SEND) {
		conn_kill(c, true, "guest sent data after SHUTDOWN(SEND)");
		return;
	}
	uint32_t used = c->recv_cnt - c->fwd_cnt;
	if (h->len > c->txbuf.cap - used) {
		conn_kill(c, true, "guest overran its credit");
		return;
	}
	if (h->len == 0)
		return;
	c->recv_cnt += h->len;
	size_t written = 0;
	if (c->txbuf.len == 0) {
		struct msghdr msg = {.msg_iov = (struct iovec *)data, .msg_iovlen = (size_t)n};
		ssize_t w;
		do
			w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_kill(c, true, "host socket write failed");
			return;
		}
		written = w > 0 ? (size_t)w : 0;
		c->fwd_cnt += (uint32_t)written;
	}
	if (vsock_ring_push(&c->txbuf, data, n, written) < 0) {
		conn_kill(c, true, "out of memory for the connection buffer");
		return;
	}
	after_flush(c);
}

/* The guest answered our REQUEST: complete the hybrid handshake with the
 * host client ("OK <local port>\n"), which then owns a raw stream. */
static void established(struct vsock_conn *c)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	/* A fresh socket's send buffer always has room for these few bytes. */
	ssize_t w = send(c->fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w != len) {
		conn_kill(c, true, "host client went away before OK");
		return;
	}
	c->state = VSOCK_CONN_ESTABLISHED;
	c->deadline_ms = 0;
}

static void tx_established(struct vsock_conn *c, const struct vsock_hdr *h,
			   const struct iovec *data, int n, uint64_t now_ms)
{
	switch (h->op) {
	case VSOCK_OP_RW:
		deliver(c, h, data, n);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* the credit fields were taken already */
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
		break;
	case VSOCK_OP_SHUTDOWN:
		c->peer_shut |= h->flags & VSOCK_SHUTDOWN_BOTH;
		if (c->peer_shut == VSOCK_SHUTDOWN_BOTH && c->txbuf.len > 0 && !c->deadline_ms)
			c->deadline_ms = now_ms + c->shutdown_timeout_ms;
		after_flush(c);
		break;
	case VSOCK_OP_RST:
		/* Linux resets a closed stream whose RST from us is late (8 s
		 * after close()); the bytes it sent before are still owed to
		 * the host. */
		vsock_conn_orphan(c, now_ms);
		break;
	default: /* REQUEST or RESPONSE on an open stream */
		conn_kill(c, true, "unexpected op on an open stream");
		break;
	}
}

void vsock_conn_orphan(struct vsock_conn *c, uint64_t now_ms)
{
	if (c->state != VSOCK_CONN_ESTABLISHED || c->txbuf.len == 0) {
		conn_kill(c, false, "guest reset");
		return;
	}
	/* Flush like after a SHUTDOWN (the host sees EOF after the last
	 * byte), then close without answering: the guest has forgotten the
	 * stream, so it is sent nothing more. */
	c->peer_reset = true;
	c->peer_shut = VSOCK_SHUTDOWN_BOTH;
	c->pending = 0;
	c->readable = false;
	if (!c->deadline_ms)
		c->deadline_ms = now_ms + c->shutdown_timeout_ms;
	after_flush(c);
}

bool vsock_conn_orphaned(const struct vsock_conn *c)
{
	return c->peer_reset;
}

void vsock_conn_tx(struct vsock_conn *c, const struct vsock_hdr *h, const struct iovec *data, int n,
		   uint64_t now_ms)
{
	if (c->state == VSOCK_CONN_DEAD)
		return;
	/* Every packet carries the sender's current buffer state (5.10.6.3). */
	if (c->peer_buf_alloc != h->buf_alloc || c->peer_fwd_cnt != h->fwd_cnt)
		c->credit_requested = false;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;

	if (c->state == VSOCK_CONN_LOCAL_INIT) {
		if (h->op == VSOCK_OP_RESPONSE && !(c->pending & VSOCK_PEND_REQUEST))
			established(c);
		else if (h->op == VSOCK_OP_RST)
			conn_kill(c, false, "nothing listens on the guest port");
		else
			conn_kill(c, true, "unexpected op while connecting");
		return;
	}
	tx_established(c, h, data, n, now_ms);
}

static void hdr_fill(const struct vsock_conn *c, struct vsock_hdr *h, uint16_t op)
{
	*h = (struct vsock_hdr){
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = c->guest_cid,
	    .src_port = c->local_port,
	    .dst_port = c->peer_port,
	    .type = VSOCK_TYPE_STREAM,
	    .op = op,
	    .buf_alloc = c->txbuf.cap,
	    .fwd_cnt = c->fwd_cnt,
	};
}

/* Read up to the guest's credit (and one packet's worth) from the socket
 * straight into the guest buffers. 1: RW packet made; 0: nothing to read
 * now; -1: the connection ended or reached EOF (packet owed instead). */
static int read_data(struct vsock_conn *c, struct vsock_hdr *h, const struct iovec *data, int n)
{
	struct iovec iov[RX_IOV_MAX];
	size_t want = vsock_conn_peer_credit(c), got = 0;
	if (want > VSOCK_MAX_PKT_LEN)
		want = VSOCK_MAX_PKT_LEN;
	int k = 0;
	for (int i = 0; i < n && k < RX_IOV_MAX && got < want; i++) {
		size_t l = data[i].iov_len < want - got ? data[i].iov_len : want - got;
		if (l == 0)
			continue;
		iov[k++] = (struct iovec){data[i].iov_base, l};
		got += l;
	}
	if (got == 0)
		return 0; /* no room in the guest buffer: a zero read would look like EOF */
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)k};
	ssize_t r;
	do
		r = recvmsg(c->fd, &msg, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return 0;
	}
	if (r < 0) {
		conn_kill(c, true, "host socket read failed");
		return -1;
	}
	if (r == 0) {
		c->readable = false;
		c->host_eof = true;
		c->pending |= VSOCK_PEND_SHUTDOWN;
		check_close(c);
		return -1;
	}
	hdr_fill(c, h, VSOCK_OP_RW);
	h->len = (uint32_t)r;
	c->rx_cnt += (uint32_t)r;
	/* Starved: ask the guest for fresh credit once instead of waiting for
	 * it to volunteer an update. */
	if (vsock_conn_peer_credit(c) == 0 && !c->credit_requested) {
		c->pending |= VSOCK_PEND_CREDIT_REQUEST;
		c->credit_requested = true;
	}
	return 1;
}

/* Take the highest-priority owed control packet, if any. */
static bool take_control(struct vsock_conn *c, struct vsock_hdr *h, bool data_next)
{
	static const struct {
		unsigned bit;
		uint16_t op;
	} order[] = {
	    {VSOCK_PEND_RST, VSOCK_OP_RST},
	    {VSOCK_PEND_REQUEST, VSOCK_OP_REQUEST},
	    {VSOCK_PEND_RESPONSE, VSOCK_OP_RESPONSE},
	    {VSOCK_PEND_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE},
	    {VSOCK_PEND_SHUTDOWN, VSOCK_OP_SHUTDOWN},
	    {VSOCK_PEND_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST},
	};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->pending & order[i].bit))
			continue;
		/* Data read before EOF goes out before the SHUTDOWN that ends it;
		 * a credit update rides on any data packet instead. */
		if (data_next && order[i].bit != VSOCK_PEND_RST &&
		    order[i].bit != VSOCK_PEND_RESPONSE)
			return false;
		c->pending &= ~order[i].bit;
		hdr_fill(c, h, order[i].op);
		if (order[i].op == VSOCK_OP_SHUTDOWN)
			h->flags = VSOCK_SHUTDOWN_SEND;
		return true;
	}
	return false;
}

int vsock_conn_rx(struct vsock_conn *c, struct vsock_hdr *h, const struct iovec *data, int n,
		  uint64_t now_ms)
{
	for (;;) {
		bool data_next = c->readable && can_send_data(c);
		if (take_control(c, h, data_next))
			break;
		if (!data_next)
			return -EAGAIN;
		int r = read_data(c, h, data, n);
		if (r > 0)
			break;
		if (r == 0 && c->readable)
			return -ENOBUFS; /* the guest gave no room for data */
		/* EAGAIN, EOF or reset: an owed control packet may follow */
	}
	c->last_fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~VSOCK_PEND_CREDIT_UPDATE; /* every packet carries fwd_cnt */
	if (h->op == VSOCK_OP_RST && c->state != VSOCK_CONN_DEAD)
		conn_kill(c, false, "reset");
	return 0;
}

void vsock_conn_notify(struct vsock_conn *c, uint32_t events, uint64_t now_ms)
{
	if (c->state != VSOCK_CONN_ESTABLISHED)
		return;
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->txbuf.len > 0)
		flush(c);
	if (c->state == VSOCK_CONN_ESTABLISHED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		c->readable = true; /* the read reports EOF or the error */
}

void vsock_conn_tick(struct vsock_conn *c, uint64_t now_ms)
{
	if (!c->deadline_ms || now_ms < c->deadline_ms)
		return;
	if (c->state == VSOCK_CONN_LOCAL_INIT)
		/* No RST for a REQUEST the guest never got (its rx queue was full). */
		conn_kill(c, !(c->pending & VSOCK_PEND_REQUEST),
			  "guest did not answer the connection request");
	else
		conn_kill(c, !c->peer_reset, "timed out flushing data after the guest closed");
}

uint32_t vsock_conn_events(const struct vsock_conn *c)
{
	if (c->fd < 0 || c->state != VSOCK_CONN_ESTABLISHED)
		return 0;
	uint32_t ev = 0;
	if (c->txbuf.len > 0)
		ev |= EPOLLOUT;
	/* Once known readable, stop polling for input until a read hits EAGAIN:
	 * with no guest rx buffers the level-triggered event would spin. */
	if (!c->readable && can_send_data(c))
		ev |= EPOLLIN;
	return ev;
}

bool vsock_conn_has_rx(const struct vsock_conn *c)
{
	return c->pending != 0 || (c->readable && can_send_data(c));
}

bool vsock_conn_done(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_DEAD && c->pending == 0;
}
