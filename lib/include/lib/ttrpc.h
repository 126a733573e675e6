/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpc: containerd's lightweight RPC (github.com/containerd/ttrpc, PROTOCOL.md)
 * over any connected stream fd (unix socket, vsock, hybrid-vsock stream).
 *
 * Wire: 10-byte big-endian header {u32 length, u32 stream_id, u8 type, u8 flags}
 * then `length` payload bytes (at most TTRPC_MAX_PAYLOAD). Type 1 Request
 * (payload: protobuf ttrpc.Request), 2 Response (ttrpc.Response), 3 Data.
 * Clients use odd stream ids. Errors are google.rpc.Status with gRPC codes.
 *
 * Threading: a server runs each request's handler on its own thread, so a
 * handler may block (e.g. waiting for a process to exit) without stalling the
 * connection; responses are written whole under a per-connection lock. A
 * client may be used from many threads at once; each call waits for its own
 * response, matched by stream id.
 */
#ifndef HULL_LIB_TTRPC_H
#define HULL_LIB_TTRPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define TTRPC_HEADER_SIZE  10
#define TTRPC_MAX_PAYLOAD  (4u << 20)

enum ttrpc_type { TTRPC_REQUEST = 1, TTRPC_RESPONSE = 2, TTRPC_DATA = 3 };

/* gRPC status codes used on the wire. */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_CANCELLED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_PERMISSION_DENIED = 7,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_ABORTED = 10,
	TTRPC_OUT_OF_RANGE = 11,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
};

struct ttrpc_frame_header {
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

/* Encode/decode the 10-byte header. decode returns -EMSGSIZE when length
 * exceeds TTRPC_MAX_PAYLOAD, else 0. */
void ttrpc_header_encode(uint8_t out[TTRPC_HEADER_SIZE], const struct ttrpc_frame_header *h);
int ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame_header *h);

struct ttrpc_kv {
	const char *key;
	const char *value;
};

/* What a handler sees. All pointers are valid only during the call. */
struct ttrpc_request {
	const char *service; /* e.g. "hull.agent.v1.Agent" */
	const char *method;  /* e.g. "CreateContainer" */
	const uint8_t *payload;
	size_t payload_len;
	int64_t timeout_nano; /* 0: none */
	const struct ttrpc_kv *metadata;
	size_t n_metadata;
};

/* What a handler fills: either payload (malloc'd; the server frees it) with
 * code TTRPC_OK, or a non-zero code and a message (malloc'd; server frees). */
struct ttrpc_response {
	uint8_t *payload;
	size_t payload_len;
	int code;
	char *message;
};

/* Set an error on resp (code != 0, printf-style message). Returns 0. */
int ttrpc_response_error(struct ttrpc_response *resp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pack msg into resp->payload. Returns 0 or -ENOMEM. */
int ttrpc_response_pack(struct ttrpc_response *resp, const ProtobufCMessage *msg);
/* Look up a metadata value (first match) or NULL. */
const char *ttrpc_request_metadata(const struct ttrpc_request *req, const char *key);

/* A handler returns 0 having filled resp (success or error status). */
typedef int (*ttrpc_handler_fn)(void *ctx, const struct ttrpc_request *req,
				struct ttrpc_response *resp);

struct ttrpc_method {
	const char *service;
	const char *method;
	ttrpc_handler_fn fn;
};

struct ttrpc_server;

/* methods must outlive the server. Unknown service/method -> UNIMPLEMENTED. */
int ttrpc_server_new(const struct ttrpc_method *methods, size_t n_methods, void *ctx,
		     struct ttrpc_server **out);
/* Serve one connected fd until the peer closes it or sends garbage; takes
 * ownership of fd. Blocks. Returns 0 on orderly close, -errno otherwise. */
int ttrpc_server_serve_conn(struct ttrpc_server *s, int fd);
/* accept() on listen_fd and serve each connection on its own thread until
 * ttrpc_server_shutdown(). Blocks. */
int ttrpc_server_serve(struct ttrpc_server *s, int listen_fd);
/* Make serve() return and close every connection. Safe from any thread. */
void ttrpc_server_shutdown(struct ttrpc_server *s);
void ttrpc_server_free(struct ttrpc_server *s);

struct ttrpc_client;

/* Takes ownership of a connected fd; starts the reader thread. */
int ttrpc_client_new(int fd, struct ttrpc_client **out);
void ttrpc_client_free(struct ttrpc_client *c);

/* Status of a failed call: code and a malloc'd message (free with
 * ttrpc_status_clear). */
struct ttrpc_status {
	int code;
	char *message;
};
void ttrpc_status_clear(struct ttrpc_status *st);

/*
 * One unary call. timeout_ms <= 0 means no timeout (the timeout is also sent
 * to the server as timeout_nano). On success returns 0 and *resp (malloc'd)
 * holds the response payload. Returns:
 *   -EREMOTEIO  the server answered with an error; *status holds it
 *   -ETIMEDOUT  no answer in time
 *   -EPIPE      the connection closed (now or earlier)
 *   -EPROTO     the peer sent something that is not ttrpc
 *   -EMSGSIZE   the request exceeds TTRPC_MAX_PAYLOAD
 */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
		      const struct ttrpc_kv *metadata, size_t n_metadata, const void *req,
		      size_t req_len, int timeout_ms, uint8_t **resp, size_t *resp_len,
		      struct ttrpc_status *status);

/* Same with protobuf-c messages: packs req, unpacks the answer as resp_desc
 * into *resp (free with protobuf_c_message_free_unpacked). -EBADMSG when the
 * answer does not decode. */
int ttrpc_client_call_pb(struct ttrpc_client *c, const char *service, const char *method,
			 const struct ttrpc_kv *metadata, size_t n_metadata,
			 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
			 int timeout_ms, ProtobufCMessage **resp, struct ttrpc_status *status);

#endif
