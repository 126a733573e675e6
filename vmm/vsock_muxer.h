/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hybrid-vsock muxer: maps virtio-vsock streams to host unix sockets the
 * way Firecracker does.
 *
 *   host -> guest: a client connects to `path` and writes "CONNECT <port>\n";
 *                  once the guest accepts, it reads "OK <local port>\n" and
 *                  the socket is the stream. If the guest refuses (RST) or
 *                  does not answer in time, the socket is closed.
 *   guest -> host: a guest REQUEST to cid 2 port P connects to "<path>_P";
 *                  the guest gets RESPONSE, or RST when that fails.
 *
 * The muxer knows nothing of virtqueues: the device hands it guest packets
 * (vsock_muxer_tx) and asks it for packets to deliver (vsock_muxer_rx). All
 * sockets are non-blocking and polled through one epoll fd (vsock_muxer_fd)
 * that the owner watches and answers with vsock_muxer_process().
 *
 * Not thread-safe: the device serializes calls.
 */
#ifndef HULL_VMM_VSOCK_MUXER_H
#define HULL_VMM_VSOCK_MUXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsock_packet.h"

/* Longest "CONNECT <port>\n" line accepted, newline included. */
#define VSOCK_CONNECT_LINE_MAX 32

struct vsock_muxer_config {
	const char *path;   /* the VM's unix socket; guest connects go to <path>_<port> */
	uint64_t guest_cid; /* >= 3 */
	/* 0 picks the default for each of these. */
	unsigned max_conns;            /* streams at once (256) */
	unsigned max_handshakes;       /* host clients yet to send CONNECT (64) */
	uint32_t buf_alloc;            /* per-stream buffer advertised to the guest (256 KiB) */
	unsigned connect_timeout_ms;   /* guest must answer a REQUEST (2000) */
	unsigned handshake_timeout_ms; /* host client must send its CONNECT line (5000) */
	unsigned shutdown_timeout_ms;  /* flushing after the guest closed (10000) */
};

struct vsock_muxer;

/* Bind and listen on cfg->path (a stale socket file left by a dead VMM is
 * replaced; a live one is -EADDRINUSE). Returns 0 or -errno. */
int vsock_muxer_new(const struct vsock_muxer_config *cfg, struct vsock_muxer **out);
/* Close everything and unlink the listening socket. NULL is a no-op. */
void vsock_muxer_free(struct vsock_muxer *m);

/* Readable when vsock_muxer_process() has work. */
int vsock_muxer_fd(const struct vsock_muxer *m);
/* Handle socket readiness and timeouts without blocking. Returns 0 or -errno
 * (only for failures of the muxer itself, never of one connection). */
int vsock_muxer_process(struct vsock_muxer *m);

/*
 * One packet from the guest's tx queue; data holds exactly h->len payload
 * bytes. Anything the guest gets wrong in the header is answered with RST or
 * dropped, and 0 is returned; a valid header whose payload is not all in data
 * is ignored with -EINVAL.
 */
int vsock_muxer_tx(struct vsock_muxer *m, const struct vsock_hdr *h, const struct iovec *data,
		   int n);

/*
 * The next packet for the guest's rx queue: fills *h and, for RW, h->len
 * bytes of data. Returns 0, or -EAGAIN when nothing is owed right now.
 */
int vsock_muxer_rx(struct vsock_muxer *m, struct vsock_hdr *h, const struct iovec *data, int n);
/* Whether vsock_muxer_rx() may have a packet. */
bool vsock_muxer_has_rx(const struct vsock_muxer *m);

/* The driver reset the device: drop every stream and queued packet (host
 * clients see their sockets close). Streams still holding bytes the guest
 * sent are orphaned instead: those bytes are written to their host socket
 * (within shutdown_timeout_ms) before it closes; the guest hears nothing
 * more of them. The listener and host clients still sending their CONNECT
 * line stay. */
void vsock_muxer_reset(struct vsock_muxer *m);

/*
 * The guest has stopped for good (poweroff, reboot, crash): write what it
 * sent that host sockets have not taken yet, waiting up to timeout_ms for
 * slow readers. Nothing is read or accepted any more. Call it once, right
 * before vsock_muxer_free(), which then closes the sockets (readers see EOF).
 * Returns the bytes that could not be written (0: everything is out).
 */
size_t vsock_muxer_drain(struct vsock_muxer *m, unsigned timeout_ms);

/* Bytes the guest sent that are still waiting for a host socket. */
size_t vsock_muxer_host_pending(const struct vsock_muxer *m);

/* Streams open now (for tests and stats). */
unsigned vsock_muxer_conn_count(const struct vsock_muxer *m);

/* Parse a "CONNECT <port>\n" line of len bytes. Returns 0 or -EINVAL. */
int vsock_connect_parse(const char *line, size_t len, uint32_t *port);

#endif
