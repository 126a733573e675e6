// SPDX-License-Identifier: Apache-2.0
/*
 * The device event loop: one epoll thread dispatching fd readiness to
 * callbacks (ioeventfds of queue notifies, tap, vsock sockets, the control
 * socket). Handlers are looked up through a small table indexed by fd so that
 * a handler deleted while a batch of events is being dispatched is simply
 * skipped (its epoll data carries the fd and a generation number, checked
 * before each call).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio.h"

struct handler {
	vmm_loop_fn fn;
	void *ctx;
	uint32_t gen; /* 0: free slot */
};

struct vmm_loop {
	int epfd;
	int wakefd;
	pthread_mutex_t lock;
	struct handler *handlers; /* indexed by fd */
	size_t n_handlers;
	uint32_t next_gen;
	bool stop; /* atomic */
};

static uint64_t pack(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

int vmm_loop_new(struct vmm_loop **out)
{
	struct vmm_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0) {
		int r = -errno;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		free(l);
		return r;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->next_gen = 1;
	/* The wake fd uses gen 0, which no handler has. */
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = pack(l->wakefd, 0)};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		int r = -errno;
		vmm_loop_free(l);
		return r;
	}
	*out = l;
	return 0;
}

void vmm_loop_free(struct vmm_loop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	free(loop->handlers);
	free(loop);
}

static int grow(struct vmm_loop *l, int fd)
{
	if ((size_t)fd < l->n_handlers)
		return 0;
	size_t n = l->n_handlers ? l->n_handlers : 64;
	while (n <= (size_t)fd)
		n *= 2;
	struct handler *h = realloc(l->handlers, n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	memset(h + l->n_handlers, 0, (n - l->n_handlers) * sizeof(*h));
	l->handlers = h;
	l->n_handlers = n;
	return 0;
}

int vmm_loop_add(struct vmm_loop *loop, int fd, uint32_t events, vmm_loop_fn fn, void *ctx)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&loop->lock);
	int r = grow(loop, fd);
	if (r == 0 && loop->handlers[fd].gen != 0)
		r = -EEXIST;
	if (r == 0) {
		uint32_t gen = loop->next_gen++;
		if (loop->next_gen == 0)
			loop->next_gen = 1;
		struct epoll_event ev = {.events = events, .data.u64 = pack(fd, gen)};
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			r = -errno;
		else
			loop->handlers[fd] = (struct handler){.fn = fn, .ctx = ctx, .gen = gen};
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

int vmm_loop_mod(struct vmm_loop *loop, int fd, uint32_t events)
{
	int r = 0;
	pthread_mutex_lock(&loop->lock);
	if (fd < 0 || (size_t)fd >= loop->n_handlers || loop->handlers[fd].gen == 0) {
		r = -ENOENT;
	} else {
		struct epoll_event ev = {.events = events,
					 .data.u64 = pack(fd, loop->handlers[fd].gen)};
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

int vmm_loop_del(struct vmm_loop *loop, int fd)
{
	int r = 0;
	pthread_mutex_lock(&loop->lock);
	if (fd < 0 || (size_t)fd >= loop->n_handlers || loop->handlers[fd].gen == 0) {
		r = -ENOENT;
	} else {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		loop->handlers[fd] = (struct handler){0};
	}
	pthread_mutex_unlock(&loop->lock);
	return r;
}

void vmm_loop_stop(struct vmm_loop *loop)
{
	__atomic_store_n(&loop->stop, true, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	ssize_t r = write(loop->wakefd, &one, sizeof(one));
	(void)r; /* EAGAIN: a wakeup is already pending, which is as good */
}

int vmm_loop_run_once(struct vmm_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if (gen == 0) {
			uint64_t v;
			ssize_t r = read(loop->wakefd, &v, sizeof(v));
			(void)r;
			continue;
		}
		/* Re-check under the lock: an earlier callback in this batch may
		 * have deleted (or deleted and re-added) this fd. */
		pthread_mutex_lock(&loop->lock);
		struct handler h = {0};
		if ((size_t)fd < loop->n_handlers && loop->handlers[fd].gen == gen)
			h = loop->handlers[fd];
		pthread_mutex_unlock(&loop->lock);
		if (h.fn) {
			h.fn(loop, fd, evs[i].events, h.ctx);
			ran++;
		}
	}
	return ran;
}

int vmm_loop_run(struct vmm_loop *loop)
{
	while (!__atomic_load_n(&loop->stop, __ATOMIC_SEQ_CST)) {
		int r = vmm_loop_run_once(loop, -1);
		if (r < 0)
			return r;
	}
	return 0;
}
