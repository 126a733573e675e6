// SPDX-License-Identifier: Apache-2.0
/*
 * The ttrpc service "hull.agent.v1.Agent" (lib/proto/agent.proto): decode and
 * check each request, call the lifecycle code, map errors to gRPC codes.
 * Decoding is separate (agent_service_decode) so it can be fuzzed alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cgroup.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/proto/agent.pb-c.h"
#include "lib/ttrpc.h"
#include "oci/spec.h"
#include "service.h"

#define PB(name) hull__agent__v1__##name
typedef Hull__Agent__V1__Empty Empty;

static int code_of(int err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
	case ESRCH:
		return TTRPC_NOT_FOUND;
	case EEXIST:
		return TTRPC_ALREADY_EXISTS;
	case EBUSY:
		return TTRPC_FAILED_PRECONDITION;
	case EOPNOTSUPP:
		return TTRPC_FAILED_PRECONDITION;
	case EINVAL:
		return TTRPC_INVALID_ARGUMENT;
	case ETIMEDOUT:
		return TTRPC_DEADLINE_EXCEEDED;
	case EPERM:
	case EACCES:
		return TTRPC_PERMISSION_DENIED;
	default:
		return TTRPC_INTERNAL;
	}
}

static int fail(struct ttrpc_response *resp, int r, struct err **err)
{
	ttrpc_response_error(resp, code_of(r), "%s", err_msg(*err));
	err_free(err);
	return 0;
}

static int reply(struct ttrpc_response *resp, const ProtobufCMessage *m)
{
	if (ttrpc_response_pack(resp, m) < 0)
		ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

static int reply_empty(struct ttrpc_response *resp)
{
	Empty e = HULL__AGENT__V1__EMPTY__INIT;
	return reply(resp, &e.base);
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* The id fields every request with an id carries; checked before use. */
static int check_ids(const ProtobufCMessage *m, struct err **err)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		const char *v = *(const char *const *)((const char *)m + f->offset);
		if (strcmp(f->name, "id") == 0) {
			int r = agent_id_check("container id", v, err);
			if (r < 0)
				return r;
		} else if (strcmp(f->name, "exec_id") == 0 && v && v[0]) {
			int r = agent_id_check("exec id", v, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static const struct {
	const char *method;
	const ProtobufCMessageDescriptor *desc;
} requests[] = {
    {"Ping", &PB(ping_request__descriptor)},
    {"CreateContainer", &PB(create_container_request__descriptor)},
    {"StartContainer", &PB(start_container_request__descriptor)},
    {"ExecProcess", &PB(exec_process_request__descriptor)},
    {"SignalProcess", &PB(signal_process_request__descriptor)},
    {"WaitProcess", &PB(wait_process_request__descriptor)},
    {"CloseStdin", &PB(close_stdin_request__descriptor)},
    {"ResizeTty", &PB(resize_tty_request__descriptor)},
    {"ListProcesses", &PB(list_processes_request__descriptor)},
    {"StatsContainer", &PB(stats_container_request__descriptor)},
    {"UpdateContainer", &PB(update_container_request__descriptor)},
    {"PauseContainer", &PB(pause_container_request__descriptor)},
    {"ResumeContainer", &PB(resume_container_request__descriptor)},
    {"RemoveContainer", &PB(remove_container_request__descriptor)},
    {"GetOOMEvent", &PB(get_oomevent_request__descriptor)},
    {"SetTime", &PB(set_time_request__descriptor)},
    {"UpdateNetwork", &PB(update_network_request__descriptor)},
};

int agent_service_decode(const char *method, const uint8_t *buf, size_t len, ProtobufCMessage **out,
			 struct err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		if (strcmp(method, requests[i].method) != 0)
			continue;
		ProtobufCMessage *m = protobuf_c_message_unpack(requests[i].desc, NULL, len, buf);
		if (!m)
			return err_set(err, 0, "%s: request does not decode as %s", method,
				       requests[i].desc->name);
		int r = check_ids(m, err);
		if (r == 0 && strcmp(method, "CreateContainer") == 0) {
			Hull__Agent__V1__CreateContainerRequest *c = (void *)m;
			if (c->spec_json.len == 0)
				r = err_set(err, 0, "CreateContainer: spec_json is empty");
			if (r == 0 && c->rootfs && c->rootfs->n_options > 64)
				r = err_set(err, 0, "rootfs: more than 64 options");
			for (size_t k = 0; r == 0 && k < c->n_mounts; k++)
				if (c->mounts[k]->target[0] != '/')
					r = err_set(err, 0, "mounts[%zu]: target must be absolute",
						    k);
		}
		if (r == 0 && strcmp(method, "UpdateNetwork") == 0)
			r = agent_network_check((void *)m, err);
		if (r < 0) {
			protobuf_c_message_free_unpacked(m, NULL);
			return err_wrap(err, "%s", method);
		}
		*out = m;
		return 0;
	}
	return err_set(err, EOPNOTSUPP, "unknown method %s", method);
}

/* ---- handlers ---------------------------------------------------------------------------- */

static int h_ping(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__PingResponse out = HULL__AGENT__V1__PING_RESPONSE__INIT;
	out.version = (char *)AGENT_VERSION;
	out.api_version = (char *)AGENT_API_VERSION;
	out.uptime_ms = (agent_now_ns(CLOCK_MONOTONIC) - a->started_ns) / 1000000;
	return reply(resp, &out.base);
}

static struct agent_stdio_req stdio_of(const Hull__Agent__V1__Stdio *s)
{
	struct agent_stdio_req r = {0};
	if (s)
		r = (struct agent_stdio_req){s->open_stdin, s->open_stdout, s->open_stderr,
					     s->terminal};
	return r;
}

static int h_create(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__CreateContainerRequest *in = (void *)m;
	struct err *err = NULL;
	struct agent_create_req req = {
	    .id = in->id,
	    .spec_json = (const char *)in->spec_json.data,
	    .spec_len = in->spec_json.len,
	    .stdio = stdio_of(in->stdio),
	};
	if (in->rootfs)
		req.rootfs = (struct agent_rootfs_req){
		    .type = in->rootfs->type,
		    .source = in->rootfs->source,
		    .fstype = in->rootfs->fstype[0] ? in->rootfs->fstype : NULL,
		    .options = in->rootfs->options,
		    .n_options = in->rootfs->n_options,
		    .subdir = in->rootfs->subdir,
		};
	_cleanup_free_ struct agent_extra_mount *mounts = calloc(in->n_mounts + 1, sizeof(*mounts));
	if (!mounts)
		return ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "oom");
	for (size_t i = 0; i < in->n_mounts; i++) {
		const Hull__Agent__V1__Mount *mm = in->mounts[i];
		/* Options of extra mounts: the first one is the data string. */
		mounts[i] = (struct agent_extra_mount){mm->type, mm->source, mm->target,
						       mm->n_options ? mm->options[0] : NULL};
	}
	req.mounts = mounts;
	req.n_mounts = in->n_mounts;
	pid_t pid;
	int r = agent_container_create(a, &req, &pid, &err);
	if (r < 0)
		return fail(resp, r, &err);
	Hull__Agent__V1__CreateContainerResponse out =
	    HULL__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
	out.pid = pid;
	return reply(resp, &out.base);
}

static int h_start(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__StartContainerRequest *in = (void *)m;
	struct err *err = NULL;
	int r = agent_container_start(a, in->id, &err);
	return r < 0 ? fail(resp, r, &err) : reply_empty(resp);
}

static int h_exec(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__ExecProcessRequest *in = (void *)m;
	struct err *err = NULL;
	struct agent_stdio_req st = stdio_of(in->stdio);
	pid_t pid;
	int r = agent_container_exec(a, in->id, in->exec_id, (const char *)in->process_json.data,
				     in->process_json.len, &st, &pid, &err);
	if (r < 0)
		return fail(resp, r, &err);
	Hull__Agent__V1__ExecProcessResponse out = HULL__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
	out.pid = pid;
	return reply(resp, &out.base);
}

static int h_signal(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__SignalProcessRequest *in = (void *)m;
	struct err *err = NULL;
	int r = agent_container_signal(a, in->id, in->exec_id, in->signal, in->all, &err);
	return r < 0 ? fail(resp, r, &err) : reply_empty(resp);
}

static int h_wait(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp,
		  int64_t timeout_nano)
{
	Hull__Agent__V1__WaitProcessRequest *in = (void *)m;
	struct err *err = NULL;
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, in->id);
	struct agent_proc *p = c && !c->removing ? agent_proc_find(c, in->exec_id) : NULL;
	if (!p) {
		pthread_mutex_unlock(&a->lock);
		err_set(&err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
		return fail(resp, -ENOENT, &err);
	}
	c->refs++;
	int64_t deadline = timeout_nano > 0 ? agent_now_ns(CLOCK_MONOTONIC) + timeout_nano : 0;
	int r = 0;
	/* Wake at least every second without a deadline so that a
	 * RemoveContainer (which waits for refs to drop) is noticed. */
	while (p->state != PROC_EXITED && !c->removing && r == 0) {
		int64_t tick = agent_now_ns(CLOCK_MONOTONIC) + 1000000000LL;
		r = agent_proc_wait_locked(a, p, deadline && deadline < tick ? deadline : tick);
		if (r == -ETIMEDOUT && (!deadline || agent_now_ns(CLOCK_MONOTONIC) < deadline))
			r = 0;
	}
	Hull__Agent__V1__WaitProcessResponse out = HULL__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
	bool exited = p->state == PROC_EXITED;
	if (exited) {
		out.exit_status = agent_proc_exit_code(p);
		out.signaled = WIFSIGNALED(p->status);
		out.signal = out.signaled ? WTERMSIG(p->status) : 0;
		out.oom_killed = p->oom_killed;
		out.exited_at_ns = p->exited_at_ns;
	}
	c->refs--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (!exited) {
		if (r == -ETIMEDOUT)
			err_set(&err, ETIMEDOUT, "wait %s/%s", in->id, in->exec_id);
		else
			err_set(&err, ENOENT, "wait %s/%s: the container was removed", in->id,
				in->exec_id);
		return fail(resp, r == -ETIMEDOUT ? -ETIMEDOUT : -ENOENT, &err);
	}
	return reply(resp, &out.base);
}

static int with_proc(struct agent *a, const char *id, const char *exec_id, struct agent_proc **p,
		     struct ttrpc_response *resp)
{
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, id);
	*p = c && !c->removing ? agent_proc_find(c, exec_id) : NULL;
	if (!*p) {
		pthread_mutex_unlock(&a->lock);
		ttrpc_response_error(resp, TTRPC_NOT_FOUND, "process %s/%s not found", id, exec_id);
		return -ENOENT;
	}
	return 0;
}

static int h_close_stdin(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__CloseStdinRequest *in = (void *)m;
	struct agent_proc *p;
	if (with_proc(a, in->id, in->exec_id, &p, resp) < 0)
		return 0;
	p->stdin_closed = true;
	if (p->fds[STREAM_STDIN] >= 0)
		close(TAKE_FD(p->fds[STREAM_STDIN]));
	/* An attached relay ends (and closes the pipe) when its read ends. */
	if (p->relay_stdin_sock >= 0)
		shutdown(p->relay_stdin_sock, SHUT_RD);
	/* A terminal has no stdin pipe: send EOF (^D) through the line discipline. */
	if (p->fds[STREAM_TTY] >= 0 && write(p->fds[STREAM_TTY], "\x04", 1) < 0)
		log_warn("close stdin of tty: %s", strerror(errno));
	pthread_mutex_unlock(&a->lock);
	return reply_empty(resp);
}

static int h_resize(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__ResizeTtyRequest *in = (void *)m;
	struct agent_proc *p;
	if (with_proc(a, in->id, in->exec_id, &p, resp) < 0)
		return 0;
	int r = 0;
	if (p->fds[STREAM_TTY] < 0) {
		r = ttrpc_response_error(resp, TTRPC_FAILED_PRECONDITION, "%s/%s has no terminal",
					 in->id, in->exec_id);
		r = -1;
	} else {
		struct winsize ws = {.ws_row = (unsigned short)in->height,
				     .ws_col = (unsigned short)in->width};
		if (ioctl(p->fds[STREAM_TTY], TIOCSWINSZ, &ws) < 0) {
			ttrpc_response_error(resp, TTRPC_INTERNAL, "resize: %s", strerror(errno));
			r = -1;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return r < 0 ? 0 : reply_empty(resp);
}

static int h_pause(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp, bool pause)
{
	const char *id = pause ? ((Hull__Agent__V1__PauseContainerRequest *)m)->id
			       : ((Hull__Agent__V1__ResumeContainerRequest *)m)->id;
	struct err *err = NULL;
	int r = agent_container_pause(a, id, pause, &err);
	return r < 0 ? fail(resp, r, &err) : reply_empty(resp);
}

static int h_remove(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__RemoveContainerRequest *in = (void *)m;
	struct err *err = NULL;
	int r = agent_container_remove(a, in->id, in->force, &err);
	return r < 0 ? fail(resp, r, &err) : reply_empty(resp);
}

static int h_settime(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	Hull__Agent__V1__SetTimeRequest *in = (void *)m;
	if (in->nsec < 0 || in->nsec >= 1000000000 || in->sec < 0)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "bad time %lld.%09lld",
					    (long long)in->sec, (long long)in->nsec);
	/* Only PID 1 owns the clock; in host mode the host's clock is right. */
	if (!a->pid1)
		return reply_empty(resp);
	struct timespec ts = {in->sec, in->nsec};
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		return ttrpc_response_error(resp, TTRPC_INTERNAL, "clock_settime: %s",
					    strerror(errno));
	return reply_empty(resp);
}

static int h_network(struct agent *a, ProtobufCMessage *m, struct ttrpc_response *resp)
{
	struct err *err = NULL;
	if (agent_network_apply(a, (void *)m, &err) < 0) {
		log_error("UpdateNetwork: %s", err_msg(err));
		ttrpc_response_error(resp, TTRPC_INTERNAL, "%s", err_msg(err));
		err_free(&err);
		return 0;
	}
	return reply_empty(resp);
}

static int dispatch(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct agent *a = ctx;
	struct err *err = NULL;
	ProtobufCMessage *m = NULL;
	int r = agent_service_decode(req->method, req->payload, req->payload_len, &m, &err);
	if (r < 0) {
		ttrpc_response_error(
		    resp, r == -EOPNOTSUPP ? TTRPC_UNIMPLEMENTED : TTRPC_INVALID_ARGUMENT, "%s",
		    err_msg(err));
		err_free(&err);
		return 0;
	}
	log_debug("rpc %s", req->method);
	const char *me = req->method;
	if (!strcmp(me, "Ping"))
		h_ping(a, m, resp);
	else if (!strcmp(me, "CreateContainer"))
		h_create(a, m, resp);
	else if (!strcmp(me, "StartContainer"))
		h_start(a, m, resp);
	else if (!strcmp(me, "ExecProcess"))
		h_exec(a, m, resp);
	else if (!strcmp(me, "SignalProcess"))
		h_signal(a, m, resp);
	else if (!strcmp(me, "WaitProcess"))
		h_wait(a, m, resp, req->timeout_nano);
	else if (!strcmp(me, "CloseStdin"))
		h_close_stdin(a, m, resp);
	else if (!strcmp(me, "ResizeTty"))
		h_resize(a, m, resp);
	else if (!strcmp(me, "PauseContainer") || !strcmp(me, "ResumeContainer"))
		h_pause(a, m, resp, me[0] == 'P');
	else if (!strcmp(me, "RemoveContainer"))
		h_remove(a, m, resp);
	else if (!strcmp(me, "SetTime"))
		h_settime(a, m, resp);
	else if (!strcmp(me, "UpdateNetwork"))
		h_network(a, m, resp);
	else
		agent_service_query(a, me, m, resp, req->timeout_nano);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static const struct ttrpc_method methods[] = {
    {AGENT_SERVICE, "Ping", dispatch},
    {AGENT_SERVICE, "CreateContainer", dispatch},
    {AGENT_SERVICE, "StartContainer", dispatch},
    {AGENT_SERVICE, "ExecProcess", dispatch},
    {AGENT_SERVICE, "SignalProcess", dispatch},
    {AGENT_SERVICE, "WaitProcess", dispatch},
    {AGENT_SERVICE, "CloseStdin", dispatch},
    {AGENT_SERVICE, "ResizeTty", dispatch},
    {AGENT_SERVICE, "ListProcesses", dispatch},
    {AGENT_SERVICE, "StatsContainer", dispatch},
    {AGENT_SERVICE, "UpdateContainer", dispatch},
    {AGENT_SERVICE, "PauseContainer", dispatch},
    {AGENT_SERVICE, "ResumeContainer", dispatch},
    {AGENT_SERVICE, "RemoveContainer", dispatch},
    {AGENT_SERVICE, "GetOOMEvent", dispatch},
    {AGENT_SERVICE, "SetTime", dispatch},
    {AGENT_SERVICE, "UpdateNetwork", dispatch},
};

int agent_service_new(struct agent *a, struct ttrpc_server **out, struct err **err)
{
	int r = ttrpc_server_new(methods, ARRAY_SIZE(methods), a, out);
	if (r < 0)
		return err_set(err, -r, "ttrpc server");
	return 0;
}
