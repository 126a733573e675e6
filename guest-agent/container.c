// SPDX-License-Identifier: Apache-2.0
/*
 * Container lifecycle: create (spec parsed, cgroup made, init process set up
 * and parked before execve), start (init released), exec, signal, pause,
 * remove. States move created -> running -> stopped (and running <-> paused);
 * an illegal move fails with "invalid transition created→paused".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cgroup.h"
#include "devices.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "spawn.h"

static void oci_process_free_p(struct oci_process **p)
{
	oci_process_free(*p);
}

static const char *state_names[] = {"created", "running", "paused", "stopped"};

static int transition_check(struct agent_container *c, enum agent_ctr_state to, struct err **err)
{
	bool ok = (c->state == CTR_CREATED && (to == CTR_RUNNING || to == CTR_STOPPED)) ||
		  (c->state == CTR_RUNNING && (to == CTR_PAUSED || to == CTR_STOPPED)) ||
		  (c->state == CTR_PAUSED && (to == CTR_RUNNING || to == CTR_STOPPED));
	if (!ok)
		return err_set(err, EBUSY, "container %s: invalid transition %s→%s", c->id,
			       state_names[c->state], state_names[to]);
	return 0;
}

int agent_id_check(const char *what, const char *id, struct err **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > AGENT_ID_MAX)
		return err_set(err, 0, "%s: must be 1 to %d characters", what, AGENT_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return err_set(err, 0, "%s '%s' is not allowed", what, id);
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return err_set(err, 0, "%s '%s': character '%c' is not allowed", what, id,
				       ch);
	}
	return 0;
}

/* Agent and child ends of a process's stdio. */
struct stdio_fds {
	int agent[STREAM_MAX];
	int child[3];
	char console[64];
};

static void stdio_fds_close(struct stdio_fds *f)
{
	for (int i = 0; i < STREAM_MAX; i++)
		if (f->agent[i] >= 0)
			close(f->agent[i]);
	for (int i = 0; i < 3; i++)
		if (f->child[i] >= 0 && (i == 0 || f->child[i] != f->child[0]))
			close(f->child[i]);
}

static int stdio_open(const struct agent_stdio_req *req, const struct oci_process *proc,
		      struct stdio_fds *f, struct err **err)
{
	for (int i = 0; i < STREAM_MAX; i++)
		f->agent[i] = -1;
	for (int i = 0; i < 3; i++)
		f->child[i] = -1;
	f->console[0] = '\0';
	if (req->terminal) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
		    ptsname_r(m, f->console, sizeof(f->console)) != 0) {
			int e = errno;
			if (m >= 0)
				close(m);
			return err_set(err, e, "allocate a pty");
		}
		f->agent[STREAM_TTY] = m;
		int s = open(f->console, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0)
			return err_set(err, errno, "open %s", f->console);
		if (proc && proc->has_console_size) {
			struct winsize ws = {.ws_row = (unsigned short)proc->console_height,
					     .ws_col = (unsigned short)proc->console_width};
			ioctl(m, TIOCSWINSZ, &ws);
		}
		f->child[0] = f->child[1] = f->child[2] = s;
		return 0;
	}
	const bool want[3] = {req->open_stdin, req->open_stdout, req->open_stderr};
	for (int i = 0; i < 3; i++) {
		if (!want[i])
			continue;
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return err_set(err, errno, "pipe");
		/* stdin: the agent writes; stdout/stderr: the agent reads. */
		f->agent[i] = i == 0 ? p[1] : p[0];
		f->child[i] = i == 0 ? p[0] : p[1];
	}
	return 0;
}

static void proc_take_stdio(struct agent_proc *p, struct stdio_fds *f)
{
	for (int i = 0; i < STREAM_MAX; i++) {
		p->fds[i] = f->agent[i];
		f->agent[i] = -1;
	}
}

static int prepare_cgroup(struct agent *a, struct agent_container *c, struct err **err)
{
	const struct oci_linux *lx = c->spec->linux_;
	const struct oci_resources *res = lx ? lx->resources : NULL;
	if (!a->cgroup_root) {
		if (agent_cgroup_needed(res))
			return err_set(err, EOPNOTSUPP,
				       "the spec sets resource limits but cgroup2 is not available "
				       "(run the agent with a cgroup2 root)");
		return 0;
	}
	int r = agent_cgroup_create(a->cgroup_root, c->id, lx ? lx->cgroups_path : NULL, &c->cgroup,
				    err);
	if (r < 0)
		return r;
	if ((r = agent_cgroup_apply(c->cgroup, res, err)) < 0)
		return r;
	agent_cgroup_oom_count(c->cgroup, &c->oom_base);
	c->oom_seen = c->oom_base;
	return 0;
}

static int devices_apply(struct agent_container *c, struct err **err)
{
	const struct oci_resources *res = c->spec->linux_ ? c->spec->linux_->resources : NULL;
	int r = agent_devices_apply(c->cgroup, res, err);
	if (r == -ENOSYS) {
		/* No bpf syscall: devices cannot be filtered; the VM stays
		 * the boundary, so say so and go on. */
		log_warn("container %s: %s (device rules not enforced)", c->id, err_msg(*err));
		err_free(err);
		return 0;
	}
	return r;
}

static int create_locked_insert(struct agent *a, struct agent_container *c, struct err **err)
{
	pthread_mutex_lock(&a->lock);
	if (agent_container_find(a, c->id)) {
		pthread_mutex_unlock(&a->lock);
		return err_set(err, EEXIST, "container %s already exists", c->id);
	}
	c->next = a->containers;
	a->containers = c;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void unlink_container(struct agent *a, struct agent_container *c)
{
	pthread_mutex_lock(&a->lock);
	for (struct agent_container **pp = &a->containers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

static int create_spawn(struct agent *a, struct agent_container *c,
			const struct agent_create_req *req, pid_t *pid, struct err **err)
{
	struct stdio_fds f;
	int r = stdio_open(&req->stdio, c->spec->process, &f, err);
	if (r < 0) {
		stdio_fds_close(&f);
		return r;
	}
	struct agent_spawn s = {
	    .spec = c->spec,
	    .proc = c->spec->process,
	    .cgroup = c->cgroup,
	    .id = c->id,
	    .rootfs = &req->rootfs,
	    .rootfs_dir = c->run_dir,
	    .mounts = req->mounts,
	    .n_mounts = req->n_mounts,
	    .console = req->stdio.terminal ? f.console : NULL,
	    .stdio = {f.child[0], f.child[1], f.child[2]},
	    .terminal = req->stdio.terminal,
	};
	struct agent_proc *p = agent_proc_new("");
	if (!p) {
		stdio_fds_close(&f);
		return err_set(err, ENOMEM, "process");
	}
	r = agent_spawn(&s, &p->pid, &p->report_fd, &p->sync_fd, err);
	if (r < 0) {
		stdio_fds_close(&f);
		agent_proc_free(p);
		return r;
	}
	proc_take_stdio(p, &f);
	stdio_fds_close(&f);
	p->ctr = c;
	pthread_mutex_lock(&a->lock);
	c->init = c->procs = p;
	pthread_mutex_unlock(&a->lock);
	agent_proc_register(a, p);
	*pid = p->pid;
	return 0;
}

int agent_container_create(struct agent *a, const struct agent_create_req *req, pid_t *pid,
			   struct err **err)
{
	int r = agent_id_check("container id", req->id, err);
	if (r < 0)
		return r;
	struct agent_container *c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(req->id)) ||
	    asprintf(&c->run_dir, "%s/%s/rootfs", a->run_dir, req->id) < 0) {
		if (c)
			c->run_dir = NULL;
		agent_container_free(c);
		return err_set(err, ENOMEM, "container");
	}
	if ((r = oci_spec_parse(req->spec_json, req->spec_len, &c->spec, err)) < 0 ||
	    (r = oci_spec_validate(c->spec, err)) < 0) {
		agent_container_free(c);
		return err_wrap(err, "container %s: spec", req->id);
	}
	if (!c->spec->process) {
		agent_container_free(c);
		return err_set(err, 0, "container %s: spec has no process", req->id);
	}
	if ((r = create_locked_insert(a, c, err)) < 0) {
		agent_container_free(c);
		return r;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", c->run_dir);
	for (char *s = dir + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0711);
		*s = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		r = err_set(err, errno, "mkdir %s", dir);
	if (r >= 0)
		r = prepare_cgroup(a, c, err);
	if (r >= 0)
		r = create_spawn(a, c, req, pid, err);
	if (r < 0) {
		unlink_container(a, c);
		if (c->cgroup) {
			struct err *e = NULL;
			agent_cgroup_remove(c->cgroup, &e);
			err_free(&e);
		}
		agent_container_free(c);
		return err_wrap(err, "container %s", req->id);
	}
	/* The device allow-list goes on once init has set up the rootfs (as
	 * runc sets resources at procReady): mounting a block-device rootfs
	 * and mknod in /dev must not be filtered. */
	if (c->cgroup && (r = devices_apply(c, err)) < 0) {
		struct err *e = NULL;
		agent_container_remove(a, req->id, true, &e);
		err_free(&e);
		return err_wrap(err, "container %s", req->id);
	}
	log_info("container %s created, init pid %d", req->id, (int)*pid);
	return 0;
}

/* Find container (and process) under the lock; errors name what is missing. */
static int lookup(struct agent *a, const char *id, const char *exec_id, struct agent_container **c,
		  struct agent_proc **p, struct err **err)
{
	*c = agent_container_find(a, id);
	if (!*c || (*c)->removing)
		return err_set(err, ENOENT, "container %s not found", id);
	if (!p)
		return 0;
	*p = agent_proc_find(*c, exec_id);
	if (!*p)
		return err_set(err, ENOENT, "container %s: process '%s' not found", id,
			       exec_id ? exec_id : "");
	return 0;
}

int agent_container_start(struct agent *a, const char *id, struct err **err)
{
	struct agent_container *c;
	pthread_mutex_lock(&a->lock);
	int r = lookup(a, id, NULL, &c, NULL, err);
	if (r == 0 && (!c->init || c->init->sync_fd < 0))
		r = err_set(err, EBUSY, "container %s: already started", id);
	if (r == 0)
		r = transition_check(c, CTR_RUNNING, err);
	if (r < 0) {
		pthread_mutex_unlock(&a->lock);
		return r;
	}
	_cleanup_close_ int sync_fd = TAKE_FD(c->init->sync_fd);
	_cleanup_close_ int report_fd = TAKE_FD(c->init->report_fd);
	c->refs++;
	pthread_mutex_unlock(&a->lock);

	pid_t unused;
	r = write(sync_fd, "s", 1) == 1 ? 0 : err_set(err, errno, "release init");
	if (r == 0) {
		/* EOF: execve succeeded; 'E': it failed and init exits. */
		r = agent_spawn_report(report_fd, &unused, err);
		if (r > 0)
			r = 0;
	}
	pthread_mutex_lock(&a->lock);
	c->refs--;
	if (r == 0 && c->state == CTR_CREATED)
		c->state = CTR_RUNNING;
	if (r == 0 && c->init->state == PROC_CREATED)
		c->init->state = PROC_RUNNING;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		return err_wrap(err, "container %s: start", id);
	log_info("container %s started", id);
	return 0;
}

int agent_container_exec(struct agent *a, const char *id, const char *exec_id, const char *json,
			 size_t len, const struct agent_stdio_req *stdio, pid_t *pid,
			 struct err **err)
{
	int r = agent_id_check("exec id", exec_id, err);
	if (r < 0)
		return r;
	_cleanup_(oci_process_free_p) struct oci_process *proc = NULL;
	if ((r = oci_process_parse(json, len, &proc, err)) < 0 ||
	    (r = oci_process_validate(proc, err)) < 0)
		return err_wrap(err, "exec %s: process", exec_id);
	struct agent_container *c;
	struct agent_proc *p = agent_proc_new(exec_id);
	if (!p)
		return err_set(err, ENOMEM, "process");
	pthread_mutex_lock(&a->lock);
	r = lookup(a, id, NULL, &c, NULL, err);
	if (r == 0 && agent_proc_find(c, exec_id))
		r = err_set(err, EEXIST, "container %s: exec id %s already exists", id, exec_id);
	if (r == 0 && c->state != CTR_RUNNING)
		r = err_set(err, EBUSY, "container %s is %s, not running", id,
			    state_names[c->state]);
	if (r < 0) {
		pthread_mutex_unlock(&a->lock);
		agent_proc_free(p);
		return r;
	}
	/* Reserve the exec id; pid -1 until the spawn reports it. */
	p->ctr = c;
	p->next = c->procs->next;
	c->procs->next = p;
	c->refs++;
	pid_t ns_pid = c->init->pid;
	pthread_mutex_unlock(&a->lock);

	struct stdio_fds f;
	r = stdio_open(stdio, proc, &f, err);
	struct agent_spawn s = {
	    .spec = c->spec,
	    .proc = proc,
	    .cgroup = c->cgroup,
	    .ns_pid = ns_pid,
	    .stdio = {f.child[0], f.child[1], f.child[2]},
	    .terminal = stdio->terminal,
	};
	int unused_r = -1, unused_s = -1;
	pid_t child = -1;
	if (r == 0)
		r = agent_spawn(&s, &child, &unused_r, &unused_s, err);
	pthread_mutex_lock(&a->lock);
	c->refs--;
	if (r == 0) {
		proc_take_stdio(p, &f);
		p->pid = child;
		p->state = PROC_RUNNING;
	} else {
		for (struct agent_proc **pp = &c->procs; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		agent_proc_free(p);
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	stdio_fds_close(&f);
	if (r < 0)
		return err_wrap(err, "container %s: exec %s", id, exec_id);
	agent_proc_register(a, p);
	*pid = child;
	return 0;
}

/* Every pid whose pid namespace is that of init (no cgroup to ask). */
static void signal_pidns(pid_t init, int sig)
{
	char want[64] = "", path[64], got[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
	if (readlink(path, want, sizeof(want) - 1) <= 0)
		return;
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		memset(got, 0, sizeof(got));
		if (readlink(path, got, sizeof(got) - 1) > 0 && strcmp(got, want) == 0)
			kill(pid, sig);
	}
	closedir(d);
}

int agent_container_signal(struct agent *a, const char *id, const char *exec_id, int sig, bool all,
			   struct err **err)
{
	if (sig <= 0 || sig >= NSIG)
		return err_set(err, 0, "signal %d is out of range", sig);
	struct agent_container *c;
	struct agent_proc *p;
	pthread_mutex_lock(&a->lock);
	int r = lookup(a, id, exec_id, &c, &p, err);
	if (r < 0) {
		pthread_mutex_unlock(&a->lock);
		return r;
	}
	if (all && c->cgroup)
		r = agent_cgroup_kill(c->cgroup, sig);
	else if (all && c->init->state != PROC_EXITED)
		signal_pidns(c->init->pid, sig);
	else if (p->state == PROC_EXITED || p->pid <= 0)
		r = err_set(err, ESRCH, "container %s: process '%s' is not running", id,
			    exec_id ? exec_id : "");
	else if (kill(p->pid, sig) < 0)
		r = err_set(err, errno, "kill %d", (int)p->pid);
	pthread_mutex_unlock(&a->lock);
	if (r < 0 && err && !*err)
		r = err_set(err, -r, "signal container %s", id);
	return r;
}

int agent_container_pause(struct agent *a, const char *id, bool pause, struct err **err)
{
	struct agent_container *c;
	pthread_mutex_lock(&a->lock);
	int r = lookup(a, id, NULL, &c, NULL, err);
	if (r == 0)
		r = transition_check(c, pause ? CTR_PAUSED : CTR_RUNNING, err);
	if (r == 0 && c->state == CTR_CREATED)
		r = err_set(err, EBUSY, "container %s: invalid transition created→running", id);
	if (r == 0 && !c->cgroup)
		r = err_set(err, EOPNOTSUPP, "container %s: pause needs the cgroup2 freezer", id);
	if (r == 0)
		r = agent_cgroup_freeze(c->cgroup, pause, err);
	if (r == 0)
		c->state = pause ? CTR_PAUSED : CTR_RUNNING;
	pthread_mutex_unlock(&a->lock);
	return r;
}

int agent_container_remove(struct agent *a, const char *id, bool force, struct err **err)
{
	struct agent_container *c;
	pthread_mutex_lock(&a->lock);
	int r = lookup(a, id, NULL, &c, NULL, err);
	if (r == 0 && c->state != CTR_STOPPED && c->state != CTR_CREATED && !force)
		r = err_set(err, EBUSY, "container %s is %s (use force)", id,
			    state_names[c->state]);
	if (r < 0) {
		pthread_mutex_unlock(&a->lock);
		return r;
	}
	c->removing = true;
	if (c->cgroup && c->state == CTR_PAUSED)
		agent_cgroup_freeze(c->cgroup, false, NULL);
	/* Closing the start pipe makes a never-started init exit quietly. */
	if (c->init->sync_fd >= 0)
		close(TAKE_FD(c->init->sync_fd));
	if (c->init->state != PROC_EXITED) {
		if (c->cgroup)
			agent_cgroup_kill(c->cgroup, SIGKILL);
		kill(c->init->pid, SIGKILL);
	}
	int64_t deadline = agent_now_ns(CLOCK_MONOTONIC) + 10000000000LL;
	if (agent_proc_wait_locked(a, c->init, deadline) < 0)
		log_warn("container %s: init %d did not exit", id, (int)c->init->pid);
	pthread_cond_broadcast(&a->cond);
	while (c->refs > 0)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	unlink_container(a, c);
	if (c->cgroup && agent_cgroup_remove(c->cgroup, err) < 0)
		log_warn("%s", err_msg(*err));
	err_free(err);
	rmdir(c->run_dir);
	char *slash = strrchr(c->run_dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(c->run_dir);
	}
	agent_container_free(c);
	log_info("container %s removed", id);
	return 0;
}
