// SPDX-License-Identifier: Apache-2.0
/*
 * shim: events reach a ttrpc Events/Forward server (lib/ttrpc's, standing in
 * for containerd's) in the order they were published, with the namespace in
 * the metadata and the Any typed as containerd's typeurl expects.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../shim/shim.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/ttrpc.h"
#include "shim/proto/events.pb-c.h"
#include "shim/proto/events_ttrpc.pb-c.h"

#define MAX_SEEN 16

struct seen {
	pthread_mutex_t lock;
	int n;
	char topic[MAX_SEEN][64];
	char type[MAX_SEEN][64];
	char ns[MAX_SEEN][32];
	uint32_t exit_status[MAX_SEEN];
};

static int forward(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct seen *s = ctx;
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest *f =
	    containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, req->payload_len,
									     req->payload);
	if (!f || !f->envelope || !f->envelope->event)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "bad forward");
	pthread_mutex_lock(&s->lock);
	int i = s->n < MAX_SEEN ? s->n++ : MAX_SEEN - 1;
	snprintf(s->topic[i], sizeof(s->topic[i]), "%s", f->envelope->topic);
	snprintf(s->type[i], sizeof(s->type[i]), "%s", f->envelope->event->type_url);
	const char *ns = ttrpc_request_metadata(req, SHIM_NS_METADATA);
	snprintf(s->ns[i], sizeof(s->ns[i]), "%s", ns ? ns : "");
	if (strcmp(f->envelope->topic, "/tasks/exit") == 0) {
		Containerd__Events__TaskExit *e = containerd__events__task_exit__unpack(
		    NULL, f->envelope->event->value.len, f->envelope->event->value.data);
		if (e) {
			s->exit_status[i] = e->exit_status;
			containerd__events__task_exit__free_unpacked(e, NULL);
		}
	}
	pthread_mutex_unlock(&s->lock);
	containerd__services__events__ttrpc__v1__forward_request__free_unpacked(f, NULL);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	return ttrpc_response_pack(resp, &empty.base);
}

static const struct ttrpc_method methods[] = {
    {"containerd.services.events.ttrpc.v1.Events", "Forward", forward},
};

struct server {
	struct ttrpc_server *srv;
	int fd;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *sv = arg;
	ttrpc_server_serve(sv->srv, sv->fd);
	return NULL;
}

static void events_in_order(void **state)
{
	char dir[] = "/tmp/hull-shim-events.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/ttrpc.sock", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	struct server sv;
	sv.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(sv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv.fd, 8), 0);
	struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(ttrpc_server_new(methods, 1, &seen, &sv.srv), 0);
	assert_int_equal(pthread_create(&sv.thread, NULL, serve, &sv), 0);

	char addr[160];
	snprintf(addr, sizeof(addr), "unix://%s", path);
	struct shim_events *ev = NULL;
	assert_int_equal(shim_events_new(addr, "hulltest", &ev), 0);
	Containerd__Events__TaskStart start = CONTAINERD__EVENTS__TASK_START__INIT;
	start.container_id = "c1";
	Containerd__Events__TaskExit ex = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	ex.container_id = "c1";
	ex.exit_status = 7;
	Containerd__Events__TaskDelete del = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	del.container_id = "c1";
	for (int round = 0; round < 3; round++) {
		shim_events_publish(ev, "/tasks/start", "containerd.events.TaskStart", &start.base);
		shim_events_publish(ev, "/tasks/exit", "containerd.events.TaskExit", &ex.base);
		shim_events_publish(ev, "/tasks/delete", "containerd.events.TaskDelete", &del.base);
	}
	shim_events_free(ev, 5000); /* flushes */

	assert_int_equal(seen.n, 9);
	static const char *const topics[] = {"/tasks/start", "/tasks/exit", "/tasks/delete"};
	static const char *const types[] = {"containerd.events.TaskStart",
					    "containerd.events.TaskExit",
					    "containerd.events.TaskDelete"};
	for (int i = 0; i < 9; i++) {
		assert_string_equal(seen.topic[i], topics[i % 3]);
		assert_string_equal(seen.type[i], types[i % 3]);
		assert_string_equal(seen.ns[i], "hulltest");
	}
	assert_int_equal(seen.exit_status[1], 7);

	ttrpc_server_shutdown(sv.srv);
	pthread_join(sv.thread, NULL);
	ttrpc_server_free(sv.srv);
	close(sv.fd);
	unlink(path);
	rmdir(dir);
}

static void no_address_only_logs(void **state)
{
	struct shim_events *ev = NULL;
	assert_int_equal(shim_events_new(NULL, "default", &ev), 0);
	Containerd__Events__TaskOOM oom = CONTAINERD__EVENTS__TASK_OOM__INIT;
	oom.container_id = "c1";
	shim_events_publish(ev, "/tasks/oom", "containerd.events.TaskOOM", &oom.base);
	shim_events_free(ev, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(events_in_order),
	    cmocka_unit_test(no_address_only_logs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
