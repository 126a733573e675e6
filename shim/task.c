// SPDX-License-Identifier: Apache-2.0
/*
 * The task: one container in its own microVM, and its processes (the init
 * process and execs). Create mounts the rootfs, starts the sandbox (runtime's
 * rt_sandbox_create: hull-vmm, virtiofsd or an ext4 copy, the guest agent,
 * the container) and attaches stdio; Delete tears all of it down.
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

#define AGENT_CONNECT_MS 5000
#define OOM_POLL_MS      1000

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

struct shim_proc *shim_task_find(struct shim_service *s, const char *id, const char *exec_id,
				 struct err **err)
{
	struct shim_task *t = s->task;
	if (!t || strcmp(t->id, id) != 0) {
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
	if (rt_agent_wait_process(t->agent, t->id, p->exec_id, 0, &ex, &e) < 0) {
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

/* Reaps hull-vmm (our child) and notices a VM that dies under a task that
 * was never started: nothing else would report it. */
static void *reaper_main(void *arg)
{
	struct shim_task *t = arg;
	int ws = 0;
	pid_t r;
	while ((r = waitpid(t->vmm_pid, &ws, 0)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		/* not our child (a sandbox may put a monitor between us): watch it */
		for (;;) {
			pthread_mutex_lock(&t->svc->lock);
			bool stop = t->stopping;
			pthread_mutex_unlock(&t->svc->lock);
			if (stop || !rt_proc_alive(&t->vmm))
				break;
			nanosleep(&(struct timespec){0, 200000000}, NULL);
		}
	}
	log_info("task %s: hull-vmm (pid %d) exited (status 0x%x)", t->id, (int)t->vmm_pid, ws);
	pthread_mutex_lock(&t->svc->lock);
	struct shim_proc *init = t->procs;
	if (init && init->status == SHIM_CREATED && !t->stopping)
		shim_proc_exited(t->svc, init, SHIM_EXIT_KILLED, shim_now_ns());
	pthread_mutex_unlock(&t->svc->lock);
	return NULL;
}

/* Publishes TaskOOM for the guest's OOM kills until the task stops. */
static void *oom_main(void *arg)
{
	struct shim_task *t = arg;
	for (;;) {
		pthread_mutex_lock(&t->svc->lock);
		bool stop = t->stopping;
		pthread_mutex_unlock(&t->svc->lock);
		if (stop)
			break;
		char *id = NULL;
		uint64_t count = 0;
		struct err *e = NULL;
		int r = rt_agent_get_oom_event(t->agent, OOM_POLL_MS, &id, &count, &e);
		err_free(&e);
		if (r == -ETIMEDOUT) {
			continue;
		} else if (r < 0) {
			/* unsupported or the VM went away: stop polling */
			break;
		}
		log_warn("task %s: OOM kill in container %s (count %llu)", t->id, id,
			 (unsigned long long)count);
		Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
		ev.container_id = t->id;
		shim_events_publish(t->svc->events, "/tasks/oom", "containerd.events.TaskOOM",
				    &ev.base);
		free(id);
	}
	return NULL;
}

/* Release everything of a task that is no longer reachable from s (no lock
 * held: waiter threads need it to finish). Returns the first error. */
static int task_teardown(struct shim_service *s, struct shim_task *t, struct err **err)
{
	int first = 0;
	pthread_mutex_lock(&s->lock);
	t->stopping = true;
	pthread_mutex_unlock(&s->lock);
	pid_t fsd[RT_STATE_MAX_FSD];
	size_t n_fsd = 0;
	if (t->c) {
		for (size_t i = 0; i < t->c->state.n_virtiofsd && i < RT_STATE_MAX_FSD; i++)
			fsd[n_fsd++] = t->c->state.virtiofsd[i].proc.pid;
		/* killing the VM ends every agent call and stream still open */
		first = rt_sandbox_destroy(t->c, err);
		rt_container_close(t->c);
		t->c = NULL;
	}
	if (t->has_reaper) {
		if (first == 0)
			pthread_join(t->reaper, NULL);
		else
			pthread_detach(t->reaper);
	}
	if (t->oom_running)
		pthread_join(t->oom, NULL);
	for (struct shim_proc *p = t->procs; p; p = p->next)
		if (p->has_waiter)
			pthread_join(p->waiter, NULL);
	/* virtiofsd is our child too; rt_sandbox_destroy killed it */
	for (size_t i = 0; i < n_fsd; i++)
		if (fsd[i] > 0)
			waitpid(fsd[i], NULL, WNOHANG);
	if (t->agent)
		rt_agent_free(t->agent);
	t->agent = NULL;
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
	/* the namespace's store goes with its last sandbox */
	rmdir(s->root);
	return first;
}

static void task_free(struct shim_task *t)
{
	free(t->id);
	free(t->bundle);
	free(t->rootfs);
	free(t);
}

/* $HULL_SHIM_BOOT_TIMEOUT_MS, for slow hosts (nested, emulated); 0: the default. */
static int boot_timeout_ms(void)
{
	const char *v = getenv("HULL_SHIM_BOOT_TIMEOUT_MS");
	char *end = NULL;
	long ms = v ? strtol(v, &end, 10) : 0;
	if (v && (end == v || *end || ms <= 0 || ms > 3600000)) {
		log_warn("HULL_SHIM_BOOT_TIMEOUT_MS=%.32s: not a number of ms in 1..3600000; "
			 "using the default",
			 v);
		ms = 0;
	}
	return (int)ms;
}

/* The rootfs mounts and the sandbox. Fills t; the caller tears down on error. */
static int task_boot(struct shim_service *s, struct shim_task *t, const struct shim_create *req,
		     struct shim_proc *init, struct err **err)
{
	int r;
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
	struct rt_config cfg;
	if ((r = rt_config_load(&cfg, err)) < 0)
		return r;
	/* the store's parent, so that rt_container_create can make the store */
	_cleanup_free_ char *parent = strdup(s->root);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0711) < 0 && errno != EEXIST)
			log_warn("mkdir %s: %m", parent);
	}
	struct rt_sandbox_create o = {
	    .size = sizeof(o),
	    .root = s->root,
	    .id = t->id,
	    .bundle = t->bundle,
	    .cfg = &cfg,
	    .stdio = shim_io_streams(init->io),
	    .boot_timeout_ms = boot_timeout_ms(),
	};
	r = rt_sandbox_create(&o, &t->c, err);
	rt_config_free(&cfg);
	if (r < 0)
		return r;
	t->vmm = t->c->state.vmm;
	t->vmm_pid = t->vmm.pid;
	int e = pthread_create(&t->reaper, NULL, reaper_main, t);
	if (e)
		return err_set(err, e, "start reaper thread");
	t->has_reaper = true;
	_cleanup_free_ char *addr = NULL;
	if ((r = rt_sandbox_agent_addr(t->c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, AGENT_CONNECT_MS, &t->agent, err)) < 0)
		return r;
	if ((r = shim_io_attach(init->io, t->agent, t->id, NULL, err)) < 0)
		return r;
	if (pthread_create(&t->oom, NULL, oom_main, t) == 0)
		t->oom_running = true;
	init->pid = (uint32_t)t->vmm_pid;
	return 0;
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
	if (s->task)
		r = err_set(err, EEXIST, "task %s already exists in this shim (it runs %s)",
			    req->id, s->task->id);
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
		 * children; with no task left, every child of ours is one of those */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		return r;
	}
	s->task = t;
	*pid = init->pid;
	publish_create(s, t, req, init->pid);
	log_info("task %s: created (hull-vmm pid %d)", t->id, (int)t->vmm_pid);
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
	s->task = NULL;
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
	pthread_mutex_lock(&s->lock);
	struct shim_task *t = s->task;
	s->task = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!t)
		return;
	struct err *e = NULL;
	if (task_teardown(s, t, &e) < 0)
		log_error("task %s: teardown: %s", t->id, err_msg(e));
	err_free(&e);
	task_free(t);
}

pid_t shim_task_vmm_pid(struct shim_service *s)
{
	pthread_mutex_lock(&s->lock);
	pid_t pid = s->task ? s->task->vmm_pid : 0;
	pthread_mutex_unlock(&s->lock);
	return pid;
}
