// SPDX-License-Identifier: Apache-2.0
/*
 * ttrpc server (containerd/ttrpc server.go semantics): one reader per
 * connection, each request on a thread of its own (a fresh detached thread,
 * or a recently finished one parked for reuse) so a handler may block for
 * minutes, responses written whole under a per-connection lock.
 *
 * Lifetimes: a connection is reference-counted by its reader and by each
 * running handler. When the reader ends (peer closed, garbage, shutdown) the
 * socket is shut down at once, so the peer sees the close and late handlers'
 * writes fail with EPIPE; the fd is closed when the last handler returns.
 * ttrpc_server_free() waits for every thread the server started.
 *
 * Deadlines: a request's timeout_nano is handed to the handler
 * (ttrpc_request.timeout_nano); the server does not interrupt handlers that
 * overrun it. Clients enforce their own timeout (ttrpc_client_call returns
 * -ETIMEDOUT) and a late answer is dropped by the client, which is what
 * ttrpc-go does as well (it only cancels the handler's context).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "ttrpc_wire.h"

struct srv_conn {
	struct ttrpc_server *s;
	int fd;
	unsigned refs; /* under s->lock */
	pthread_mutex_t write_lock;
	struct srv_conn *next, *prev;
	uint32_t last_stream_id;
	struct ttrpc_reader rd;
};

struct ttrpc_server {
	const struct ttrpc_method *methods;
	size_t n_methods;
	void *ctx;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct srv_conn *conns;  /* connections whose reader is running */
	unsigned n_workers;      /* handler threads alive (running or idle) */
	struct srv_worker *idle; /* handler threads waiting for a job */
	unsigned n_idle;
	pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC, for idle timeouts */
	unsigned n_conn_threads;      /* connection threads started by serve() */
	bool shutting_down;
	int wake_fd; /* eventfd that ends serve()'s poll() */
};

/* Idle handler threads kept around, and for how long. */
#define WORKER_IDLE_MAX 8
#define WORKER_IDLE_SEC 10

struct srv_worker {
	pthread_cond_t cond;
	struct srv_job *job; /* set by conn_spawn() under s->lock */
	struct srv_worker *next;
};

struct srv_job {
	struct srv_conn *conn;
	struct ttrpc_incoming in;
};

int ttrpc_server_new(const struct ttrpc_method *methods, size_t n_methods, void *ctx,
                     struct ttrpc_server **out)
{
	struct ttrpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->methods = methods;
	s->n_methods = n_methods;
	s->ctx = ctx;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_condattr_init(&s->cond_attr);
	pthread_condattr_setclock(&s->cond_attr, CLOCK_MONOTONIC);
	*out = s;
	return 0;
}

void ttrpc_server_free(struct ttrpc_server *s)
{
	if (!s)
		return;
	ttrpc_server_shutdown(s);
	pthread_mutex_lock(&s->lock);
	while (s->conns || s->n_workers || s->n_conn_threads)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	close(s->wake_fd);
	pthread_condattr_destroy(&s->cond_attr);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void ttrpc_server_shutdown(struct ttrpc_server *s)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	s->shutting_down = true;
	/* shutdown(2), not close(2): wakes each reader blocked in read()
	 * while the fd number stays valid until its owner closes it. */
	for (struct srv_conn *c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	for (struct srv_worker *w = s->idle; w; w = w->next)
		pthread_cond_signal(&w->cond); /* idle workers end now */
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("ttrpc: wake server: %m");
}

static void conn_put(struct srv_conn *c)
{
	struct ttrpc_server *s = c->s;

	pthread_mutex_lock(&s->lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	close(c->fd);
	ttrpc_reader_exit(&c->rd);
	pthread_mutex_destroy(&c->write_lock);
	free(c);
}

static int conn_send(struct srv_conn *c, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&c->write_lock);
	int r = ttrpc_fd_write(c->fd, buf, len);
	pthread_mutex_unlock(&c->write_lock);
	return r;
}

/* Answer one incoming frame; used by the reader (statuses) and handlers. */
static int conn_respond(struct srv_conn *c, struct ttrpc_incoming *in)
{
	_cleanup_free_ uint8_t *frame = NULL;
	size_t len = 0;
	int r = ttrpc_incoming_respond(in, c->s->ctx, &frame, &len);
	if (r < 0) {
		/* Out of memory building the answer: try a bare status. */
		r = ttrpc_response_frame(in->stream_id, TTRPC_RESOURCE_EXHAUSTED, "out of memory",
		                         NULL, 0, &frame, &len);
		if (r < 0)
			return r;
	}
	return conn_send(c, frame, len);
}

/* Run one job: answer it, then let go of everything it held. */
static void job_run(struct srv_job *job)
{
	struct srv_conn *c = job->conn;
	int r = conn_respond(c, &job->in);
	if (r < 0)
		log_debug("ttrpc: stream %u: response not sent: %s", job->in.stream_id,
		          strerror(-r));
	ttrpc_incoming_clear(&job->in);
	free(job);
	conn_put(c);
}

/* Under s->lock: park w as idle until a job comes, shutdown, or the idle
 * time runs out. Returns the next job or NULL when the worker should end. */
static struct srv_job *worker_park(struct ttrpc_server *s, struct srv_worker *w)
{
	if (s->shutting_down || s->n_idle >= WORKER_IDLE_MAX)
		return NULL;
	w->job = NULL;
	w->next = s->idle;
	s->idle = w;
	s->n_idle++;

	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += WORKER_IDLE_SEC;
	while (!w->job && !s->shutting_down)
		if (pthread_cond_timedwait(&w->cond, &s->lock, &deadline) == ETIMEDOUT)
			break;
	if (w->job)
		return w->job; /* conn_spawn() took w off the idle list */
	for (struct srv_worker **pp = &s->idle; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			s->n_idle--;
			break;
		}
	}
	return NULL;
}

/*
 * A handler thread. Each request gets a thread of its own, but a thread
 * that finished stays parked for a while (up to WORKER_IDLE_MAX of them), so
 * a busy connection does not pay for pthread_create() on every call.
 */
static void *worker_main(void *arg)
{
	struct srv_job *job = arg;
	struct ttrpc_server *s = job->conn->s;
	struct srv_worker w = {0};

	pthread_cond_init(&w.cond, &s->cond_attr);
	do {
		job_run(job);
		pthread_mutex_lock(&s->lock);
		job = worker_park(s, &w);
		if (job)
			pthread_mutex_unlock(&s->lock);
	} while (job);
	s->n_workers--;
	pthread_cond_broadcast(&s->cond);
	/* Nothing of s may be touched after this unlock: free() may run. */
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&w.cond);
	return NULL;
}

/* Hand a call to an idle worker or a new detached thread; the job then
 * belongs to it. */
static int conn_spawn(struct srv_conn *c, struct ttrpc_incoming *in)
{
	struct ttrpc_server *s = c->s;
	struct srv_job *job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->conn = c;
	job->in = *in;

	int r = 0;
	pthread_mutex_lock(&s->lock);
	c->refs++;
	struct srv_worker *w = s->idle;
	if (w) {
		s->idle = w->next;
		s->n_idle--;
		w->job = job;
		pthread_cond_signal(&w->cond);
	} else {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		s->n_workers++;
		pthread_t tid;
		r = pthread_create(&tid, &attr, worker_main, job);
		if (r != 0) {
			c->refs--;
			s->n_workers--;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&s->lock);
	if (r != 0) {
		free(job);
		return -r;
	}
	memset(in, 0, sizeof(*in)); /* now owned by the job */
	return 0;
}

/* Handle one frame from the reader. Returns <0 when the connection is done. */
static int conn_handle(struct srv_conn *c, const struct ttrpc_frame *f)
{
	struct ttrpc_server *s = c->s;
	struct ttrpc_incoming in;
	int r = ttrpc_incoming_classify(f, &c->last_stream_id, s->methods, s->n_methods, &in);
	if (r < 0)
		return r;
	if (in.action == TTRPC_ACT_CALL) {
		r = conn_spawn(c, &in);
		if (r < 0) {
			log_warn("ttrpc: cannot start handler: %s", strerror(-r));
			uint32_t id = in.stream_id;
			ttrpc_incoming_clear(&in);
			in.stream_id = id;
			in.action = TTRPC_ACT_STATUS;
			in.code = TTRPC_RESOURCE_EXHAUSTED;
			in.message = strdup("cannot start a handler thread"); /* NULL is fine */
		}
	}
	if (in.action == TTRPC_ACT_STATUS)
		r = conn_respond(c, &in);
	ttrpc_incoming_clear(&in);
	return r;
}

static int conn_register(struct ttrpc_server *s, struct srv_conn *c)
{
	pthread_mutex_lock(&s->lock);
	if (s->shutting_down) {
		pthread_mutex_unlock(&s->lock);
		return -ESHUTDOWN;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void conn_unregister(struct ttrpc_server *s, struct srv_conn *c)
{
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* Under the lock so shutdown() never races with this. */
	shutdown(c->fd, SHUT_RDWR);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int ttrpc_server_serve_conn(struct ttrpc_server *s, int fd)
{
	struct srv_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->s = s;
	c->fd = fd;
	c->refs = 1;
	pthread_mutex_init(&c->write_lock, NULL);
	ttrpc_reader_init(&c->rd, fd);
	fd_set_nonblock(fd, 0); /* the reader relies on blocking reads */

	int r = conn_register(s, c);
	if (r < 0) {
		conn_put(c);
		return r;
	}
	for (;;) {
		struct ttrpc_frame f;
		r = ttrpc_reader_next(&c->rd, &f);
		if (r <= 0)
			break;
		r = conn_handle(c, &f);
		free(f.body);
		if (r < 0)
			break;
	}
	if (r == -EPROTO)
		log_warn("ttrpc: peer sent data that is not ttrpc, closing connection");
	pthread_mutex_lock(&s->lock);
	if (s->shutting_down)
		r = 0; /* our own shutdown, not the peer's fault */
	pthread_mutex_unlock(&s->lock);
	conn_unregister(s, c);
	conn_put(c);
	return r == -ECONNRESET ? 0 : r;
}

struct conn_arg {
	struct ttrpc_server *s;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn_arg a = *(struct conn_arg *)arg;
	free(arg);

	int r = ttrpc_server_serve_conn(a.s, a.fd);
	if (r < 0)
		log_debug("ttrpc: connection ended: %s", strerror(-r));
	pthread_mutex_lock(&a.s->lock);
	a.s->n_conn_threads--;
	pthread_cond_broadcast(&a.s->cond);
	pthread_mutex_unlock(&a.s->lock);
	return NULL;
}

static int serve_spawn(struct ttrpc_server *s, int fd)
{
	struct conn_arg *a = malloc(sizeof(*a));
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	a->s = s;
	a->fd = fd;

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&s->lock);
	s->n_conn_threads++;
	pthread_t tid;
	int r = pthread_create(&tid, &attr, conn_thread, a);
	if (r != 0)
		s->n_conn_threads--;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		free(a);
		close(fd);
		return -r;
	}
	return 0;
}

/* Wait until the listener has a connection (1) or shutdown was asked (0). */
static int serve_wait(struct ttrpc_server *s, int listen_fd)
{
	struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
	                      {.fd = s->wake_fd, .events = POLLIN}};
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool stop = s->shutting_down;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return 0;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* A listener that was closed or shut down will never accept
		 * again; do not spin on it. */
		if (p[0].revents & (POLLERR | POLLNVAL | POLLHUP))
			return -EBADF;
		if (p[0].revents & POLLIN)
			return 1;
	}
}

int ttrpc_server_serve(struct ttrpc_server *s, int listen_fd)
{
	int r;
	while ((r = serve_wait(s, listen_fd)) > 0) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of resources: back off instead of spinning. */
				log_warn("ttrpc: accept: %m");
				usleep(100 * 1000);
				continue;
			}
			r = -errno;
			break;
		}
		r = serve_spawn(s, fd);
		if (r < 0)
			log_warn("ttrpc: cannot serve connection: %s", strerror(-r));
	}
	/* Our connections first see shutdown() (or end on their own). */
	if (r < 0)
		ttrpc_server_shutdown(s);
	pthread_mutex_lock(&s->lock);
	while (s->n_conn_threads)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : 0;
}
