// SPDX-License-Identifier: Apache-2.0
/*
 * The tasks: containers and their processes (the init process and execs).
 * Create mounts the rootfs, then either boots the shim's VM (pod.c: a lone
 * task, or a pod's sandbox container) or adds the container to the running
 * VM of its pod, and attaches stdio; Delete tears the task down and the VM
 * with the last task.
 *
 * Every process that runs has a waiter thread blocked in the agent's
 * WaitProcess. When it returns, the waiter first lets stdio drain to EOF,
 * then records the exit and publishes TaskExit, so that Wait and the event
 * never come before the last byte of output. A VMM that dies breaks the
 * agent connection: every WaitProcess fails and the processes are reported
 * exited with 128+SIGKILL.
 *
 * Process states follow containerd-shim-runc-v2's: created -> running ->
 * stopped, and the init process also running <-> paused; other moves fail
 * with "invalid transition".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "runtime/config.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"
#include "shim.h"
#include "shim/proto/events.pb-c.h"

const char *shim_status_name(enum shim_status s)
{
	switch (s) {
	case SHIM_CREATED:
		return "created";
	case SHIM_RUNNING:
		return "running";
	case SHIM_STOPPED:
		return "stopped";
	case SHIM_PAUSED:
		return "paused";
	}
	return "unknown";
}

/* The transition check every state change goes through. */
int shim_proc_transition(struct shim_proc *p, enum shim_status to, struct err **err)
{
	enum shim_status from = p->status;
	bool ok = (from == SHIM_CREATED && (to == SHIM_RUNNING || to == SHIM_STOPPED)) ||
		  (from == SHIM_RUNNING && (to == SHIM_PAUSED || to == SHIM_STOPPED)) ||
		  (from == SHIM_PAUSED && (to == SHIM_RUNNING || to == SHIM_STOPPED));
	if (!ok)
		return err_set(err, EBUSY, "process %s: invalid transition %s→%s",
			       p->exec_id[0] ? p->exec_id : "init", shim_status_name(from),
			       shim_status_name(to));
	p->status = to;
	return 0;
}

int64_t shim_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int shim_root_path(const char *ns, char **out, struct err **err)
{
	const char *base = getenv("HULL_SHIM_ROOT");
	if (!base || !base[0])
		base = SHIM_ROOT_DEFAULT;
	/* containerd's namespace rules: a path component we can trust */
	size_t n = strlen(ns);
	if (n == 0 || n > 76 || ns[0] == '.' ||
	    strspn(ns, "abcdefghijklmnopqrstuvwxyz"
		       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return err_set(err, EINVAL, "invalid namespace \"%.80s\"", ns);
	if (asprintf(out, "%s/%s", base, ns) < 0)
		return err_set(err, ENOMEM, "root");
	return 0;
}

static struct shim_task *task_by_id(struct shim_service *s, const char *id)
{
	for (struct shim_task *t = s->tasks; t; t = t->next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

struct shim_proc *shim_task_find(struct shim_service *s, const char *id, const char *exec_id,
				 struct err **err)
{
	struct shim_task *t = task_by_id(s, id);
	if (!t) {
		err_set(err, ENOENT, "task %s not found", id);
		return NULL;
	}
	const char *e = exec_id ? exec_id : "";
	for (struct shim_proc *p = t->procs; p; p = p->next)
		if (strcmp(p->exec_id, e) == 0)
			return p;
	err_set(err, ENOENT, "process %s of task %s not found", e, id);
	return NULL;
}

struct shim_proc *shim_proc_new(struct shim_task *t, const char *exec_id,
				const struct shim_io_paths *io)
{
	struct shim_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->task = t;
	p->status = SHIM_CREATED;
	p->terminal = io->terminal;
	p->exec_id = strdup(exec_id ? exec_id : "");
	p->stdin_ = strdup(io->stdin_ ? io->stdin_ : "");
	p->stdout_ = strdup(io->stdout_ ? io->stdout_ : "");
	p->stderr_ = strdup(io->stderr_ ? io->stderr_ : "");
	if (!p->exec_id || !p->stdin_ || !p->stdout_ || !p->stderr_) {
		free(p->exec_id);
		free(p->stdin_);
		free(p->stdout_);
		free(p->stderr_);
		free(p);
		return NULL;
	}
	return p;
}

void shim_proc_free(struct shim_proc *p)
{
	shim_io_free(p->io);
	free(p->exec_id);
	free(p->stdin_);
	free(p->stdout_);
	free(p->stderr_);
	free(p->spec_json);
	free(p);
}

static void set_ts(Google__Protobuf__Timestamp *ts, int64_t ns)
{
	ts->seconds = ns / 1000000000LL;
	ts->nanos = (int32_t)(ns % 1000000000LL);
}

/* Under s->lock: record the exit and tell containerd. */
void shim_proc_exited(struct shim_service *s, struct shim_proc *p, uint32_t status, int64_t at_ns)
{
	struct err *e = NULL;
	if (shim_proc_transition(p, SHIM_STOPPED, &e) < 0) {
		err_free(&e);
		return; /* already reported */
	}
	p->exit_status = status;
	p->exited_at_ns = at_ns;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	set_ts(&ts, at_ns);
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	ev.container_id = p->task->id;
	ev.id = p->exec_id[0] ? p->exec_id : p->task->id;
	ev.pid = p->pid;
	ev.exit_status = status;
	ev.exited_at = &ts;
	shim_events_publish(s->events, "/tasks/exit", "containerd.events.TaskExit", &ev.base);
	log_info("task %s: process %s exited with status %u", p->task->id,
		 p->exec_id[0] ? p->exec_id : "init", status);
	pthread_cond_broadcast(&s->cond);
}

static void *waiter_main(void *arg)
{
	struct shim_proc *p = arg;
	struct shim_task *t = p->task;
	struct rt_agent_exit ex = {0};
	struct err *e = NULL;
	uint32_t status;
	int64_t at;
	if (rt_agent_wait_process(t->pod->agent, t->id, p->exec_id, 0, &ex, &e) < 0) {
		/* the VM or its agent is gone: the process went with it */
		log_warn("task %s: wait for process %s: %s", t->id,
			 p->exec_id[0] ? p->exec_id : "init", err_msg(e));
		err_free(&e);
		status = SHIM_EXIT_KILLED;
		at = shim_now_ns();
	} else {
		status = (uint32_t)ex.status;
		at = ex.exited_at_ns ? ex.exited_at_ns : shim_now_ns();
	}
	/* every byte of output reaches containerd before the exit does */
	shim_io_drain(p->io);
	pthread_mutex_lock(&t->svc->lock);
	shim_proc_exited(t->svc, p, status, at);
	pthread_mutex_unlock(&t->svc->lock);
	return NULL;
}

/* Under s->lock. */
int shim_proc_waiter_start(struct shim_proc *p, struct err **err)
{
	int e = pthread_create(&p->waiter, NULL, waiter_main, p);
	if (e)
		return err_set(err, e, "start waiter thread");
	p->has_waiter = true;
	return 0;
}

/* Release everything of a task that is no longer reachable from s (no lock
 * held: waiter threads need it to finish). The last task of the VM stops it,
 * which ends every wait; another takes only its container out of the guest.
 * Returns the first error. */
static int task_teardown(struct shim_service *s, struct shim_task *t, struct err **err)
{
	int first = 0;
	struct shim_pod *pod = t->pod;
	if (pod) {
		bool stopped = false;
		first = shim_pod_stop_if_last(s, pod, &stopped, err);
		if (!stopped)
			first = shim_pod_leave(s, t, err);
	}
	for (struct shim_proc *p = t->procs; p; p = p->next)
		if (p->has_waiter)
			pthread_join(p->waiter, NULL);
	while (t->procs) {
		struct shim_proc *p = t->procs;
		t->procs = p->next;
		shim_proc_free(p);
	}
	if (t->rootfs) {
		struct err *e = NULL;
		int r = shim_rootfs_unmount(t->rootfs, first < 0 ? &e : err);
		if (r < 0 && first == 0)
			first = r;
		if (e)
			log_error("task %s: %s", t->id, err_msg(e));
		err_free(&e);
	}
	struct err *e = NULL;
	int r = shim_pod_unref(s, pod, first < 0 ? &e : err);
	if (r < 0 && first == 0)
		first = r;
	if (e)
		log_error("task %s: %s", t->id, err_msg(e));
	err_free(&e);
	t->pod = NULL;
	return first;
}

static void task_free(struct shim_task *t)
{
	free(t->id);
	free(t->bundle);
	free(t->rootfs);
	free(t);
}

/* The rootfs mounts, then the VM or a place in the pod's VM. Fills t; the
 * caller tears down on error. */
static int task_boot(struct shim_service *s, struct shim_task *t, const struct shim_create *req,
		     struct shim_proc *init, struct err **err)
{
	struct shim_pod_role role;
	int r = shim_pod_role_read(t->bundle, &role, err);
	if (r < 0)
		return r;
	bool is_pod = role.type && strcmp(role.type, "sandbox") == 0;
	bool joins = role.type && strcmp(role.type, "container") == 0;
	if (joins && (!role.sandbox_id || !s->pod || strcmp(s->pod->id, role.sandbox_id) != 0))
		r = err_set(err, ENOENT, "container %s: sandbox %s is not served by this shim",
			    t->id,
			    role.sandbox_id ? role.sandbox_id : "(no sandbox-id annotation)");
	else if (!joins && s->pod)
		r = err_set(err, EEXIST, "task %s: this shim already runs %s", t->id, s->pod->id);
	shim_pod_role_free(&role);
	if (r < 0)
		return r;
	if (req->n_mounts) {
		if (asprintf(&t->rootfs, "%s/rootfs", t->bundle) < 0)
			return err_set(err, ENOMEM, "rootfs");
		if (mkdir(t->rootfs, 0711) < 0 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s", t->rootfs);
		if ((r = shim_rootfs_mount(req->mounts, req->n_mounts, t->rootfs, err)) < 0) {
			free(t->rootfs);
			t->rootfs = NULL;
			return r;
		}
	}
	if ((r = shim_io_open(&req->io, s->ns, t->id, &init->io, err)) < 0)
		return r;
	return joins ? shim_pod_join(s, t, init->io, err)
		     : shim_pod_boot(s, t, init->io, is_pod, err);
}

static void publish_create(struct shim_service *s, const struct shim_task *t,
			   const struct shim_create *req, uint32_t pid)
{
	Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
	io.stdin = (char *)(req->io.stdin_ ? req->io.stdin_ : "");
	io.stdout = (char *)(req->io.stdout_ ? req->io.stdout_ : "");
	io.stderr = (char *)(req->io.stderr_ ? req->io.stderr_ : "");
	io.terminal = req->io.terminal;
	Containerd__Types__Mount *mp[SHIM_MAX_MOUNTS];
	Containerd__Types__Mount m[SHIM_MAX_MOUNTS];
	size_t n = req->n_mounts < SHIM_MAX_MOUNTS ? req->n_mounts : SHIM_MAX_MOUNTS;
	for (size_t i = 0; i < n; i++) {
		containerd__types__mount__init(&m[i]);
		m[i].type = (char *)(req->mounts[i].type ? req->mounts[i].type : "");
		m[i].source = (char *)(req->mounts[i].source ? req->mounts[i].source : "");
		m[i].target = (char *)(req->mounts[i].target ? req->mounts[i].target : "");
		m[i].n_options = req->mounts[i].n_options;
		m[i].options = (char **)req->mounts[i].options;
		mp[i] = &m[i];
	}
	Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
	ev.container_id = t->id;
	ev.bundle = t->bundle;
	ev.n_rootfs = n;
	ev.rootfs = mp;
	ev.io = &io;
	ev.pid = pid;
	shim_events_publish(s->events, "/tasks/create", "containerd.events.TaskCreate", &ev.base);
}

int shim_task_create(struct shim_service *s, const struct shim_create *req, uint32_t *pid,
		     struct err **err)
{
	pthread_mutex_lock(&s->lock);
	int r = 0;
	if (task_by_id(s, req->id))
		r = err_set(err, EEXIST, "task %s already exists", req->id);
	struct shim_task *t = r < 0 ? NULL : calloc(1, sizeof(*t));
	if (r >= 0 && (!t || !(t->id = strdup(req->id)) || !(t->bundle = strdup(req->bundle))))
		r = err_set(err, ENOMEM, "task %s", req->id);
	struct shim_proc *init = NULL;
	if (r >= 0) {
		t->svc = s;
		if (!(init = shim_proc_new(t, "", &req->io)))
			r = err_set(err, ENOMEM, "task %s", req->id);
		t->procs = init;
	}
	if (r >= 0)
		r = task_boot(s, t, req, init, err);
	if (r < 0) {
		pthread_mutex_unlock(&s->lock);
		if (t) {
			struct err *e = NULL;
			if (task_teardown(s, t, &e) < 0)
				log_error("task %s: cleanup after failed create: %s", req->id,
					  err_msg(e));
			err_free(&e);
			task_free(t);
		}
		/* rt_sandbox_create killed what it started but could not reap our
		 * children; with no VM left, every child of ours is one of those */
		pthread_mutex_lock(&s->lock);
		bool no_vm = !s->pod;
		pthread_mutex_unlock(&s->lock);
		while (no_vm && waitpid(-1, NULL, WNOHANG) > 0)
			;
		return r;
	}
	t->next = s->tasks;
	s->tasks = t;
	*pid = init->pid;
	publish_create(s, t, req, init->pid);
	log_info("task %s: created (hull-vmm pid %d%s)", t->id, (int)t->pod->vmm_pid,
		 t->joined ? ", joined its pod" : "");
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Delete of an exec process: under s->lock. */
static int delete_exec(struct shim_task *t, struct shim_proc *p, struct err **err)
{
	if (p->status == SHIM_RUNNING || p->status == SHIM_PAUSED)
		return err_set(err, EBUSY, "cannot delete process %s of task %s: it is %s",
			       p->exec_id, t->id, shim_status_name(p->status));
	/* its waiter has published the exit; nothing else uses p */
	if (p->has_waiter)
		pthread_join(p->waiter, NULL);
	p->has_waiter = false;
	for (struct shim_proc **pp = &t->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	shim_proc_free(p);
	return 0;
}

int shim_task_delete(struct shim_service *s, const char *id, const char *exec_id, uint32_t *pid,
		     uint32_t *status, int64_t *exited_at_ns, struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = shim_task_find(s, id, exec_id, err);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	struct shim_task *t = p->task;
	if (p->status == SHIM_CREATED) {
		/* never started: it is killed with the rest */
		p->exit_status = SHIM_EXIT_KILLED;
		p->exited_at_ns = shim_now_ns();
	}
	*pid = p->pid;
	*status = p->exit_status;
	*exited_at_ns = p->exited_at_ns;
	int r;
	if (p != t->procs) {
		r = delete_exec(t, p, err);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (p->status == SHIM_RUNNING || p->status == SHIM_PAUSED) {
		r = err_set(err, EBUSY, "cannot delete task %s: it is %s", id,
			    shim_status_name(p->status));
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	/* From here on the task is unreachable: its teardown runs unlocked. */
	for (struct shim_task **tp = &s->tasks; *tp; tp = &(*tp)->next) {
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	/* The task is gone for containerd whatever happens now: a teardown
	 * that leaves something behind is logged, and `delete` retries it. */
	struct err *e = NULL;
	if (task_teardown(s, t, &e) < 0)
		log_error("task %s: teardown: %s", t->id, err_msg(e));
	err_free(&e);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	set_ts(&ts, *exited_at_ns);
	Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
	ev.container_id = t->id;
	ev.pid = *pid;
	ev.exit_status = *status;
	ev.exited_at = &ts;
	shim_events_publish(s->events, "/tasks/delete", "containerd.events.TaskDelete", &ev.base);
	log_info("task %s: deleted", t->id);
	task_free(t);
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void shim_task_destroy_all(struct shim_service *s)
{
	for (;;) {
		pthread_mutex_lock(&s->lock);
		struct shim_task *t = s->tasks;
		if (t)
			s->tasks = t->next;
		pthread_mutex_unlock(&s->lock);
		if (!t)
			return;
		struct err *e = NULL;
		if (task_teardown(s, t, &e) < 0)
			log_error("task %s: teardown: %s", t->id, err_msg(e));
		err_free(&e);
		task_free(t);
	}
}

pid_t shim_task_vmm_pid(struct shim_service *s, const char *id)
{
	pthread_mutex_lock(&s->lock);
	struct shim_task *t = id && id[0] ? task_by_id(s, id) : s->tasks;
	pid_t pid = t && t->pod ? t->pod->vmm_pid : 0;
	pthread_mutex_unlock(&s->lock);
	return pid;
}

bool shim_task_any(struct shim_service *s)
{
	pthread_mutex_lock(&s->lock);
	bool any = s->tasks != NULL;
	pthread_mutex_unlock(&s->lock);
	return any;
}
