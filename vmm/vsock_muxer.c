// SPDX-License-Identifier: Apache-2.0
/*
 * Hybrid vsock muxer (the Firecracker design, docs/vsock.md): one listening
 * unix socket for host-initiated streams with a "CONNECT <port>\n" handshake,
 * "<path>_<port>" sockets for guest-initiated ones, a table of streams keyed
 * by (local port, peer port), and a queue of streams that owe the guest a
 * packet (virtio 1.2, 5.10.6).
 *
 * Everything the guest controls is bounded: streams (max_conns), queued RST
 * replies to stray packets (RSTQ_MAX, dropped beyond that), buffered bytes
 * (buf_alloc per stream). Host clients are bounded too (max_handshakes,
 * handshake_timeout_ms, VSOCK_CONNECT_LINE_MAX).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "vsock_conn.h"
#include "vsock_muxer.h"

#define BUCKETS    256 /* power of two */
#define RSTQ_MAX   64
#define EVENTS_MAX 32
/* Host-initiated streams get local ports from here up, like Firecracker. */
#define LOCAL_PORT_FIRST (1u << 30)
#define LISTEN_PAUSE_MS  100

enum node_kind { NODE_LISTENER = 1, NODE_TIMER, NODE_HANDSHAKE, NODE_CONN };

/* Every epoll registration points at a struct that starts with its kind. */
struct mux_tag {
	enum node_kind kind;
};

struct mux_handshake {
	enum node_kind kind;
	int fd;
	size_t len;
	uint64_t deadline_ms;
	struct mux_handshake *prev, *next;
	char line[VSOCK_CONNECT_LINE_MAX];
};

struct mux_conn {
	enum node_kind kind;
	struct vsock_conn conn;
	uint32_t ep_events; /* what the fd is registered for; 0 = not registered */
	bool in_rxq;
	struct mux_conn *hnext;             /* hash bucket chain */
	struct mux_conn *rx_prev, *rx_next; /* rx queue */
};

struct vsock_muxer {
	struct vsock_muxer_config cfg;
	char *path;
	int epfd, listen_fd, timer_fd;
	struct mux_tag listener_tag, timer_tag;
	uint64_t timer_armed_ms;      /* deadline the timer is set for, 0 = disarmed */
	uint64_t listen_paused_until; /* accept failed for lack of resources */

	struct mux_handshake *handshakes;
	unsigned n_handshakes;

	struct mux_conn *buckets[BUCKETS];
	unsigned n_conns;
	uint32_t next_port;

	struct mux_conn *rx_head, *rx_tail;
	struct vsock_hdr rstq[RSTQ_MAX];
	unsigned rstq_head, rstq_len;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- CONNECT line -------------------------------------------------------- */

int vsock_connect_parse(const char *line, size_t len, uint32_t *port)
{
	static const char prefix[] = "CONNECT ";
	size_t plen = sizeof(prefix) - 1;
	if (len < plen + 2 || len > VSOCK_CONNECT_LINE_MAX || memcmp(line, prefix, plen) != 0 ||
	    line[len - 1] != '\n')
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = plen; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || i - plen >= 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

/* ---- connection table and rx queue --------------------------------------- */

static unsigned bucket_of(uint32_t local, uint32_t peer)
{
	uint32_t h = local * 0x9e3779b1u ^ peer * 0x85ebca6bu;
	return (h ^ (h >> 16)) & (BUCKETS - 1);
}

/* The guest's stream on these ports. Orphans (streams the guest forgot,
 * still flushing to the host) are not its any more: a new stream may reuse
 * their ports meanwhile. */
static struct mux_conn *conn_find(struct vsock_muxer *m, uint32_t local, uint32_t peer)
{
	for (struct mux_conn *mc = m->buckets[bucket_of(local, peer)]; mc; mc = mc->hnext)
		if (mc->conn.local_port == local && mc->conn.peer_port == peer &&
		    !vsock_conn_orphaned(&mc->conn))
			return mc;
	return NULL;
}

static void rxq_append(struct vsock_muxer *m, struct mux_conn *mc)
{
	mc->rx_next = NULL;
	mc->rx_prev = m->rx_tail;
	if (m->rx_tail)
		m->rx_tail->rx_next = mc;
	else
		m->rx_head = mc;
	m->rx_tail = mc;
	mc->in_rxq = true;
}

static void rxq_remove(struct vsock_muxer *m, struct mux_conn *mc)
{
	if (!mc->in_rxq)
		return;
	if (mc->rx_prev)
		mc->rx_prev->rx_next = mc->rx_next;
	else
		m->rx_head = mc->rx_next;
	if (mc->rx_next)
		mc->rx_next->rx_prev = mc->rx_prev;
	else
		m->rx_tail = mc->rx_prev;
	mc->in_rxq = false;
	mc->rx_prev = mc->rx_next = NULL;
}

static void conn_remove(struct vsock_muxer *m, struct mux_conn *mc)
{
	struct mux_conn **pp = &m->buckets[bucket_of(mc->conn.local_port, mc->conn.peer_port)];
	while (*pp && *pp != mc)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = mc->hnext;
	rxq_remove(m, mc);
	if (mc->ep_events && mc->conn.fd >= 0)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, mc->conn.fd, NULL);
	vsock_conn_exit(&mc->conn);
	m->n_conns--;
	free(mc);
}

/*
 * After every call into a connection: free it when it is finished, else
 * bring its epoll registration and rx-queue membership up to date.
 */
static void conn_sync(struct vsock_muxer *m, struct mux_conn *mc)
{
	struct vsock_conn *c = &mc->conn;
	if (vsock_conn_done(c)) {
		conn_remove(m, mc);
		return;
	}
	if (c->state == VSOCK_CONN_DEAD && c->fd >= 0) {
		/* Unregister before closing: the host client sees EOF now. */
		if (mc->ep_events)
			epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		mc->ep_events = 0;
		vsock_conn_close(c);
	}
	if (c->fd >= 0) {
		uint32_t want = vsock_conn_events(c);
		if (want != mc->ep_events) {
			struct epoll_event ev = {.events = want, .data.ptr = mc};
			int op = !want           ? EPOLL_CTL_DEL
				 : mc->ep_events ? EPOLL_CTL_MOD
						 : EPOLL_CTL_ADD;
			if (epoll_ctl(m->epfd, op, c->fd, &ev) < 0)
				log_warn("vsock: epoll_ctl: %s", strerror(errno));
			mc->ep_events = want;
		}
	}
	if (vsock_conn_has_rx(c) && !mc->in_rxq)
		rxq_append(m, mc);
}

static int conn_add(struct vsock_muxer *m, struct mux_conn *mc)
{
	unsigned b = bucket_of(mc->conn.local_port, mc->conn.peer_port);
	mc->kind = NODE_CONN;
	mc->hnext = m->buckets[b];
	m->buckets[b] = mc;
	m->n_conns++;
	conn_sync(m, mc);
	return 0;
}

static void rst_queue(struct vsock_muxer *m, const struct vsock_hdr *to)
{
	if (m->rstq_len == RSTQ_MAX) {
		log_debug("vsock: rst queue full, dropping reply to port %u", to->src_port);
		return;
	}
	/* Echo the type: Linux resets unsupported socket types this way too. */
	m->rstq[(m->rstq_head + m->rstq_len++) % RSTQ_MAX] = (struct vsock_hdr){
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = m->cfg.guest_cid,
	    .src_port = to->dst_port,
	    .dst_port = to->src_port,
	    .type = to->type,
	    .op = VSOCK_OP_RST,
	};
}

static struct mux_conn *conn_new(struct vsock_muxer *m, int fd, uint32_t local, uint32_t peer,
				 struct vsock_conn_params *p)
{
	struct mux_conn *mc = calloc(1, sizeof(*mc));
	if (!mc)
		return NULL;
	*p = (struct vsock_conn_params){
	    .fd = fd,
	    .guest_cid = m->cfg.guest_cid,
	    .local_port = local,
	    .peer_port = peer,
	    .buf_alloc = m->cfg.buf_alloc,
	    .shutdown_timeout_ms = m->cfg.shutdown_timeout_ms,
	};
	return mc;
}

static void timer_arm(struct vsock_muxer *m, uint64_t deadline_ms);

/* Make sure the timer fires by deadline_ms. */
static void timer_consider(struct vsock_muxer *m, uint64_t deadline_ms)
{
	if (!m->timer_armed_ms || deadline_ms < m->timer_armed_ms)
		timer_arm(m, deadline_ms);
}

/* ---- guest -> host ------------------------------------------------------- */

/* Connect to "<path>_<port>" without blocking: a unix connect either
 * completes at once or fails (EAGAIN when the listener's backlog is full). */
static int connect_port(struct vsock_muxer *m, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", m->path, port);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static void guest_connect(struct vsock_muxer *m, const struct vsock_hdr *h)
{
	if (m->n_conns >= m->cfg.max_conns) {
		/* Debug level: a guest could flood the log with these. */
		log_debug("vsock: guest connect to port %u refused: %u streams open", h->dst_port,
			  m->n_conns);
		rst_queue(m, h);
		return;
	}
	int fd = connect_port(m, h->dst_port);
	if (fd < 0) {
		log_debug("vsock: guest connect to %s_%u: %s", m->path, h->dst_port, strerror(-fd));
		rst_queue(m, h);
		return;
	}
	struct vsock_conn_params p;
	struct mux_conn *mc = conn_new(m, fd, h->dst_port, h->src_port, &p);
	if (!mc) {
		close(fd);
		rst_queue(m, h);
		return;
	}
	vsock_conn_init_peer(&mc->conn, &p, h);
	conn_add(m, mc);
}

int vsock_muxer_tx(struct vsock_muxer *m, const struct vsock_hdr *h, const struct iovec *data,
		   int n)
{
	const char *why = NULL;
	switch (vsock_hdr_check(h, m->cfg.guest_cid, &why)) {
	case VSOCK_PKT_DROP:
		log_debug("vsock: dropped guest %s packet: %s", vsock_op_name(h->op), why);
		return 0;
	case VSOCK_PKT_RST:
		log_debug("vsock: reset guest %s packet: %s", vsock_op_name(h->op), why);
		rst_queue(m, h);
		return 0;
	case VSOCK_PKT_OK:
		break;
	}
	if (n < 0 || vsock_iov_len(data, n) != h->len)
		return -EINVAL; /* the device handed us a short payload */
	struct mux_conn *mc = conn_find(m, h->dst_port, h->src_port);
	if (!mc) {
		if (h->op == VSOCK_OP_REQUEST)
			guest_connect(m, h);
		else if (h->op != VSOCK_OP_RST)
			rst_queue(m, h); /* a stream we do not know */
		return 0;
	}
	vsock_conn_tx(&mc->conn, h, data, n, now_ms());
	uint64_t deadline = mc->conn.deadline_ms;
	conn_sync(m, mc);
	if (deadline)
		timer_consider(m, deadline); /* e.g. flushing after the guest closed */
	return 0;
}

/* ---- host -> guest ------------------------------------------------------- */

int vsock_muxer_rx(struct vsock_muxer *m, struct vsock_hdr *h, const struct iovec *data, int n)
{
	if (m->rstq_len > 0) {
		*h = m->rstq[m->rstq_head];
		m->rstq_head = (m->rstq_head + 1) % RSTQ_MAX;
		m->rstq_len--;
		return 0;
	}
	/* Round robin; each stream is tried at most once per call so that one
	 * that cannot use the guest's buffer cannot make this loop spin. */
	unsigned tries = m->n_conns;
	uint64_t now = now_ms();
	while (m->rx_head && tries-- > 0) {
		struct mux_conn *mc = m->rx_head;
		rxq_remove(m, mc);
		int r = vsock_conn_rx(&mc->conn, h, data, n, now);
		conn_sync(m, mc);
		if (r == 0)
			return 0;
	}
	return -EAGAIN;
}

bool vsock_muxer_has_rx(const struct vsock_muxer *m)
{
	return m->rstq_len > 0 || m->rx_head != NULL;
}

unsigned vsock_muxer_conn_count(const struct vsock_muxer *m)
{
	return m->n_conns;
}

/* ---- host-initiated: listener and CONNECT handshake ---------------------- */

static void handshake_free(struct vsock_muxer *m, struct mux_handshake *hs, bool close_fd)
{
	if (hs->prev)
		hs->prev->next = hs->next;
	else
		m->handshakes = hs->next;
	if (hs->next)
		hs->next->prev = hs->prev;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, hs->fd, NULL);
	if (close_fd)
		close(hs->fd);
	m->n_handshakes--;
	free(hs);
}

static bool local_port_taken(struct vsock_muxer *m, uint32_t port)
{
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct mux_conn *mc = m->buckets[b]; mc; mc = mc->hnext)
			if (mc->conn.local_port == port)
				return true;
	return false;
}

/* A fresh local port in [2^30, 2^32) not used by any stream; n_conns is
 * bounded, so this ends quickly. */
static uint32_t local_port_alloc(struct vsock_muxer *m)
{
	for (;;) {
		uint32_t p = m->next_port++;
		if (m->next_port == 0)
			m->next_port = LOCAL_PORT_FIRST;
		if (!local_port_taken(m, p))
			return p;
	}
}

/* The client sent a complete line: turn it into a stream that asks the guest. */
static void handshake_done(struct vsock_muxer *m, struct mux_handshake *hs)
{
	uint32_t port;
	if (vsock_connect_parse(hs->line, hs->len, &port) < 0) {
		log_debug("vsock: malformed CONNECT line from host client");
		handshake_free(m, hs, true);
		return;
	}
	if (m->n_conns >= m->cfg.max_conns) {
		log_warn("vsock: host connect to port %u refused: %u streams open", port,
			 m->n_conns);
		handshake_free(m, hs, true);
		return;
	}
	struct vsock_conn_params p;
	struct mux_conn *mc = conn_new(m, hs->fd, local_port_alloc(m), port, &p);
	if (!mc) {
		handshake_free(m, hs, true);
		return;
	}
	p.deadline_ms = now_ms() + m->cfg.connect_timeout_ms;
	handshake_free(m, hs, false);
	vsock_conn_init_local(&mc->conn, &p);
	conn_add(m, mc);
}

/*
 * Read the CONNECT line without swallowing stream bytes behind it: peek,
 * then consume only up to the newline. Consuming what was peeked also keeps
 * the level-triggered fd from firing again for bytes already seen.
 */
static void handshake_read(struct vsock_muxer *m, struct mux_handshake *hs)
{
	char peek[VSOCK_CONNECT_LINE_MAX];
	size_t room = sizeof(hs->line) - hs->len;
	ssize_t r = recv(hs->fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		handshake_free(m, hs, true); /* closed or failed before CONNECT */
		return;
	}
	char *nl = memchr(peek, '\n', (size_t)r);
	size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)r;
	ssize_t got = recv(hs->fd, hs->line + hs->len, take, MSG_DONTWAIT);
	if (got != (ssize_t)take) {
		handshake_free(m, hs, true);
		return;
	}
	hs->len += take;
	if (nl)
		handshake_done(m, hs);
	else if (hs->len == sizeof(hs->line)) {
		log_debug("vsock: CONNECT line too long");
		handshake_free(m, hs, true);
	}
}

static void listener_watch(struct vsock_muxer *m, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &m->listener_tag};
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->listen_fd, &ev);
}

static void listener_accept(struct vsock_muxer *m)
{
	/* A bounded batch; level-triggered epoll brings us back for the rest. */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* Out of fds or memory: the pending client stays queued and the
			 * level-triggered listener would wake us in a loop, so stop
			 * watching it for a while. */
			log_warn("vsock: accept on %s: %s", m->path, strerror(errno));
			listener_watch(m, false);
			m->listen_paused_until = now_ms() + LISTEN_PAUSE_MS;
			timer_consider(m, m->listen_paused_until);
			return;
		}
		struct mux_handshake *hs = NULL;
		if (m->n_handshakes < m->cfg.max_handshakes)
			hs = calloc(1, sizeof(*hs));
		if (!hs) {
			log_warn("vsock: too many host clients in handshake, closing one");
			close(fd);
			continue;
		}
		*hs = (struct mux_handshake){.kind = NODE_HANDSHAKE,
					     .fd = fd,
					     .deadline_ms = now_ms() + m->cfg.handshake_timeout_ms,
					     .next = m->handshakes};
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = hs};
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(hs);
			continue;
		}
		if (m->handshakes)
			m->handshakes->prev = hs;
		m->handshakes = hs;
		m->n_handshakes++;
	}
}

/* ---- timeouts ------------------------------------------------------------ */

static void timer_arm(struct vsock_muxer *m, uint64_t deadline_ms)
{
	if (deadline_ms == m->timer_armed_ms)
		return;
	struct itimerspec its = {0};
	if (deadline_ms) {
		its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
		its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	}
	timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	m->timer_armed_ms = deadline_ms;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* Expire what is due and arm the timer for the next deadline. */
static void expire(struct vsock_muxer *m, uint64_t now)
{
	uint64_t next = 0;
	if (m->listen_paused_until && now >= m->listen_paused_until) {
		m->listen_paused_until = 0;
		listener_watch(m, true);
	}
	next = m->listen_paused_until;
	for (struct mux_handshake *hs = m->handshakes, *n; hs; hs = n) {
		n = hs->next;
		if (now >= hs->deadline_ms) {
			log_debug("vsock: host client sent no CONNECT line in time");
			handshake_free(m, hs, true);
		} else {
			next = earliest(next, hs->deadline_ms);
		}
	}
	for (unsigned b = 0; b < BUCKETS; b++) {
		for (struct mux_conn *mc = m->buckets[b], *n; mc; mc = n) {
			n = mc->hnext;
			if (!mc->conn.deadline_ms)
				continue;
			vsock_conn_tick(&mc->conn, now);
			next = earliest(next, mc->conn.deadline_ms);
			conn_sync(m, mc);
		}
	}
	timer_arm(m, next);
}

int vsock_muxer_process(struct vsock_muxer *m)
{
	struct epoll_event evs[EVENTS_MAX];
	int n = epoll_wait(m->epfd, evs, EVENTS_MAX, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	uint64_t now = now_ms();
	for (int i = 0; i < n; i++) {
		struct mux_tag *tag = evs[i].data.ptr;
		switch (tag->kind) {
		case NODE_LISTENER:
			listener_accept(m);
			break;
		case NODE_TIMER: {
			uint64_t ticks;
			if (read(m->timer_fd, &ticks, sizeof(ticks)) < 0)
				(void)0; /* EAGAIN after a re-arm: nothing to do */
			m->timer_armed_ms = 0;
			break;
		}
		case NODE_HANDSHAKE:
			handshake_read(m, (struct mux_handshake *)tag);
			break;
		case NODE_CONN: {
			struct mux_conn *mc = (struct mux_conn *)tag;
			vsock_conn_notify(&mc->conn, evs[i].events, now);
			conn_sync(m, mc);
			break;
		}
		}
	}
	expire(m, now_ms());
	return 0;
}

int vsock_muxer_fd(const struct vsock_muxer *m)
{
	return m->epfd;
}

/* ---- draining at exit ---------------------------------------------------- */

/* A stream whose guest bytes still wait for its host socket. */
static bool owes_host(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && c->fd >= 0 && c->txbuf.len > 0;
}

size_t vsock_muxer_host_pending(const struct vsock_muxer *m)
{
	size_t n = 0;
	for (unsigned b = 0; b < BUCKETS; b++)
		for (const struct mux_conn *mc = m->buckets[b]; mc; mc = mc->hnext)
			if (owes_host(&mc->conn))
				n += mc->conn.txbuf.len;
	return n;
}

/* While draining, a stream is watched for writability only, and only while
 * it owes the host bytes: a readable socket (level-triggered) or an idle
 * one must not wake the wait. */
static void drain_watch(struct vsock_muxer *m, struct mux_conn *mc)
{
	uint32_t want = owes_host(&mc->conn) ? EPOLLOUT : 0;
	if (want == mc->ep_events || mc->conn.fd < 0)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = mc};
	int op = !want ? EPOLL_CTL_DEL : mc->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(m->epfd, op, mc->conn.fd, &ev) < 0)
		log_warn("vsock: epoll_ctl: %s", strerror(errno));
	mc->ep_events = want;
}

/* Stop everything but the streams' writes: the listener, the timer and
 * host clients still in their handshake (they never reach the guest now). */
static void drain_begin(struct vsock_muxer *m)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->listen_fd, NULL);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->timer_fd, NULL);
	while (m->handshakes)
		handshake_free(m, m->handshakes, true);
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct mux_conn *mc = m->buckets[b]; mc; mc = mc->hnext) {
			const struct vsock_conn *c = &mc->conn;
			log_debug("vsock: stream %u<->%u at exit: %u bytes from the guest, %u "
				  "written, %u buffered",
				  c->local_port, c->peer_port, c->recv_cnt, c->fwd_cnt,
				  c->txbuf.len);
			/* No deadline may end a stream while its bytes go out. */
			mc->conn.deadline_ms = 0;
			drain_watch(m, mc);
		}
}

size_t vsock_muxer_drain(struct vsock_muxer *m, unsigned timeout_ms)
{
	drain_begin(m);
	uint64_t deadline = now_ms() + timeout_ms;
	size_t left;
	while ((left = vsock_muxer_host_pending(m)) > 0) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		struct epoll_event evs[EVENTS_MAX];
		int n = epoll_wait(m->epfd, evs, EVENTS_MAX, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct mux_conn *mc = evs[i].data.ptr;
			/* EPOLLOUT only: an EPOLLIN flag would make it read. */
			vsock_conn_notify(&mc->conn, EPOLLOUT, now_ms());
			drain_watch(m, mc);
		}
	}
	return left;
}

/* ---- lifetime ------------------------------------------------------------ */

/* Bind path; a socket file nobody accepts on (its VMM died) is replaced. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return -errno;
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct stat st;
		if (probe < 0 || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			return -EADDRINUSE;
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    errno != ECONNREFUSED)
			return -EADDRINUSE;
		if (unlink(path) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
	}
	if (listen(fd, 128) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int config_check(struct vsock_muxer_config *cfg)
{
	/* "<path>_4294967295" must fit in sun_path too. */
	if (!cfg->path || !cfg->path[0] ||
	    strlen(cfg->path) + 12 > sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	/* CIDs 0-2 are reserved; the upper 32 bits must be zero (5.10.4). */
	if (cfg->guest_cid < 3 || cfg->guest_cid >= UINT32_MAX)
		return -EINVAL;
	if (!cfg->max_conns)
		cfg->max_conns = 256;
	if (!cfg->max_handshakes)
		cfg->max_handshakes = 64;
	if (!cfg->buf_alloc)
		cfg->buf_alloc = 256 * 1024;
	if (!cfg->connect_timeout_ms)
		cfg->connect_timeout_ms = 2000;
	if (!cfg->handshake_timeout_ms)
		cfg->handshake_timeout_ms = 5000;
	if (!cfg->shutdown_timeout_ms)
		cfg->shutdown_timeout_ms = 10000;
	return 0;
}

static int watch(struct vsock_muxer *m, int fd, struct mux_tag *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int vsock_muxer_new(const struct vsock_muxer_config *cfg, struct vsock_muxer **out)
{
	struct vsock_muxer *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	m->epfd = m->listen_fd = m->timer_fd = -1;
	m->next_port = LOCAL_PORT_FIRST;
	m->listener_tag.kind = NODE_LISTENER;
	m->timer_tag.kind = NODE_TIMER;
	int r = config_check(&m->cfg);
	if (r < 0)
		goto fail;
	m->path = strdup(cfg->path);
	m->cfg.path = m->path;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!m->path || m->epfd < 0 || m->timer_fd < 0) {
		r = m->path ? -errno : -ENOMEM;
		goto fail;
	}
	r = listen_on(m->path);
	if (r < 0)
		goto fail;
	m->listen_fd = r;
	r = watch(m, m->listen_fd, &m->listener_tag);
	if (r == 0)
		r = watch(m, m->timer_fd, &m->timer_tag);
	if (r < 0)
		goto fail_unlink;
	*out = m;
	return 0;

fail_unlink:
	unlink(m->path);
fail:
	vsock_muxer_free(m);
	return r;
}

void vsock_muxer_reset(struct vsock_muxer *m)
{
	/* Host clients still sending CONNECT are not guest state: they stay.
	 * Bytes the guest sent before it reset were sent: streams holding
	 * some live on as orphans until those are written (Linux resets every
	 * virtio device on its way to poweroff, right after its last write). */
	uint64_t now = now_ms();
	for (unsigned b = 0; b < BUCKETS; b++) {
		for (struct mux_conn *mc = m->buckets[b], *n; mc; mc = n) {
			n = mc->hnext;
			rxq_remove(m, mc);
			vsock_conn_orphan(&mc->conn, now);
			conn_sync(m, mc);
		}
	}
	m->rstq_head = m->rstq_len = 0;
	expire(m, now);
}

void vsock_muxer_free(struct vsock_muxer *m)
{
	if (!m)
		return;
	if (m->epfd >= 0) {
		for (unsigned b = 0; b < BUCKETS; b++)
			while (m->buckets[b])
				conn_remove(m, m->buckets[b]);
		while (m->handshakes)
			handshake_free(m, m->handshakes, true);
	}
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		unlink(m->path);
	}
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	free(m->path);
	free(m);
}
