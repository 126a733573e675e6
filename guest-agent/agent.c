// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's process and container tables and the reaper.
 *
 * Every child of the agent, and (as PID 1 or as a child subreaper) every
 * orphan re-parented to it, is reaped by one thread that waits for SIGCHLD
 * with sigwaitinfo(); SIGCHLD is blocked in every other thread. Exits are
 * recorded in the table and agent.cond is broadcast.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cgroup.h"
#include "lib/log.h"
#include "oci/spec.h"

int64_t agent_now_ns(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int agent_init(struct agent *a, const char *cgroup_root, const char *run_dir, bool pid1,
	       struct err **err)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* Deadlines are CLOCK_MONOTONIC so SetTime cannot disturb waits. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->pid1 = pid1;
	a->started_ns = agent_now_ns(CLOCK_MONOTONIC);
	a->run_dir = strdup(run_dir ? run_dir : "/run/hull");
	if (!a->run_dir)
		return err_set(err, ENOMEM, "run dir");
	if (cgroup_root) {
		int r = agent_cgroup_root_init(cgroup_root, err);
		if (r < 0) {
			/* Containers without limits still work; the ones that need
			 * limits are refused at create with this reason. */
			log_warn("cgroups disabled: %s", err_msg(*err));
			err_free(err);
		} else {
			a->cgroup_root = strdup(cgroup_root);
			if (!a->cgroup_root)
				return err_set(err, ENOMEM, "cgroup root");
		}
	}
	return 0;
}

void agent_exit(struct agent *a)
{
	struct agent_container *c = a->containers;
	while (c) {
		struct agent_container *next = c->next;
		agent_container_free(c);
		c = next;
	}
	free(a->cgroup_root);
	free(a->run_dir);
}

struct agent_proc *agent_proc_new(const char *exec_id)
{
	struct agent_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->exec_id = strdup(exec_id ? exec_id : "");
	if (!p->exec_id) {
		free(p);
		return NULL;
	}
	for (int i = 0; i < STREAM_MAX; i++)
		p->fds[i] = -1;
	p->relay_stdin_sock = -1;
	p->sync_fd = -1;
	p->report_fd = -1;
	p->pid = -1;
	return p;
}

void agent_proc_free(struct agent_proc *p)
{
	if (!p)
		return;
	for (int i = 0; i < STREAM_MAX; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	if (p->sync_fd >= 0)
		close(p->sync_fd);
	if (p->report_fd >= 0)
		close(p->report_fd);
	free(p->exec_id);
	free(p);
}

void agent_container_free(struct agent_container *c)
{
	if (!c)
		return;
	struct agent_proc *p = c->procs;
	while (p) {
		struct agent_proc *next = p->next;
		agent_proc_free(p);
		p = next;
	}
	oci_spec_free(c->spec);
	free(c->id);
	free(c->cgroup);
	free(c->run_dir);
	free(c);
}

struct agent_container *agent_container_find(struct agent *a, const char *id)
{
	for (struct agent_container *c = a->containers; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

struct agent_proc *agent_proc_find(struct agent_container *c, const char *exec_id)
{
	if (!exec_id)
		exec_id = "";
	for (struct agent_proc *p = c->procs; p; p = p->next)
		if (strcmp(p->exec_id, exec_id) == 0)
			return p;
	return NULL;
}

int agent_proc_exit_code(const struct agent_proc *p)
{
	if (WIFSIGNALED(p->status))
		return 128 + WTERMSIG(p->status);
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	return 255;
}

/* Caller holds a->lock. */
static void proc_mark_exited(struct agent *a, struct agent_proc *p, int status)
{
	p->state = PROC_EXITED;
	p->status = status;
	p->exited_at_ns = agent_now_ns(CLOCK_REALTIME);
	struct agent_container *c = p->ctr;
	if (c && c->init == p) {
		/* The kernel killed the rest of the pid namespace with init;
		 * an OOM kill shows as a new oom_kill event in the cgroup. */
		uint64_t oom = 0;
		if (c->cgroup && agent_cgroup_oom_count(c->cgroup, &oom) == 0 && oom > c->oom_base)
			p->oom_killed = true;
		c->state = CTR_STOPPED;
	}
	log_info("process %d (%s%s%s) exited, status %d", p->pid, c ? c->id : "?",
		 p->exec_id[0] ? "/" : "", p->exec_id, agent_proc_exit_code(p));
	pthread_cond_broadcast(&a->cond);
}

void agent_proc_register(struct agent *a, struct agent_proc *p)
{
	pthread_mutex_lock(&a->lock);
	for (unsigned i = 0; i < a->n_unclaimed; i++) {
		if (a->unclaimed[i].pid != p->pid)
			continue;
		int status = a->unclaimed[i].status;
		memmove(&a->unclaimed[i], &a->unclaimed[i + 1],
			(a->n_unclaimed - i - 1) * sizeof(a->unclaimed[0]));
		a->n_unclaimed--;
		proc_mark_exited(a, p, status);
		break;
	}
	pthread_mutex_unlock(&a->lock);
}

static void reap_one(struct agent *a, pid_t pid, int status)
{
	pthread_mutex_lock(&a->lock);
	for (struct agent_container *c = a->containers; c; c = c->next) {
		for (struct agent_proc *p = c->procs; p; p = p->next) {
			if (p->pid == pid && p->state != PROC_EXITED) {
				proc_mark_exited(a, p, status);
				pthread_mutex_unlock(&a->lock);
				return;
			}
		}
	}
	if (a->n_unclaimed == AGENT_UNCLAIMED_MAX) {
		memmove(&a->unclaimed[0], &a->unclaimed[1],
			(AGENT_UNCLAIMED_MAX - 1) * sizeof(a->unclaimed[0]));
		a->n_unclaimed--;
	}
	a->unclaimed[a->n_unclaimed++] = (struct agent_exit){pid, status};
	pthread_mutex_unlock(&a->lock);
}

static void *reaper_main(void *arg)
{
	struct agent *a = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		siginfo_t si;
		/* A timeout, so an exit whose SIGCHLD coalesced with another
		 * one still gets reaped promptly. */
		struct timespec ts = {1, 0};
		int r = sigtimedwait(&set, &si, &ts);
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("reaper: sigtimedwait: %s", strerror(errno));
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid <= 0)
				break;
			reap_one(a, pid, status);
		}
	}
	return NULL;
}

int agent_reaper_start(struct agent *a, struct err **err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r)
		return err_set(err, r, "block SIGCHLD");
	/* Orphans of container processes come back to us to be reaped (as
	 * PID 1 that is automatic). */
	if (!a->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return err_set(err, errno, "PR_SET_CHILD_SUBREAPER");
	pthread_t t;
	r = pthread_create(&t, NULL, reaper_main, a);
	if (r)
		return err_set(err, r, "start reaper thread");
	pthread_detach(t);
	return 0;
}

int agent_proc_wait_locked(struct agent *a, struct agent_proc *p, int64_t deadline_ns)
{
	while (p->state != PROC_EXITED) {
		if (!deadline_ns) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		struct timespec ts = {deadline_ns / 1000000000, deadline_ns % 1000000000};
		if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT &&
		    p->state != PROC_EXITED)
			return -ETIMEDOUT;
	}
	return 0;
}
