// SPDX-License-Identifier: Apache-2.0
/*
 * Arbitrary bytes as a ttrpc frame stream: through the incremental frame
 * decoder (split into pieces whose size the input's first byte picks), then
 * every frame through the server's classify/respond path (Request decoding,
 * stream-id rules, a real handler reading metadata) and the client's
 * Response decoder. The server's own answer must decode as a Response.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/ttrpc_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int handler(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	const char *ns = ttrpc_request_metadata(req, "containerd-namespace-ttrpc");
	if (ns && strlen(ns) > 8)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "namespace %s", ns);
	resp->payload = malloc(req->payload_len + 1);
	if (!resp->payload)
		return -ENOMEM;
	if (req->payload_len)
		memcpy(resp->payload, req->payload, req->payload_len);
	resp->payload_len = req->payload_len;
	return 0;
}

static const struct ttrpc_method methods[] = {
    {"hull.agent.v1.Agent", "Echo", handler},
    {"s", "m", handler},
};

static void check_answer(const uint8_t *frame, size_t len)
{
	struct ttrpc_frame_header h;
	if (len < TTRPC_HEADER_SIZE || ttrpc_header_decode(frame, &h) != 0 ||
	    h.length != len - TTRPC_HEADER_SIZE || h.type != TTRPC_RESPONSE)
		abort();
	uint8_t *p = NULL;
	size_t plen = 0;
	struct ttrpc_status st = {0};
	int r = ttrpc_response_decode(frame + TTRPC_HEADER_SIZE, h.length, &p, &plen, &st);
	if (r != 0 && r != -EREMOTEIO)
		abort();
	free(p);
	ttrpc_status_clear(&st);
}

static void handle_frame(const struct ttrpc_frame *f, uint32_t *last_id)
{
	struct ttrpc_incoming in;
	if (ttrpc_incoming_classify(f, last_id, methods, 2, &in) == 0 &&
	    in.action != TTRPC_ACT_IGNORE) {
		uint8_t *out = NULL;
		size_t len = 0;
		if (ttrpc_incoming_respond(&in, NULL, &out, &len) == 0)
			check_answer(out, len);
		free(out);
	}
	ttrpc_incoming_clear(&in);

	if (!f->oversized) {
		uint8_t *p = NULL;
		size_t plen = 0;
		struct ttrpc_status st = {0};
		ttrpc_response_decode(f->body, f->h.length, &p, &plen, &st);
		free(p);
		ttrpc_status_clear(&st);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] ? data[0] : size;
	data++;
	size--;

	struct ttrpc_rx rx;
	ttrpc_rx_init(&rx);
	uint32_t last_id = 0;
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;
		size_t used = 0;
		struct ttrpc_frame f;
		int r = ttrpc_rx_feed(&rx, data + off, n, &used, &f);
		if (used > n)
			abort();
		off += used;
		if (r < 0)
			break;
		if (r == 1) {
			handle_frame(&f, &last_id);
			free(f.body);
		}
	}
	ttrpc_rx_exit(&rx);
	return 0;
}
