// SPDX-License-Identifier: Apache-2.0
/*
 * Task events to containerd: containerd.services.events.ttrpc.v1.Events/
 * Forward on containerd's ttrpc socket ($TTRPC_ADDRESS), each event an
 * Envelope {timestamp, namespace, topic, Any "containerd.events.<Name>"}.
 *
 * containerd requires the order create -> start -> exit -> delete, so events
 * go through one FIFO queue and one sender thread: a caller never blocks on
 * containerd, and an event is never overtaken. A failed send is retried (with
 * a fresh connection) a few times, as containerd-shim-runc-v2 does, then
 * dropped with an error in the log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "shim.h"
#include "shim/proto/events_ttrpc.pb-c.h"

#define SEND_ATTEMPTS   5
#define SEND_TIMEOUT_MS 5000
#define RETRY_DELAY_MS  100

struct event {
	char *topic;
	uint8_t *data; /* the packed ForwardRequest */
	size_t len;
	struct event *next;
};

struct shim_events {
	char *path; /* NULL: log only */
	char *ns;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event *head, **tail;
	bool stop, busy;
	pthread_t thread;
	struct ttrpc_client *client;
};

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int send_one(struct shim_events *ev, const struct event *e)
{
	int r = -EPIPE;
	for (int attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
		if (attempt)
			nanosleep(&(struct timespec){0, RETRY_DELAY_MS * 1000000L}, NULL);
		if (!ev->client) {
			int fd = unix_connect(ev->path);
			if (fd < 0) {
				r = fd;
				continue;
			}
			if ((r = ttrpc_client_new(fd, &ev->client)) < 0)
				continue;
		}
		const struct ttrpc_kv md[] = {{SHIM_NS_METADATA, ev->ns}};
		uint8_t *resp = NULL;
		size_t resp_len = 0;
		struct ttrpc_status st = {0};
		r = ttrpc_client_call(ev->client, "containerd.services.events.ttrpc.v1.Events",
				      "Forward", md, 1, e->data, e->len, SEND_TIMEOUT_MS, &resp,
				      &resp_len, &st);
		free(resp);
		if (r == 0)
			return 0;
		if (r == -EREMOTEIO) {
			/* containerd refused it: sending it again will not help */
			log_error("event %s: containerd: code %d: %s", e->topic, st.code,
				  st.message ? st.message : "");
			ttrpc_status_clear(&st);
			return r;
		}
		ttrpc_client_free(ev->client);
		ev->client = NULL;
	}
	log_error("event %s: send to %s: %s", e->topic, ev->path, strerror(-r));
	return r;
}

static void *sender(void *arg)
{
	struct shim_events *ev = arg;
	pthread_mutex_lock(&ev->lock);
	for (;;) {
		while (!ev->head && !ev->stop)
			pthread_cond_wait(&ev->cond, &ev->lock);
		if (!ev->head)
			break;
		struct event *e = ev->head;
		ev->head = e->next;
		if (!ev->head)
			ev->tail = &ev->head;
		ev->busy = true;
		pthread_mutex_unlock(&ev->lock);
		if (ev->path)
			send_one(ev, e);
		free(e->topic);
		free(e->data);
		free(e);
		pthread_mutex_lock(&ev->lock);
		ev->busy = false;
		pthread_cond_broadcast(&ev->cond);
	}
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

int shim_events_new(const char *addr, const char *ns, struct shim_events **out)
{
	struct shim_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	if (addr && strncmp(addr, "unix://", 7) == 0)
		addr += 7;
	ev->path = addr && addr[0] ? strdup(addr) : NULL;
	ev->ns = strdup(ns);
	ev->tail = &ev->head;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	int r = ev->ns && (!addr || !addr[0] || ev->path) ? 0 : -ENOMEM;
	if (r == 0)
		r = -pthread_create(&ev->thread, NULL, sender, ev);
	if (r < 0) {
		free(ev->path);
		free(ev->ns);
		free(ev);
		return r;
	}
	*out = ev;
	return 0;
}

/* The ForwardRequest for one event, packed. */
static int pack_forward(const char *ns, const char *topic, const char *type,
			const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	size_t n = protobuf_c_message_get_packed_size(msg);
	_cleanup_free_ uint8_t *body = malloc(n ? n : 1);
	if (!body)
		return -ENOMEM;
	protobuf_c_message_pack(msg, body);
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = (char *)type;
	any.value.data = body;
	any.value.len = n;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
	    CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	env.timestamp = &ts;
	env.namespace_ = (char *)ns;
	env.topic = (char *)topic;
	env.event = &any;
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
	    CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	req.envelope = &env;
	*len = protobuf_c_message_get_packed_size(&req.base);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return -ENOMEM;
	protobuf_c_message_pack(&req.base, *out);
	return 0;
}

void shim_events_publish(struct shim_events *ev, const char *topic, const char *type,
			 const ProtobufCMessage *msg)
{
	log_debug("event %s (%s)", topic, type);
	struct event *e = calloc(1, sizeof(*e));
	if (!e || !(e->topic = strdup(topic)) ||
	    pack_forward(ev->ns, topic, type, msg, &e->data, &e->len) < 0) {
		log_error("event %s: out of memory", topic);
		if (e)
			free(e->topic);
		free(e);
		return;
	}
	pthread_mutex_lock(&ev->lock);
	*ev->tail = e;
	ev->tail = &e->next;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

void shim_events_free(struct shim_events *ev, int timeout_ms)
{
	if (!ev)
		return;
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->lock);
	/* containerd must see the last exit and delete before we go */
	while ((ev->head || ev->busy) &&
	       pthread_cond_timedwait(&ev->cond, &ev->lock, &end) != ETIMEDOUT)
		;
	bool done = !ev->head && !ev->busy;
	ev->stop = true;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	if (!done) {
		/* the sender is stuck on containerd: leave it to process exit */
		log_warn("events: containerd did not take every event in %d ms", timeout_ms);
		return;
	}
	pthread_join(ev->thread, NULL);
	if (ev->client)
		ttrpc_client_free(ev->client);
	free(ev->path);
	free(ev->ns);
	free(ev);
}
