// SPDX-License-Identifier: Apache-2.0
/*
 * A hull ttrpc server posing as a shim for containerd's ttrpc client
 * (interop test): serves containerd.task.v2.Task/State on a unix socket.
 *
 *   ttrpc_serve SOCKET       SOCKET starting with '@' is an abstract socket
 *
 * State answers {id: <request id>, bundle: "/hull/bundle/<id>", pid: 4242,
 * status: RUNNING}; every other method is UNIMPLEMENTED. Prints "ready" when
 * listening; SIGTERM/SIGINT shut it down cleanly (exit 0).
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ttrpc.h"
#include "tests/tools/ttrpc_containerd.pb-c.h"

static int task_state(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	Hull__Testtools__StateRequest *in =
	    hull__testtools__state_request__unpack(NULL, req->payload_len, req->payload);
	if (!in)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "bad StateRequest");
	char bundle[256];
	snprintf(bundle, sizeof(bundle), "/hull/bundle/%s", in->id);
	Hull__Testtools__StateResponse out = HULL__TESTTOOLS__STATE_RESPONSE__INIT;
	out.id = in->id;
	out.bundle = bundle;
	out.pid = 4242;
	out.status = 2; /* RUNNING */
	int r = ttrpc_response_pack(resp, &out.base);
	hull__testtools__state_request__free_unpacked(in, NULL);
	return r;
}

static const struct ttrpc_method methods[] = {{"containerd.task.v2.Task", "State", task_state}};

struct serve_arg {
	struct ttrpc_server *s;
	int lfd;
	int ret;
};

static void *serve_main(void *arg)
{
	struct serve_arg *a = arg;
	a->ret = ttrpc_server_serve(a->s, a->lfd);
	return NULL;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Go's net package counts the terminating NUL in the length of an
	 * abstract "\x00name" address, so containerd's clients dial exactly
	 * that: match it. */
	socklen_t sl =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '@' ? 1 : 0));
	if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 1;
	}
	/* Signals are taken by sigwait() below, so shutdown runs in a normal
	 * thread context (ttrpc_server_shutdown is not async-signal-safe). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct serve_arg a = {.lfd = listen_on(argv[1])};
	if (a.lfd < 0) {
		fprintf(stderr, "listen %s: %s\n", argv[1], strerror(-a.lfd));
		return 1;
	}
	pthread_t t;
	if (ttrpc_server_new(methods, 1, NULL, &a.s) < 0 ||
	    pthread_create(&t, NULL, serve_main, &a) != 0) {
		fprintf(stderr, "cannot start server\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	ttrpc_server_shutdown(a.s);
	pthread_join(t, NULL);
	ttrpc_server_free(a.s);
	close(a.lfd);
	if (argv[1][0] != '@')
		unlink(argv[1]);
	return a.ret < 0 ? 1 : 0;
}
