// SPDX-License-Identifier: Apache-2.0
/*
 * ttrpc client (containerd/ttrpc client.go semantics): calls from any number
 * of threads, each registered under its own odd stream id; one reader thread
 * hands each Response to the call waiting for that id. Decoding happens on
 * the caller's thread, so the reader only moves bytes.
 *
 * Failure model: when the connection ends, every pending call and every
 * later call fails with the same error: -EPIPE for a close or I/O error,
 * -EPROTO when the peer sent bytes that are not ttrpc framing. An answer
 * that is framed correctly but does not decode fails only its own call
 * (-EPROTO), as ttrpc-go does. An oversized frame is discarded unread and
 * its call fails with RESOURCE_EXHAUSTED (-EREMOTEIO), as in ttrpc-go.
 *
 * Timeouts: timeout_ms bounds the wait for the answer; writing the request
 * is not bounded (a peer that stops reading stalls the write until the
 * connection fails). ttrpc_client_free() may run while other threads are in
 * a call: they return -EPIPE and free() waits for them to leave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "ttrpc_wire.h"

struct cli_call {
	uint32_t id;
	pthread_cond_t cond;
	bool done;
	int err;                /* 0: body holds the Response */
	struct ttrpc_status st; /* for a locally detected status */
	uint8_t *body;
	size_t len;
	struct cli_call *next;
};

struct ttrpc_client {
	int fd;
	pthread_mutex_t lock; /* next_id, calls, dead */
	pthread_mutex_t write_lock;
	pthread_condattr_t cond_attr;
	uint32_t next_id;
	struct cli_call *calls; /* waiting for an answer */
	int dead;               /* sticky error once the connection ended */
	unsigned n_inflight;    /* calls between entry and return */
	pthread_cond_t idle;    /* n_inflight reached 0 */
	pthread_t reader;
	struct ttrpc_reader rd;
};

/* Under c->lock: take the call waiting for id off the list. */
static struct cli_call *calls_take(struct ttrpc_client *c, uint32_t id)
{
	for (struct cli_call **pp = &c->calls; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct cli_call *call = *pp;
			*pp = call->next;
			return call;
		}
	}
	return NULL;
}

static void call_finish(struct cli_call *call, int err)
{
	call->err = err;
	call->done = true;
	pthread_cond_signal(&call->cond);
}

static void client_deliver(struct ttrpc_client *c, struct ttrpc_frame *f)
{
	pthread_mutex_lock(&c->lock);
	struct cli_call *call = calls_take(c, f->h.stream_id);
	if (!call) {
		/* Timed out already, or a stray id: ttrpc-go logs and drops it. */
		pthread_mutex_unlock(&c->lock);
		log_debug("ttrpc: message on inactive stream %u dropped", f->h.stream_id);
		return;
	}
	if (f->oversized) {
		call->st.code = TTRPC_RESOURCE_EXHAUSTED;
		if (asprintf(&call->st.message,
		             "message length %u exceed maximum message size of %u", f->h.length,
		             TTRPC_MAX_PAYLOAD) < 0)
			call->st.message = NULL;
		call_finish(call, -EREMOTEIO);
	} else if (f->h.type != TTRPC_RESPONSE) {
		call_finish(call, -EPROTO); /* Data on a unary stream */
	} else {
		call->body = TAKE_PTR(f->body);
		call->len = f->h.length;
		call_finish(call, 0);
	}
	pthread_mutex_unlock(&c->lock);
}

static void *reader_thread(void *arg)
{
	struct ttrpc_client *c = arg;
	int r;

	for (;;) {
		struct ttrpc_frame f;
		r = ttrpc_reader_next(&c->rd, &f);
		if (r <= 0)
			break;
		client_deliver(c, &f);
		free(f.body);
	}
	int err = r == -EPROTO ? -EPROTO : -EPIPE;
	if (r == -EPROTO)
		log_warn("ttrpc: server sent data that is not ttrpc, closing connection");
	/* Make the peer and any writer see the end too. */
	shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_lock(&c->lock);
	if (!c->dead)
		c->dead = err;
	while (c->calls) {
		struct cli_call *call = c->calls;
		c->calls = call->next;
		call_finish(call, c->dead);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int ttrpc_client_new(int fd, struct ttrpc_client **out)
{
	struct ttrpc_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->next_id = 1;
	fd_set_nonblock(fd, 0); /* the reader relies on blocking reads */
	ttrpc_reader_init(&c->rd, fd);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	pthread_condattr_init(&c->cond_attr);
	pthread_condattr_setclock(&c->cond_attr, CLOCK_MONOTONIC);
	int r = pthread_create(&c->reader, NULL, reader_thread, c);
	if (r != 0) {
		pthread_condattr_destroy(&c->cond_attr);
		pthread_cond_destroy(&c->idle);
		pthread_mutex_destroy(&c->write_lock);
		pthread_mutex_destroy(&c->lock);
		close(fd);
		free(c);
		return -r;
	}
	*out = c;
	return 0;
}

void ttrpc_client_free(struct ttrpc_client *c)
{
	if (!c)
		return;
	/* Wakes the reader (read() returns 0), which fails pending calls. */
	shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->reader, NULL);
	/* Calls already inside ttrpc_client_call() return -EPIPE; let them
	 * leave before the memory they use goes away. */
	pthread_mutex_lock(&c->lock);
	while (c->n_inflight)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
	close(c->fd);
	ttrpc_reader_exit(&c->rd);
	pthread_condattr_destroy(&c->cond_attr);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->write_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Register call and send its frame. The frame carries a stream id, so it is
 * built here, under the lock that hands ids out in increasing order. */
static int call_send(struct ttrpc_client *c, struct cli_call *call, const char *service,
                     const char *method, const struct ttrpc_kv *metadata, size_t n_metadata,
                     const void *req, size_t req_len, int64_t timeout_nano)
{
	_cleanup_free_ uint8_t *frame = NULL;
	size_t len = 0;

	/* ttrpc-go servers require ids to increase on the wire, so taking
	 * an id and writing its frame happen under one lock. */
	pthread_mutex_lock(&c->write_lock);
	pthread_mutex_lock(&c->lock);
	int r = c->dead;
	if (r == 0) {
		call->id = c->next_id;
		r = ttrpc_request_frame(call->id, service, method, metadata, n_metadata, req,
		                        req_len, timeout_nano, &frame, &len);
	}
	if (r == 0) {
		c->next_id += 2;
		call->next = c->calls;
		c->calls = call;
		/* Ids must keep increasing on a connection (ttrpc-go rejects
		 * reuse): after the last odd id, new calls need a new client. */
		if (call->id == UINT32_MAX) {
			log_warn(
			    "ttrpc: stream ids exhausted, no further calls on this connection");
			c->dead = -EPIPE;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0) {
		r = ttrpc_fd_write(c->fd, frame, len);
		if (r < 0) {
			pthread_mutex_lock(&c->lock);
			calls_take(c, call->id);
			if (call->done) /* the reader saw the end first */
				r = call->err;
			else
				r = c->dead ? c->dead : -EPIPE;
			pthread_mutex_unlock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->write_lock);
	return r;
}

/* Wait for the answer; on timeout the call leaves the list so a late
 * answer is dropped by the reader. */
static int call_wait(struct ttrpc_client *c, struct cli_call *call, int timeout_ms)
{
	struct timespec deadline;
	if (timeout_ms > 0)
		deadline_after(&deadline, timeout_ms);

	pthread_mutex_lock(&c->lock);
	while (!call->done) {
		int r = timeout_ms > 0 ? pthread_cond_timedwait(&call->cond, &c->lock, &deadline)
		                       : pthread_cond_wait(&call->cond, &c->lock);
		if (r == ETIMEDOUT && !call->done) {
			calls_take(c, call->id);
			pthread_mutex_unlock(&c->lock);
			return -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return call->err;
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const struct ttrpc_kv *metadata, size_t n_metadata, const void *req,
                      size_t req_len, int timeout_ms, uint8_t **resp, size_t *resp_len,
                      struct ttrpc_status *status)
{
	struct cli_call call = {0};
	int64_t timeout_nano = timeout_ms > 0 ? (int64_t)timeout_ms * 1000000 : 0;

	if (status) {
		status->code = 0;
		status->message = NULL;
	}
	pthread_cond_init(&call.cond, &c->cond_attr);
	pthread_mutex_lock(&c->lock);
	c->n_inflight++;
	pthread_mutex_unlock(&c->lock);
	int r =
	    call_send(c, &call, service, method, metadata, n_metadata, req, req_len, timeout_nano);
	if (r == 0)
		r = call_wait(c, &call, timeout_ms);
	if (r == 0) {
		size_t len = 0;
		r = ttrpc_response_decode(call.body, call.len, resp, &len, status);
		if (r == 0 && resp_len)
			*resp_len = len;
	} else if (r == -EREMOTEIO && status) {
		*status = call.st; /* detected locally (oversized answer) */
		call.st.message = NULL;
	}
	free(call.body);
	ttrpc_status_clear(&call.st);
	pthread_cond_destroy(&call.cond);
	pthread_mutex_lock(&c->lock);
	if (--c->n_inflight == 0)
		pthread_cond_broadcast(&c->idle);
	/* Nothing of c may be touched after this unlock: free() may run. */
	pthread_mutex_unlock(&c->lock);
	return r;
}

int ttrpc_client_call_pb(struct ttrpc_client *c, const char *service, const char *method,
                         const struct ttrpc_kv *metadata, size_t n_metadata,
                         const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                         int timeout_ms, ProtobufCMessage **resp, struct ttrpc_status *status)
{
	size_t n = protobuf_c_message_get_packed_size(req);
	if (n > TTRPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	_cleanup_free_ uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(req, buf);

	_cleanup_free_ uint8_t *out = NULL;
	size_t out_len = 0;
	int r = ttrpc_client_call(c, service, method, metadata, n_metadata, buf, n, timeout_ms,
	                          &out, &out_len, status);
	if (r < 0)
		return r;
	*resp = protobuf_c_message_unpack(resp_desc, NULL, out_len, out);
	return *resp ? 0 : -EBADMSG;
}
