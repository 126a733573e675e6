// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../lib/ttrpc_wire.h"
#include "lib/fd.h"
#include "ttrpc_testutil.h"

static void *serve_thread(void *arg)
{
	struct tt_server *ts = arg;
	ts->ret = ttrpc_server_serve_conn(ts->s, ts->fd);
	return NULL;
}

void tt_server_start(struct tt_server *ts, const struct ttrpc_method *methods, size_t n, void *ctx,
                     int *peer_fd)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ttrpc_server_new(methods, n, ctx, &ts->s), 0);
	ts->fd = sv[0];
	ts->ret = 1;
	*peer_fd = sv[1];
	assert_int_equal(pthread_create(&ts->thread, NULL, serve_thread, ts), 0);
}

int tt_server_join(struct tt_server *ts)
{
	pthread_join(ts->thread, NULL);
	ttrpc_server_free(ts->s);
	ts->s = NULL;
	return ts->ret;
}

int tt_raw_request(int fd, uint32_t id, uint8_t flags, const char *service, const char *method,
                   const void *payload, size_t len, int bytewise)
{
	uint8_t *frame = NULL;
	size_t n = 0;
	int r = ttrpc_request_frame(id, service, method, NULL, 0, payload, len, 0, &frame, &n);
	if (r < 0)
		return r;
	frame[9] = flags;
	for (size_t off = 0; r == 0 && off < n;) {
		size_t chunk = bytewise ? 1 : n - off;
		r = fd_write_full(fd, frame + off, chunk) < 0 ? -EIO : 0;
		off += chunk;
	}
	free(frame);
	return r;
}

int tt_raw_read(int fd, struct ttrpc_frame_header *h, uint8_t **body)
{
	uint8_t hdr[TTRPC_HEADER_SIZE];
	ssize_t n = fd_read_full(fd, hdr, sizeof(hdr));
	if (n <= 0)
		return n == 0 ? -EPIPE : (int)n;
	if (ttrpc_header_decode(hdr, h) < 0)
		return -EMSGSIZE;
	*body = malloc(h->length + 1);
	if (!*body)
		return -ENOMEM;
	n = fd_read_full(fd, *body, h->length);
	if (h->length > 0 && n != (ssize_t)h->length) {
		free(*body);
		*body = NULL;
		return -EPIPE;
	}
	return 0;
}

int tt_raw_response(int fd, uint32_t *id, int *code, char **msg, uint8_t **payload, size_t *len)
{
	struct ttrpc_frame_header h;
	uint8_t *body = NULL;
	int r = tt_raw_read(fd, &h, &body);
	if (r < 0)
		return r;
	assert_int_equal(h.type, TTRPC_RESPONSE);
	*id = h.stream_id;
	struct ttrpc_status st = {0};
	uint8_t *p = NULL;
	size_t plen = 0;
	r = ttrpc_response_decode(body, h.length, &p, &plen, &st);
	free(body);
	*code = st.code;
	*msg = st.message;
	if (payload)
		*payload = p;
	else
		free(p);
	if (len)
		*len = plen;
	return r == -EREMOTEIO ? 0 : r;
}
