// SPDX-License-Identifier: Apache-2.0
/*
 * The containerd.task.v2.Task service (containerd 1.6 runtime/v2/task/
 * shim.proto) over lib/ttrpc: each method decodes its request, calls task.c /
 * process.c, and encodes the answer. Errors travel as gRPC status codes that
 * containerd's errdefs understand (NOT_FOUND, ALREADY_EXISTS,
 * FAILED_PRECONDITION, ...). Checkpoint is UNIMPLEMENTED.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "oci/spec.h"
#include "shim.h"
#include "shim/proto/shim.pb-c.h"

#define SHUTDOWN_DELAY_MS 100 /* lets the Shutdown answer leave before we close */

int shim_errno_code(int r)
{
	switch (-r) {
	case ENOENT:
		return TTRPC_NOT_FOUND;
	case EEXIST:
		return TTRPC_ALREADY_EXISTS;
	case EBUSY:
		return TTRPC_FAILED_PRECONDITION;
	case EINVAL:
	case E2BIG:
	case ENAMETOOLONG:
		return TTRPC_INVALID_ARGUMENT;
	case EOPNOTSUPP:
		return TTRPC_UNIMPLEMENTED;
	case ETIMEDOUT:
		return TTRPC_DEADLINE_EXCEEDED;
	default:
		return TTRPC_UNKNOWN;
	}
}

static int fail(struct ttrpc_response *resp, const char *method, int r, struct err **err)
{
	log_warn("%s: %s", method, err_msg(*err));
	ttrpc_response_error(resp, shim_errno_code(r), "%s", err_msg(*err));
	err_free(err);
	return 0;
}

static int reply_empty(struct ttrpc_response *resp)
{
	Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
	return ttrpc_response_pack(resp, &e.base);
}

static void set_ts(Google__Protobuf__Timestamp *ts, int64_t ns)
{
	ts->seconds = ns / 1000000000LL;
	ts->nanos = (int32_t)(ns % 1000000000LL);
}

/* Unpack req->payload as TYPE into a variable m freed at scope exit. */
#define DECODE(type, fn, name)                                                                     \
	type *m = fn##__unpack(NULL, req->payload_len, req->payload);                              \
	if (!m)                                                                                    \
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "cannot decode " name);  \
	struct unpack_guard guard __attribute__((cleanup(unpack_free), unused)) = {&m->base}

struct unpack_guard {
	ProtobufCMessage *m;
};
static void unpack_free(struct unpack_guard *g)
{
	protobuf_c_message_free_unpacked(g->m, NULL);
}

static int do_state(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct shim_service *s = ctx;
	DECODE(Containerd__Task__V2__StateRequest, containerd__task__v2__state_request,
	       "StateRequest");
	struct err *err = NULL;
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = shim_task_find(s, m->id, m->exec_id, &err);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return fail(resp, "State", -ENOENT, &err);
	}
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	set_ts(&ts, p->exited_at_ns);
	Containerd__Task__V2__StateResponse r = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	r.id = p->task->id;
	r.bundle = p->task->bundle;
	r.pid = p->pid;
	r.status = (Containerd__V1__Types__Status)p->status;
	r.stdin = p->stdin_;
	r.stdout = p->stdout_;
	r.stderr = p->stderr_;
	r.terminal = p->terminal;
	r.exit_status = p->exit_status;
	r.exited_at = p->status == SHIM_STOPPED ? &ts : NULL;
	r.exec_id = p->exec_id;
	ttrpc_response_pack(resp, &r.base);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int do_create(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct shim_service *s = ctx;
	DECODE(Containerd__Task__V2__CreateTaskRequest, containerd__task__v2__create_task_request,
	       "CreateTaskRequest");
	if (m->checkpoint[0])
		return ttrpc_response_error(resp, TTRPC_UNIMPLEMENTED,
					    "create from a checkpoint is not supported");
	if (m->bundle[0] != '/')
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT,
					    "bundle \"%.256s\" is not an absolute path", m->bundle);
	if (m->n_rootfs > SHIM_MAX_MOUNTS)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT,
					    "%zu rootfs mounts (at most %d)", m->n_rootfs,
					    SHIM_MAX_MOUNTS);
	struct shim_mount mounts[SHIM_MAX_MOUNTS];
	for (size_t i = 0; i < m->n_rootfs; i++)
		mounts[i] = (struct shim_mount){
		    .type = m->rootfs[i]->type,
		    .source = m->rootfs[i]->source,
		    .target = m->rootfs[i]->target,
		    .options = (const char *const *)m->rootfs[i]->options,
		    .n_options = m->rootfs[i]->n_options,
		};
	struct shim_create c = {
	    .id = m->id,
	    .bundle = m->bundle,
	    .mounts = mounts,
	    .n_mounts = m->n_rootfs,
	    .io = {m->stdin, m->stdout, m->stderr, m->terminal},
	};
	struct err *err = NULL;
	uint32_t pid = 0;
	int r = shim_task_create(s, &c, &pid, &err);
	if (r < 0)
		return fail(resp, "Create", r, &err);
	Containerd__Task__V2__CreateTaskResponse out =
	    CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	out.pid = pid;
	return ttrpc_response_pack(resp, &out.base);
}

static int do_start(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__StartRequest, containerd__task__v2__start_request,
	       "StartRequest");
	struct err *err = NULL;
	uint32_t pid = 0;
	int r = shim_task_start(ctx, m->id, m->exec_id, &pid, &err);
	if (r < 0)
		return fail(resp, "Start", r, &err);
	Containerd__Task__V2__StartResponse out = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	out.pid = pid;
	return ttrpc_response_pack(resp, &out.base);
}

static int do_delete(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__DeleteRequest, containerd__task__v2__delete_request,
	       "DeleteRequest");
	struct err *err = NULL;
	uint32_t pid = 0, status = 0;
	int64_t at = 0;
	int r = shim_task_delete(ctx, m->id, m->exec_id, &pid, &status, &at, &err);
	if (r < 0)
		return fail(resp, "Delete", r, &err);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	set_ts(&ts, at);
	Containerd__Task__V2__DeleteResponse out = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	out.pid = pid;
	out.exit_status = status;
	out.exited_at = &ts;
	return ttrpc_response_pack(resp, &out.base);
}

static int do_pids(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__PidsRequest, containerd__task__v2__pids_request,
	       "PidsRequest");
	struct err *err = NULL;
	struct rt_agent_process *procs = NULL;
	size_t n = 0;
	int r = shim_task_pids(ctx, m->id, &procs, &n, &err);
	if (r < 0)
		return fail(resp, "Pids", r, &err);
	Containerd__V1__Types__ProcessInfo *info = calloc(n ? n : 1, sizeof(*info));
	Containerd__V1__Types__ProcessInfo **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (!info || !ptrs) {
		r = ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			containerd__v1__types__process_info__init(&info[i]);
			info[i].pid = (uint32_t)procs[i].pid;
			ptrs[i] = &info[i];
		}
		Containerd__Task__V2__PidsResponse out = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
		out.n_processes = n;
		out.processes = ptrs;
		r = ttrpc_response_pack(resp, &out.base);
	}
	free(info);
	free(ptrs);
	rt_agent_processes_free(procs, n);
	return r;
}

static int pause_resume(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp,
			bool pause)
{
	/* PauseRequest and ResumeRequest are both {id = 1} */
	DECODE(Containerd__Task__V2__PauseRequest, containerd__task__v2__pause_request,
	       "PauseRequest");
	struct err *err = NULL;
	int r = shim_task_pause(ctx, m->id, pause, &err);
	if (r < 0)
		return fail(resp, pause ? "Pause" : "Resume", r, &err);
	return reply_empty(resp);
}

static int do_pause(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	return pause_resume(ctx, req, resp, true);
}

static int do_resume(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	return pause_resume(ctx, req, resp, false);
}

static int do_checkpoint(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	return ttrpc_response_error(resp, TTRPC_UNIMPLEMENTED,
				    "checkpoint is not supported by hull");
}

static int do_kill(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__KillRequest, containerd__task__v2__kill_request,
	       "KillRequest");
	struct err *err = NULL;
	int r = shim_task_kill(ctx, m->id, m->exec_id, (int)(m->signal > 64 ? 0 : m->signal),
			       m->all, &err);
	if (r < 0)
		return fail(resp, "Kill", r, &err);
	return reply_empty(resp);
}

static int do_exec(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct shim_service *s = ctx;
	DECODE(Containerd__Task__V2__ExecProcessRequest, containerd__task__v2__exec_process_request,
	       "ExecProcessRequest");
	if (!m->spec || strcmp(m->spec->type_url, SHIM_PROCESS_TYPE) != 0)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT,
					    "exec: spec must be an Any of type %s",
					    SHIM_PROCESS_TYPE);
	/* checked here so that a bad process fails Exec, not the later Start */
	struct err *err = NULL;
	struct oci_process *proc = NULL;
	int r =
	    oci_process_parse((const char *)m->spec->value.data, m->spec->value.len, &proc, &err);
	if (r >= 0)
		r = oci_process_validate(proc, &err);
	if (proc)
		oci_process_free(proc);
	if (r < 0) {
		err_wrap(&err, "exec %s: process", m->exec_id);
		return fail(resp, "Exec", -EINVAL, &err);
	}
	struct shim_io_paths io = {m->stdin, m->stdout, m->stderr, m->terminal};
	r = shim_task_exec(s, m->id, m->exec_id, &io, (const char *)m->spec->value.data,
			   m->spec->value.len, &err);
	if (r < 0)
		return fail(resp, "Exec", r, &err);
	return reply_empty(resp);
}

static int do_resize(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__ResizePtyRequest, containerd__task__v2__resize_pty_request,
	       "ResizePtyRequest");
	struct err *err = NULL;
	int r = shim_task_resize(ctx, m->id, m->exec_id, m->width, m->height, &err);
	if (r < 0)
		return fail(resp, "ResizePty", r, &err);
	return reply_empty(resp);
}

static int do_close_io(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__CloseIORequest, containerd__task__v2__close_iorequest,
	       "CloseIORequest");
	struct err *err = NULL;
	int r = m->stdin ? shim_task_close_io(ctx, m->id, m->exec_id, &err) : 0;
	if (r < 0)
		return fail(resp, "CloseIO", r, &err);
	return reply_empty(resp);
}

static int do_update(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__UpdateTaskRequest, containerd__task__v2__update_task_request,
	       "UpdateTaskRequest");
	if (!m->resources)
		return ttrpc_response_error(resp, TTRPC_INVALID_ARGUMENT, "update: no resources");
	struct err *err = NULL;
	struct rt_agent_resources res;
	int r = shim_resources_parse(m->resources->type_url, m->resources->value.data,
				     m->resources->value.len, &res, &err);
	if (r >= 0)
		r = shim_task_update(ctx, m->id, &res, &err);
	if (r < 0)
		return fail(resp, "Update", r, &err);
	return reply_empty(resp);
}

static int do_wait(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__WaitRequest, containerd__task__v2__wait_request,
	       "WaitRequest");
	struct err *err = NULL;
	uint32_t status = 0;
	int64_t at = 0;
	int r = shim_task_wait(ctx, m->id, m->exec_id, &status, &at, &err);
	if (r < 0)
		return fail(resp, "Wait", r, &err);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	set_ts(&ts, at);
	Containerd__Task__V2__WaitResponse out = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	out.exit_status = status;
	out.exited_at = &ts;
	return ttrpc_response_pack(resp, &out.base);
}

static int do_stats(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__StatsRequest, containerd__task__v2__stats_request,
	       "StatsRequest");
	struct err *err = NULL;
	struct rt_agent_stats st;
	int r = shim_task_stats(ctx, m->id, &st, &err);
	if (r < 0)
		return fail(resp, "Stats", r, &err);
	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	if (shim_metrics_pack(&st, &data, &len) < 0)
		return ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	any.type_url = SHIM_METRICS_TYPE;
	any.value.data = data;
	any.value.len = len;
	Containerd__Task__V2__StatsResponse out = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	out.stats = &any;
	return ttrpc_response_pack(resp, &out.base);
}

static int do_connect(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	DECODE(Containerd__Task__V2__ConnectRequest, containerd__task__v2__connect_request,
	       "ConnectRequest");
	Containerd__Task__V2__ConnectResponse out = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	out.shim_pid = (uint32_t)getpid();
	out.task_pid = (uint32_t)shim_task_vmm_pid(ctx, m->id);
	out.version = SHIM_VERSION;
	return ttrpc_response_pack(resp, &out.base);
}

static void *shutdown_later(void *arg)
{
	struct shim_service *s = arg;
	nanosleep(&(struct timespec){0, SHUTDOWN_DELAY_MS * 1000000L}, NULL);
	ttrpc_server_shutdown(s->server);
	return NULL;
}

static int do_shutdown(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	struct shim_service *s = ctx;
	DECODE(Containerd__Task__V2__ShutdownRequest, containerd__task__v2__shutdown_request,
	       "ShutdownRequest");
	/* like runc's shim: a shim that still has a task stays, unless told now */
	bool busy = shim_task_any(s);
	if (busy && !m->now)
		return reply_empty(resp);
	shim_task_destroy_all(s);
	log_info("shutting down");
	/* answer first: containerd waits for it, then sees the connection close */
	pthread_t th;
	if (pthread_create(&th, NULL, shutdown_later, s) == 0)
		pthread_detach(th);
	else
		ttrpc_server_shutdown(s->server);
	return reply_empty(resp);
}

static const struct ttrpc_method methods[] = {
    {SHIM_SERVICE, "State", do_state},       {SHIM_SERVICE, "Create", do_create},
    {SHIM_SERVICE, "Start", do_start},       {SHIM_SERVICE, "Delete", do_delete},
    {SHIM_SERVICE, "Pids", do_pids},         {SHIM_SERVICE, "Pause", do_pause},
    {SHIM_SERVICE, "Resume", do_resume},     {SHIM_SERVICE, "Checkpoint", do_checkpoint},
    {SHIM_SERVICE, "Kill", do_kill},         {SHIM_SERVICE, "Exec", do_exec},
    {SHIM_SERVICE, "ResizePty", do_resize},  {SHIM_SERVICE, "CloseIO", do_close_io},
    {SHIM_SERVICE, "Update", do_update},     {SHIM_SERVICE, "Wait", do_wait},
    {SHIM_SERVICE, "Stats", do_stats},       {SHIM_SERVICE, "Connect", do_connect},
    {SHIM_SERVICE, "Shutdown", do_shutdown},
};

int shim_service_init(struct shim_service *s, const char *ns, struct err **err)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!(s->ns = strdup(ns)))
		return err_set(err, ENOMEM, "shim");
	int r = shim_root_path(ns, &s->root, err);
	if (r < 0)
		return r;
	if ((r = shim_events_new(getenv("TTRPC_ADDRESS"), ns, &s->events)) < 0)
		return err_set(err, -r, "events");
	if ((r = ttrpc_server_new(methods, ARRAY_SIZE(methods), s, &s->server)) < 0)
		return err_set(err, -r, "ttrpc server");
	return 0;
}

int shim_service_serve(struct shim_service *s, int listen_fd, struct err **err)
{
	int r = ttrpc_server_serve(s->server, listen_fd);
	if (r < 0)
		return err_set(err, -r, "serve");
	return 0;
}

void shim_service_exit(struct shim_service *s)
{
	shim_task_destroy_all(s);
	/* the last exit and delete must reach containerd */
	shim_events_free(s->events, 5000);
	s->events = NULL;
	if (s->server)
		ttrpc_server_free(s->server);
	free(s->ns);
	free(s->root);
}
