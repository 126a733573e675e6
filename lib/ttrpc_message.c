// SPDX-License-Identifier: Apache-2.0
/*
 * ttrpc messages (containerd/ttrpc request.proto, server.go, services.go):
 * building Request/Response frames, decoding Responses, and deciding what a
 * server does with each received frame. No threads and no I/O here, so the
 * fuzzer reaches all of it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "ttrpc_wire.h"

int ttrpc_response_error(struct ttrpc_response *resp, int code, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL; /* the code alone still reaches the caller */
	va_end(ap);
	free(resp->message);
	resp->message = msg;
	resp->code = code;
	return 0;
}

int ttrpc_response_pack(struct ttrpc_response *resp, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(msg, buf);
	free(resp->payload);
	resp->payload = buf;
	resp->payload_len = n;
	return 0;
}

const char *ttrpc_request_metadata(const struct ttrpc_request *req, const char *key)
{
	for (size_t i = 0; i < req->n_metadata; i++)
		if (strcmp(req->metadata[i].key, key) == 0)
			return req->metadata[i].value;
	return NULL;
}

void ttrpc_status_clear(struct ttrpc_status *st)
{
	if (!st)
		return;
	free(st->message);
	st->message = NULL;
	st->code = 0;
}

static int response_frame_try(uint32_t stream_id, int code, const char *message,
                              const uint8_t *payload, size_t payload_len, uint8_t **out,
                              size_t *out_len)
{
	Hull__Ttrpc__Status st = HULL__TTRPC__STATUS__INIT;
	Hull__Ttrpc__Response resp = HULL__TTRPC__RESPONSE__INIT;

	/* Like ttrpc-go, always send a status, even OK (an empty message). */
	st.code = code;
	st.message = (char *)(message ? message : "");
	resp.status = &st;
	resp.payload.data = (uint8_t *)payload;
	resp.payload.len = payload_len;
	return ttrpc_frame_pack(stream_id, TTRPC_RESPONSE, 0, &resp.base, out, out_len);
}

int ttrpc_response_frame(uint32_t stream_id, int code, const char *message, const uint8_t *payload,
                         size_t payload_len, uint8_t **out, size_t *out_len)
{
	int r = response_frame_try(stream_id, code, message, payload, payload_len, out, out_len);
	if (r != -EMSGSIZE)
		return r;
	/* The peer could not accept it anyway; tell it why instead of
	 * dropping the connection as ttrpc-go does. */
	char msg[128];
	snprintf(msg, sizeof(msg), "response of %zu bytes exceeds maximum message size of %u",
	         payload_len, TTRPC_MAX_PAYLOAD);
	return response_frame_try(stream_id, TTRPC_RESOURCE_EXHAUSTED, msg, NULL, 0, out, out_len);
}

int ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
                        const struct ttrpc_kv *metadata, size_t n_metadata, const void *payload,
                        size_t payload_len, int64_t timeout_nano, uint8_t **out, size_t *out_len)
{
	Hull__Ttrpc__Request req = HULL__TTRPC__REQUEST__INIT;

	if (payload_len > TTRPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	_cleanup_free_ Hull__Ttrpc__KeyValue *kvs = calloc(n_metadata + 1, sizeof(*kvs));
	_cleanup_free_ Hull__Ttrpc__KeyValue **kvp = calloc(n_metadata + 1, sizeof(*kvp));
	if (!kvs || !kvp)
		return -ENOMEM;
	for (size_t i = 0; i < n_metadata; i++) {
		hull__ttrpc__key_value__init(&kvs[i]);
		kvs[i].key = (char *)metadata[i].key;
		kvs[i].value = (char *)metadata[i].value;
		kvp[i] = &kvs[i];
	}
	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = payload_len;
	req.timeout_nano = timeout_nano;
	req.n_metadata = n_metadata;
	req.metadata = kvp;
	return ttrpc_frame_pack(stream_id, TTRPC_REQUEST, 0, &req.base, out, out_len);
}

int ttrpc_response_decode(const uint8_t *body, size_t len, uint8_t **payload, size_t *payload_len,
                          struct ttrpc_status *status)
{
	Hull__Ttrpc__Response *resp = hull__ttrpc__response__unpack(NULL, len, body);
	if (!resp)
		return -EPROTO;

	int r = 0;
	if (resp->status && resp->status->code != TTRPC_OK) {
		if (status) {
			status->code = resp->status->code;
			status->message =
			    strdup(resp->status->message ? resp->status->message : "");
			r = status->message ? -EREMOTEIO : -ENOMEM;
		} else {
			r = -EREMOTEIO;
		}
	} else {
		size_t n = resp->payload.len;
		uint8_t *p = malloc(n ? n : 1);
		if (p) {
			if (n)
				memcpy(p, resp->payload.data, n);
			*payload = p;
			*payload_len = n;
		} else {
			r = -ENOMEM;
		}
	}
	hull__ttrpc__response__free_unpacked(resp, NULL);
	return r;
}

static int incoming_status(struct ttrpc_incoming *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int incoming_status(struct ttrpc_incoming *in, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&in->message, fmt, ap);
	va_end(ap);
	if (n < 0) {
		in->message = NULL;
		return -ENOMEM;
	}
	in->action = TTRPC_ACT_STATUS;
	in->code = code;
	return 0;
}

/* Resolve service/method the way ttrpc-go's serviceSet.handle reports it. */
static int incoming_resolve(struct ttrpc_incoming *in, const struct ttrpc_method *methods,
                            size_t n_methods)
{
	const char *service = in->req->service ? in->req->service : "";
	const char *method = in->req->method ? in->req->method : "";
	bool service_known = false;

	for (size_t i = 0; i < n_methods; i++) {
		if (strcmp(methods[i].service, service) != 0)
			continue;
		service_known = true;
		if (strcmp(methods[i].method, method) == 0) {
			in->method = &methods[i];
			break;
		}
	}
	if (!service_known)
		return incoming_status(in, TTRPC_UNIMPLEMENTED, "service %s", service);
	if (!in->method)
		return incoming_status(in, TTRPC_UNIMPLEMENTED, "method %s", method);
	in->action = TTRPC_ACT_CALL;
	return 0;
}

static int incoming_request(const struct ttrpc_frame *f, uint32_t *last_stream_id,
                            const struct ttrpc_method *methods, size_t n_methods,
                            struct ttrpc_incoming *in)
{
	if (f->h.stream_id <= *last_stream_id)
		return incoming_status(in, TTRPC_INVALID_ARGUMENT,
		                       "StreamID cannot be re-used and must increment");
	*last_stream_id = f->h.stream_id;

	in->req = hull__ttrpc__request__unpack(NULL, f->h.length, f->body);
	if (!in->req)
		return incoming_status(in, TTRPC_INVALID_ARGUMENT,
		                       "unmarshal request error: not a ttrpc Request");
	if (f->h.flags & (TTRPC_FLAG_REMOTE_OPEN | TTRPC_FLAG_REMOTE_CLOSED))
		return incoming_status(in, TTRPC_UNIMPLEMENTED,
		                       "streaming requests are not supported (%s/%s)",
		                       in->req->service ? in->req->service : "",
		                       in->req->method ? in->req->method : "");
	return incoming_resolve(in, methods, n_methods);
}

int ttrpc_incoming_classify(const struct ttrpc_frame *f, uint32_t *last_stream_id,
                            const struct ttrpc_method *methods, size_t n_methods,
                            struct ttrpc_incoming *in)
{
	memset(in, 0, sizeof(*in));
	in->stream_id = f->h.stream_id;

	if (f->oversized)
		return incoming_status(in, TTRPC_RESOURCE_EXHAUSTED,
		                       "message length %u exceed maximum message size of %u",
		                       f->h.length, TTRPC_MAX_PAYLOAD);
	if (f->h.stream_id % 2 != 1)
		return incoming_status(in, TTRPC_INVALID_ARGUMENT,
		                       "StreamID must be odd for client initiated streams");
	switch (f->h.type) {
	case TTRPC_REQUEST:
		return incoming_request(f, last_stream_id, methods, n_methods, in);
	case TTRPC_DATA:
		/* Every stream we accept is unary and closed once answered. */
		return incoming_status(in, TTRPC_INVALID_ARGUMENT, "StreamID is no longer active");
	default:
		/* ttrpc-go ignores other types for forward compatibility. */
		in->action = TTRPC_ACT_IGNORE;
		return 0;
	}
}

/* Call the handler and turn whatever it left in resp into a frame. */
static int incoming_call(struct ttrpc_incoming *in, void *ctx, uint8_t **out, size_t *out_len)
{
	Hull__Ttrpc__Request *rq = in->req;
	_cleanup_free_ struct ttrpc_kv *kv = calloc(rq->n_metadata + 1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (size_t i = 0; i < rq->n_metadata; i++) {
		kv[i].key = rq->metadata[i]->key ? rq->metadata[i]->key : "";
		kv[i].value = rq->metadata[i]->value ? rq->metadata[i]->value : "";
	}
	struct ttrpc_request req = {
	    .service = rq->service,
	    .method = rq->method,
	    .payload = rq->payload.data,
	    .payload_len = rq->payload.len,
	    .timeout_nano = rq->timeout_nano,
	    .metadata = kv,
	    .n_metadata = rq->n_metadata,
	};
	struct ttrpc_response resp = {0};
	int r = in->method->fn(ctx, &req, &resp);
	if (r < 0 && resp.code == TTRPC_OK)
		ttrpc_response_error(&resp, TTRPC_UNKNOWN, "%s/%s: %s", rq->service, rq->method,
		                     strerror(-r));
	if (resp.code != TTRPC_OK)
		r = ttrpc_response_frame(in->stream_id, resp.code, resp.message, NULL, 0, out,
		                         out_len);
	else
		r = ttrpc_response_frame(in->stream_id, TTRPC_OK, NULL, resp.payload,
		                         resp.payload_len, out, out_len);
	free(resp.payload);
	free(resp.message);
	return r;
}

int ttrpc_incoming_respond(struct ttrpc_incoming *in, void *ctx, uint8_t **out, size_t *out_len)
{
	switch (in->action) {
	case TTRPC_ACT_CALL:
		return incoming_call(in, ctx, out, out_len);
	case TTRPC_ACT_STATUS:
		return ttrpc_response_frame(in->stream_id, in->code, in->message, NULL, 0, out,
		                            out_len);
	default:
		return -EINVAL;
	}
}

void ttrpc_incoming_clear(struct ttrpc_incoming *in)
{
	if (in->req)
		hull__ttrpc__request__free_unpacked(in->req, NULL);
	free(in->message);
	memset(in, 0, sizeof(*in));
}
