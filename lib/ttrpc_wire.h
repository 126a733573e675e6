/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpc wire layer shared by the server and the client (private to lib/).
 * Everything here is free of threads and of blocking I/O except the reader,
 * so the fuzzer can drive the decoders straight from a buffer.
 *
 * Follows containerd/ttrpc PROTOCOL.md and channel.go: a frame longer than
 * TTRPC_MAX_PAYLOAD is read and dropped in small pieces (never allocated) and
 * reported to the stream it belongs to as RESOURCE_EXHAUSTED. A header whose
 * reserved first byte is set (length >= 16 MiB) cannot come from any ttrpc
 * peer (senders refuse payloads over 4 MiB), so it is treated as garbage and
 * ends the connection instead of making us swallow up to 4 GiB.
 */
#ifndef HULL_LIB_TTRPC_WIRE_H
#define HULL_LIB_TTRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ttrpc.h"
#include "lib/proto/ttrpc.pb-c.h"

/* Request flags (PROTOCOL.md): neither set means a unary request. */
#define TTRPC_FLAG_REMOTE_CLOSED 0x1
#define TTRPC_FLAG_REMOTE_OPEN   0x2

/* One received frame. body is malloc'd (NULL when length is 0 or when the
 * frame was oversized and discarded). */
struct ttrpc_frame {
	struct ttrpc_frame_header h;
	uint8_t *body;
	bool oversized;
};

/* Incremental frame decoder: feed it any split of the byte stream. */
struct ttrpc_rx {
	uint8_t hdr[TTRPC_HEADER_SIZE];
	size_t hdr_got;
	struct ttrpc_frame_header h;
	uint8_t *body;
	size_t body_got;
	bool in_body;
	bool discarding;
};

void ttrpc_rx_init(struct ttrpc_rx *rx);
void ttrpc_rx_exit(struct ttrpc_rx *rx);
/*
 * Consume bytes from buf until one frame completes or buf is exhausted;
 * *used says how many were consumed. Returns 1 with *out filled (caller frees
 * out->body), 0 when more input is needed, -EPROTO on a header no ttrpc peer
 * sends, -ENOMEM.
 */
int ttrpc_rx_feed(struct ttrpc_rx *rx, const uint8_t *buf, size_t len, size_t *used,
                  struct ttrpc_frame *out);
/* True when a frame has been started but not finished. */
bool ttrpc_rx_partial(const struct ttrpc_rx *rx);

/* Buffered frame reader over a blocking fd. */
struct ttrpc_reader {
	int fd;
	struct ttrpc_rx rx;
	size_t off, len;
	uint8_t buf[64 * 1024];
};

void ttrpc_reader_init(struct ttrpc_reader *r, int fd);
void ttrpc_reader_exit(struct ttrpc_reader *r);
/* Returns 1 with a frame, 0 on EOF between frames, -EPIPE on EOF inside a
 * frame, -EPROTO on garbage, or -errno from read(). */
int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *out);

/* Write all of buf without raising SIGPIPE. Returns 0 or -errno. */
int ttrpc_fd_write(int fd, const void *buf, size_t len);

/* Build a whole frame (header + packed msg) in one malloc'd buffer.
 * -EMSGSIZE when msg packs to more than TTRPC_MAX_PAYLOAD. */
int ttrpc_frame_pack(uint32_t stream_id, uint8_t type, uint8_t flags, const ProtobufCMessage *msg,
                     uint8_t **out, size_t *out_len);

/* A Response frame carrying either payload (code 0) or a status. A response
 * that would exceed TTRPC_MAX_PAYLOAD is replaced by RESOURCE_EXHAUSTED. */
int ttrpc_response_frame(uint32_t stream_id, int code, const char *message, const uint8_t *payload,
                         size_t payload_len, uint8_t **out, size_t *out_len);

/* A unary Request frame. -EMSGSIZE when it would exceed TTRPC_MAX_PAYLOAD. */
int ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
                        const struct ttrpc_kv *metadata, size_t n_metadata, const void *payload,
                        size_t payload_len, int64_t timeout_nano, uint8_t **out, size_t *out_len);

/*
 * Decode a Response body (client side). On OK returns 0 with *payload
 * malloc'd (never NULL, even when empty). Returns -EREMOTEIO with *status
 * filled when the status code is not OK, -EPROTO when the body is not a
 * Response, -ENOMEM.
 */
int ttrpc_response_decode(const uint8_t *body, size_t len, uint8_t **payload, size_t *payload_len,
                          struct ttrpc_status *status);

/* What the server does with one received frame. */
enum ttrpc_action {
	TTRPC_ACT_IGNORE = 0, /* nothing to answer (future message types) */
	TTRPC_ACT_STATUS,     /* answer stream_id with code/message now */
	TTRPC_ACT_CALL,       /* run method->fn on req */
};

struct ttrpc_incoming {
	enum ttrpc_action action;
	uint32_t stream_id;
	int code;
	char *message;
	Hull__Ttrpc__Request *req;
	const struct ttrpc_method *method;
};

/*
 * Classify a frame received by a server (no I/O): checks stream ids the way
 * containerd/ttrpc's server does (odd, increasing), decodes Request bodies,
 * resolves service/method. *last_stream_id is the connection's state.
 * Returns 0 or -ENOMEM.
 */
int ttrpc_incoming_classify(const struct ttrpc_frame *f, uint32_t *last_stream_id,
                            const struct ttrpc_method *methods, size_t n_methods,
                            struct ttrpc_incoming *in);
/* Run the handler of a TTRPC_ACT_CALL (or answer a STATUS) and build the
 * response frame. Returns 0 or -ENOMEM. */
int ttrpc_incoming_respond(struct ttrpc_incoming *in, void *ctx, uint8_t **out, size_t *out_len);
void ttrpc_incoming_clear(struct ttrpc_incoming *in);

#endif
