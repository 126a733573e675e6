// SPDX-License-Identifier: Apache-2.0
/*
 * Talks to containerd's ttrpc server with hull's ttrpc client (interop test).
 *
 *   ttrpc_forward forward SOCKET NAMESPACE TOPIC CONTAINER_ID EXIT_STATUS
 *       Events/Forward of an Envelope carrying a containerd.events.TaskExit.
 *   ttrpc_forward call SOCKET SERVICE METHOD
 *       An empty request; prints "ok" or "code=N message=TEXT".
 *
 * Exit status: 0 when the server answered OK, 2 when it answered with an
 * error status (printed), 1 when the call itself failed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/ttrpc.h"
#include "tests/tools/ttrpc_containerd.pb-c.h"

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		fprintf(stderr, "connect %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

static int report(int r, struct ttrpc_status *st)
{
	if (r == 0) {
		printf("ok\n");
		return 0;
	}
	if (r == -EREMOTEIO) {
		printf("code=%d message=%s\n", st->code, st->message ? st->message : "");
		ttrpc_status_clear(st);
		return 2;
	}
	fprintf(stderr, "call failed: %s\n", strerror(-r));
	return 1;
}

static int do_forward(struct ttrpc_client *c, char **argv)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Hull__Testtools__Timestamp ts = HULL__TESTTOOLS__TIMESTAMP__INIT;
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;

	Hull__Testtools__TaskExit ev = HULL__TESTTOOLS__TASK_EXIT__INIT;
	ev.container_id = argv[3];
	ev.id = argv[3];
	ev.pid = 4242;
	ev.exit_status = (uint32_t)strtoul(argv[4], NULL, 10);
	ev.exited_at = &ts;
	size_t n = protobuf_c_message_get_packed_size(&ev.base);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return 1;
	protobuf_c_message_pack(&ev.base, buf);

	Hull__Testtools__Any any = HULL__TESTTOOLS__ANY__INIT;
	any.type_url = "containerd.events.TaskExit";
	any.value.data = buf;
	any.value.len = n;
	Hull__Testtools__Envelope env = HULL__TESTTOOLS__ENVELOPE__INIT;
	env.timestamp = &ts;
	env.namespace_ = argv[1];
	env.topic = argv[2];
	env.event = &any;
	Hull__Testtools__ForwardRequest req = HULL__TESTTOOLS__FORWARD_REQUEST__INIT;
	req.envelope = &env;

	const struct ttrpc_kv md[] = {{"containerd-namespace-ttrpc", argv[1]}};
	ProtobufCMessage *resp = NULL;
	struct ttrpc_status st = {0};
	int r =
	    ttrpc_client_call_pb(c, "containerd.services.events.ttrpc.v1.Events", "Forward", md, 1,
	                         &req.base, &hull__testtools__empty__descriptor, 5000, &resp, &st);
	free(buf);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return report(r, &st);
}

static int do_call(struct ttrpc_client *c, char **argv)
{
	uint8_t *out = NULL;
	size_t len = 0;
	struct ttrpc_status st = {0};
	int r = ttrpc_client_call(c, argv[1], argv[2], NULL, 0, NULL, 0, 5000, &out, &len, &st);
	free(out);
	return report(r, &st);
}

int main(int argc, char **argv)
{
	bool forward = argc == 7 && strcmp(argv[1], "forward") == 0;
	bool call = argc == 5 && strcmp(argv[1], "call") == 0;
	if (!forward && !call) {
		fprintf(stderr,
		        "usage: %s forward SOCKET NAMESPACE TOPIC CONTAINER_ID EXIT_STATUS\n"
		        "       %s call SOCKET SERVICE METHOD\n",
		        argv[0], argv[0]);
		return 1;
	}
	int fd = unix_connect(argv[2]);
	if (fd < 0)
		return 1;
	struct ttrpc_client *c;
	if (ttrpc_client_new(fd, &c) < 0) {
		fprintf(stderr, "ttrpc client: out of resources\n");
		return 1;
	}
	int r = forward ? do_forward(c, argv + 2) : do_call(c, argv + 2);
	ttrpc_client_free(c);
	return r;
}
