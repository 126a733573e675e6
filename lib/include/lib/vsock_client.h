/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host side of Firecracker-style "hybrid" vsock: the VMM maps the guest's
 * vsock ports to a unix socket. Connect to it, write "CONNECT <port>\n",
 * read back "OK <host_port>\n"; from then on the socket is a plain byte
 * stream to the guest's listener on <port>.
 */
#ifndef HULL_LIB_VSOCK_CLIENT_H
#define HULL_LIB_VSOCK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct err;

/*
 * Connect to guest vsock port `port` through the VMM's unix socket uds_path.
 *
 * Arguments: timeout_ms bounds the whole handshake (<= 0: wait forever).
 * Returns: the connected fd (blocking, close-on-exec) or -errno with *err set:
 *   -ENOENT/-ECONNREFUSED  no VMM listening on uds_path
 *   -ECONNRESET            the VMM closed the connection (nothing listens on
 *                          that guest port)
 *   -EPROTO                the reply is not "OK <n>\n"
 *   -ETIMEDOUT             no complete reply in time
 * Notes: the reply is read one byte at a time and never past its newline, so
 * every byte after it belongs to the caller's protocol.
 */
int vsock_hybrid_connect(const char *uds_path, uint32_t port, int timeout_ms, struct err **err);

/*
 * Parse the VMM's reply line without its newline: "OK <host_port>" (1-10
 * decimal digits, at most UINT32_MAX). Returns 0 (host_port may be NULL) or
 * -EPROTO. Exposed for the fuzzer; vsock_hybrid_connect() uses it.
 */
int vsock_hybrid_reply_parse(const char *line, size_t len, uint32_t *host_port);

#endif
