// SPDX-License-Identifier: Apache-2.0
/*
 * What the Task service does to a task's processes once the sandbox exists:
 * start (the init process, or an exec), exec (register; it runs at Start, as
 * with runc), wait, kill, pause/resume, CloseIO, and the agent calls that
 * only read or tune the container (stats, update, pids, resize). Every call
 * holds svc->lock, so that Delete cannot free the task underneath it; the
 * agent serves each request on its own thread, so a call never waits for
 * another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "shim.h"
#include "shim/proto/events.pb-c.h"

/* Under s->lock: the task's agent, or an error when the VM is gone. */
static struct shim_proc *find_live(struct shim_service *s, const char *id, const char *exec_id,
				   struct err **err)
{
	struct shim_proc *p = shim_task_find(s, id, exec_id, err);
	if (p && (!p->task->pod || !p->task->pod->agent)) {
		err_set(err, EBUSY, "task %s has no sandbox", id);
		return NULL;
	}
	return p;
}

static int start_exec(struct shim_service *s, struct shim_proc *p, struct err **err)
{
	struct shim_task *t = p->task;
	struct rt_agent_stdio streams = shim_io_streams(p->io);
	pid_t pid = 0;
	int r = rt_agent_exec_process(t->pod->agent, t->id, p->exec_id, p->spec_json, p->spec_len,
				      &streams, &pid, err);
	if (r < 0)
		return r;
	p->pid = (uint32_t)pid;
	/* output written before the attach waits in the agent's pipe */
	if ((r = shim_io_attach(p->io, t->pod->agent, t->id, p->exec_id, err)) < 0) {
		rt_agent_signal_process(t->pod->agent, t->id, p->exec_id, 9, false, NULL);
		return r;
	}
	if ((r = shim_proc_transition(p, SHIM_RUNNING, err)) < 0 ||
	    (r = shim_proc_waiter_start(p, err)) < 0)
		return r;
	Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
	ev.container_id = t->id;
	ev.exec_id = p->exec_id;
	ev.pid = p->pid;
	shim_events_publish(s->events, "/tasks/exec-started", "containerd.events.TaskExecStarted",
			    &ev.base);
	return 0;
}

int shim_task_start(struct shim_service *s, const char *id, const char *exec_id, uint32_t *pid,
		    struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, exec_id, err);
	int r = p ? 0 : -ENOENT;
	if (p && p->status != SHIM_CREATED)
		r = shim_proc_transition(p, SHIM_RUNNING, err); /* names the bad move */
	if (r >= 0 && p->exec_id[0]) {
		r = start_exec(s, p, err);
	} else if (r >= 0) {
		struct shim_task *t = p->task;
		r = rt_agent_start_container(t->pod->agent, t->id, err);
		if (r >= 0 && (r = shim_proc_transition(p, SHIM_RUNNING, err)) >= 0)
			r = shim_proc_waiter_start(p, err);
		if (r >= 0) {
			Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
			ev.container_id = t->id;
			ev.pid = p->pid;
			shim_events_publish(s->events, "/tasks/start",
					    "containerd.events.TaskStart", &ev.base);
		}
	}
	if (r >= 0)
		*pid = p->pid;
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_exec(struct shim_service *s, const char *id, const char *exec_id,
		   const struct shim_io_paths *io, const char *spec_json, size_t spec_len,
		   struct err **err)
{
	if (!exec_id || !exec_id[0])
		return err_set(err, EINVAL, "exec: an exec id is required");
	pthread_mutex_lock(&s->lock);
	int r = 0;
	struct shim_proc *init = find_live(s, id, NULL, err);
	struct err *e = NULL;
	if (!init) {
		r = -ENOENT;
	} else if (init->status != SHIM_RUNNING) {
		r = err_set(err, EBUSY, "cannot exec in task %s: it is not running", id);
	} else if (shim_task_find(s, id, exec_id, &e)) {
		r = err_set(err, EEXIST, "process %s of task %s already exists", exec_id, id);
	}
	err_free(&e);
	struct shim_proc *p = r < 0 ? NULL : shim_proc_new(init->task, exec_id, io);
	if (r >= 0 && !p)
		r = err_set(err, ENOMEM, "exec %s", exec_id);
	if (r >= 0 && !(p->spec_json = malloc(spec_len + 1)))
		r = err_set(err, ENOMEM, "exec %s", exec_id);
	if (r >= 0) {
		memcpy(p->spec_json, spec_json, spec_len);
		p->spec_json[spec_len] = '\0';
		p->spec_len = spec_len;
		r = shim_io_open(io, s->ns, id, &p->io, err);
	}
	if (r < 0) {
		if (p)
			shim_proc_free(p);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	/* after the init process, which stays first */
	p->next = init->next;
	init->next = p;
	Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
	ev.container_id = init->task->id;
	ev.exec_id = p->exec_id;
	shim_events_publish(s->events, "/tasks/exec-added", "containerd.events.TaskExecAdded",
			    &ev.base);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int shim_task_wait(struct shim_service *s, const char *id, const char *exec_id, uint32_t *status,
		   int64_t *exited_at_ns, struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p;
	/* looked up again after each wakeup: a Delete may have freed it */
	while ((p = shim_task_find(s, id, exec_id, err)) && p->status != SHIM_STOPPED)
		pthread_cond_wait(&s->cond, &s->lock);
	if (p) {
		*status = p->exit_status;
		*exited_at_ns = p->exited_at_ns;
	}
	pthread_mutex_unlock(&s->lock);
	return p ? 0 : -ENOENT;
}

int shim_task_kill(struct shim_service *s, const char *id, const char *exec_id, int sig, bool all,
		   struct err **err)
{
	if (sig <= 0 || sig > 64)
		return err_set(err, EINVAL, "kill: invalid signal %d", sig);
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, exec_id, err);
	int r = p ? 0 : -ENOENT;
	if (p && p->status == SHIM_STOPPED)
		r = err_set(err, ENOENT, "process already finished");
	else if (p && p->exec_id[0] && p->status == SHIM_CREATED)
		r = err_set(err, EBUSY, "process %s of task %s is not started", p->exec_id, id);
	if (r >= 0)
		r = rt_agent_signal_process(p->task->pod->agent, id, p->exec_id, sig, all, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_pause(struct shim_service *s, const char *id, bool pause, struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, NULL, err);
	int r = p ? 0 : -ENOENT;
	enum shim_status from = pause ? SHIM_RUNNING : SHIM_PAUSED;
	enum shim_status to = pause ? SHIM_PAUSED : SHIM_RUNNING;
	if (p && p->status != from)
		r = err_set(err, EBUSY, "task %s: invalid transition %s→%s", id,
			    shim_status_name(p->status), shim_status_name(to));
	if (r >= 0) {
		r = pause ? rt_agent_pause(p->task->pod->agent, id, err)
			  : rt_agent_resume(p->task->pod->agent, id, err);
	}
	if (r >= 0 && (r = shim_proc_transition(p, to, err)) >= 0) {
		/* TaskPaused and TaskResumed have the same shape */
		Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
		ev.container_id = p->task->id;
		if (pause)
			shim_events_publish(s->events, "/tasks/paused",
					    "containerd.events.TaskPaused", &ev.base);
		else {
			Containerd__Events__TaskResumed rev =
			    CONTAINERD__EVENTS__TASK_RESUMED__INIT;
			rev.container_id = p->task->id;
			shim_events_publish(s->events, "/tasks/resumed",
					    "containerd.events.TaskResumed", &rev.base);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_close_io(struct shim_service *s, const char *id, const char *exec_id,
		       struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = shim_task_find(s, id, exec_id, err);
	if (p)
		shim_io_close_stdin(p->io);
	pthread_mutex_unlock(&s->lock);
	return p ? 0 : -ENOENT;
}

int shim_task_stats(struct shim_service *s, const char *id, struct rt_agent_stats *st,
		    struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, NULL, err);
	int r = p ? rt_agent_stats(p->task->pod->agent, id, st, err) : -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_update(struct shim_service *s, const char *id, const struct rt_agent_resources *res,
		     struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, NULL, err);
	int r = p ? rt_agent_update(p->task->pod->agent, id, res, err) : -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_pids(struct shim_service *s, const char *id, struct rt_agent_process **procs,
		   size_t *n, struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, NULL, err);
	int r = p ? rt_agent_list_processes(p->task->pod->agent, id, procs, n, err) : -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return r;
}

int shim_task_resize(struct shim_service *s, const char *id, const char *exec_id, unsigned width,
		     unsigned height, struct err **err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_proc *p = find_live(s, id, exec_id, err);
	int r = p ? 0 : -ENOENT;
	if (p && !p->terminal)
		r = err_set(err, EINVAL, "process %s of task %s has no terminal",
			    p->exec_id[0] ? p->exec_id : "init", id);
	if (r >= 0)
		r = rt_agent_resize_tty(p->task->pod->agent, id, p->exec_id, width, height, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}
