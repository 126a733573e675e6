/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the ttrpc unit tests: a server on one end of a socketpair and
 * a raw peer that writes and reads frames by hand. */
#ifndef HULL_TESTS_TTRPC_TESTUTIL_H
#define HULL_TESTS_TTRPC_TESTUTIL_H

#include <pthread.h>
#include <stdint.h>

#include "lib/ttrpc.h"

struct tt_server {
	struct ttrpc_server *s;
	int fd;
	pthread_t thread;
	int ret; /* serve_conn's result, after tt_server_join */
};

/* Start serve_conn on one end of a socketpair; *peer_fd is the other end. */
void tt_server_start(struct tt_server *ts, const struct ttrpc_method *methods, size_t n, void *ctx,
                     int *peer_fd);
/* Wait for serve_conn to return and free the server. Returns its result. */
int tt_server_join(struct tt_server *ts);

/* Write a Request frame built by the library; one byte per write() when
 * bytewise is set. Returns 0 or -errno. */
int tt_raw_request(int fd, uint32_t id, uint8_t flags, const char *service, const char *method,
                   const void *payload, size_t len, int bytewise);
/* Read one frame: header and malloc'd body. Returns 0 or -errno. */
int tt_raw_read(int fd, struct ttrpc_frame_header *h, uint8_t **body);
/* Read a Response frame and decode it. code and msg get the status (msg is
 * malloc'd or NULL), payload and len the payload on OK. Returns 0 or -errno. */
int tt_raw_response(int fd, uint32_t *id, int *code, char **msg, uint8_t **payload, size_t *len);

#endif
