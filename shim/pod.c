// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's VM and the pod around it. A shim serves one VM: a lone task's,
 * or a Kubernetes pod's. containerd's CRI marks each container's spec with
 * io.kubernetes.cri.container-type (sandbox | container) and
 * io.kubernetes.cri.sandbox-id; `start` groups every container of a pod onto
 * the shim of its sandbox (main.c), the sandbox's Create boots the VM and
 * every other container's Create joins it (runtime/pod.h: its rootfs through
 * the shared directory, the VM's network, the sandbox's IPC/UTS). The VM
 * stops with its last task: deleting the sandbox while containers still run
 * only takes the sandbox container out of the guest.
 *
 * The VM has a reaper (hull-vmm is our child: when it dies, tasks that were
 * never started are reported exited; started processes learn it from their
 * broken WaitProcess) and an OOM poller that publishes TaskOOM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/config.h"
#include "runtime/pod.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"
#include "shim.h"
#include "shim/proto/events.pb-c.h"

#define AGENT_CONNECT_MS 5000
#define OOM_POLL_MS      1000

int shim_pod_role_read(const char *bundle, struct shim_pod_role *out, struct err **err)
{
	*out = (struct shim_pod_role){0};
	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	int r = oci_spec_load(bundle, &spec, err);
	if (r < 0)
		return err_wrap(err, "bundle %s", bundle);
	const char *type = oci_map_get(&spec->annotations, RT_ANN_CONTAINER_TYPE);
	const char *sb = oci_map_get(&spec->annotations, RT_ANN_SANDBOX_ID);
	if ((type && !(out->type = strdup(type))) || (sb && !(out->sandbox_id = strdup(sb)))) {
		shim_pod_role_free(out);
		return err_set(err, ENOMEM, "annotations");
	}
	return 0;
}

void shim_pod_role_free(struct shim_pod_role *r)
{
	free(r->type);
	free(r->sandbox_id);
	*r = (struct shim_pod_role){0};
}

/* Reaps hull-vmm (our child) and notices a VM that dies under tasks that
 * were never started: nothing else would report them. */
static void *reaper_main(void *arg)
{
	struct shim_pod *pod = arg;
	struct shim_service *s = pod->svc;
	int ws = 0;
	pid_t r;
	while ((r = waitpid(pod->vmm_pid, &ws, 0)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		/* not our child (a sandbox may put a monitor between us): watch it */
		for (;;) {
			pthread_mutex_lock(&s->lock);
			bool stop = pod->stopping;
			pthread_mutex_unlock(&s->lock);
			if (stop || !rt_proc_alive(&pod->vmm))
				break;
			nanosleep(&(struct timespec){0, 200000000}, NULL);
		}
	}
	log_info("pod %s: hull-vmm (pid %d) exited (status 0x%x)", pod->id, (int)pod->vmm_pid, ws);
	pthread_mutex_lock(&s->lock);
	for (struct shim_task *t = s->tasks; t && !pod->stopping; t = t->next) {
		struct shim_proc *init = t->procs;
		if (t->pod == pod && init && init->status == SHIM_CREATED)
			shim_proc_exited(s, init, SHIM_EXIT_KILLED, shim_now_ns());
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Publishes TaskOOM for the guest's OOM kills until the VM stops. */
static void *oom_main(void *arg)
{
	struct shim_pod *pod = arg;
	struct shim_service *s = pod->svc;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool stop = pod->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		char *id = NULL;
		uint64_t count = 0;
		struct err *e = NULL;
		int r = rt_agent_get_oom_event(pod->agent, OOM_POLL_MS, &id, &count, &e);
		err_free(&e);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			break; /* unsupported or the VM went away: stop polling */
		log_warn("pod %s: OOM kill in container %s (count %llu)", pod->id, id,
			 (unsigned long long)count);
		Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
		ev.container_id = id;
		shim_events_publish(s->events, "/tasks/oom", "containerd.events.TaskOOM", &ev.base);
		free(id);
	}
	return NULL;
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

/* The sandbox container's init in the guest: right after CreateContainer it
 * is the container's only process. */
static int first_pid(struct shim_pod *pod, const char *id, struct err **err)
{
	struct rt_agent_process *procs = NULL;
	size_t n = 0;
	int r = rt_agent_list_processes(pod->agent, id, &procs, &n, err);
	if (r < 0)
		return r;
	pid_t min = 0;
	for (size_t i = 0; i < n; i++)
		if (procs[i].pid > 0 && (min == 0 || procs[i].pid < min))
			min = procs[i].pid;
	rt_agent_processes_free(procs, n);
	if (min == 0)
		return err_set(err, ESRCH, "sandbox container %s has no process", id);
	pod->sandbox_pid = min;
	return 0;
}

int shim_pod_boot(struct shim_service *s, struct shim_task *t, struct shim_io *init_io, bool is_pod,
		  struct err **err)
{
	struct shim_pod *pod = calloc(1, sizeof(*pod));
	if (!pod || !(pod->id = strdup(t->id))) {
		free(pod);
		return err_set(err, ENOMEM, "task %s", t->id);
	}
	pod->svc = s;
	pod->is_pod = is_pod;
	pod->refs = 1;
	t->pod = pod;
	s->pod = pod;
	struct rt_config cfg;
	int r = rt_config_load(&cfg, err);
	if (r < 0)
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
	    .stdio = shim_io_streams(init_io),
	    .boot_timeout_ms = boot_timeout_ms(),
	    .pod = is_pod,
	};
	r = rt_sandbox_create(&o, &pod->c, err);
	rt_config_free(&cfg);
	if (r < 0)
		return r;
	pod->vmm = pod->c->state.vmm;
	pod->vmm_pid = pod->vmm.pid;
	int e = pthread_create(&pod->reaper, NULL, reaper_main, pod);
	if (e)
		return err_set(err, e, "start reaper thread");
	pod->has_reaper = true;
	_cleanup_free_ char *addr = NULL;
	if ((r = rt_sandbox_agent_addr(pod->c, &addr, err)) < 0 ||
	    (r = rt_agent_connect(addr, AGENT_CONNECT_MS, &pod->agent, err)) < 0)
		return r;
	if (is_pod && (r = first_pid(pod, t->id, err)) < 0)
		return r;
	if ((r = shim_io_attach(init_io, pod->agent, t->id, NULL, err)) < 0)
		return r;
	if (pthread_create(&pod->oom, NULL, oom_main, pod) == 0)
		pod->oom_running = true;
	t->procs->pid = (uint32_t)pod->vmm_pid;
	return 0;
}

int shim_pod_join(struct shim_service *s, struct shim_task *t, struct shim_io *init_io,
		  struct err **err)
{
	struct shim_pod *pod = s->pod;
	if (!pod || !pod->is_pod || pod->stopping || !pod->agent)
		return err_set(err, EBUSY, "container %s: its sandbox has no running VM here",
			       t->id);
	struct rt_pod_container o = {
	    .size = sizeof(o),
	    .id = t->id,
	    .bundle = t->bundle,
	    .stdio = shim_io_streams(init_io),
	    .sandbox_pid = pod->sandbox_pid,
	};
	pid_t guest_pid = 0;
	int r = rt_pod_container_create(pod->c, pod->agent, &o, &guest_pid, err);
	if (r < 0)
		return r;
	t->pod = pod;
	t->joined = true;
	pod->refs++;
	if ((r = shim_io_attach(init_io, pod->agent, t->id, NULL, err)) < 0)
		return r;
	/* the host process that stands for every container of the pod */
	t->procs->pid = (uint32_t)pod->vmm_pid;
	log_info("pod %s: container %s joined (guest pid %d)", pod->id, t->id, (int)guest_pid);
	return 0;
}

int shim_pod_leave(struct shim_service *s, struct shim_task *t, struct err **err)
{
	(void)s;
	struct shim_pod *pod = t->pod;
	if (!pod || !pod->c)
		return 0;
	if (t->joined)
		return rt_pod_container_remove(pod->c, pod->agent, t->id, err);
	/* the first container: its rootfs stays shared until the VM stops */
	struct err *e = NULL;
	int r = pod->agent ? rt_agent_remove_container(pod->agent, t->id, true, &e) : 0;
	if (r < 0 && r != -ENOENT)
		err_set(err, -r, "%s", err_msg(e));
	err_free(&e);
	return r == -ENOENT ? 0 : r;
}

/* Stop the VM: everything of the sandbox on the host, the reaper, the OOM
 * poller. The agent stays allocated until the tasks' waiters are joined. */
static int pod_stop(struct shim_pod *pod, struct err **err)
{
	int first = 0;
	pid_t fsd[RT_STATE_MAX_FSD];
	size_t n_fsd = 0;
	if (pod->c) {
		for (size_t i = 0; i < pod->c->state.n_virtiofsd && i < RT_STATE_MAX_FSD; i++)
			fsd[n_fsd++] = pod->c->state.virtiofsd[i].proc.pid;
		/* killing the VM ends every agent call and stream still open */
		first = rt_sandbox_destroy(pod->c, err);
		rt_container_close(pod->c);
		pod->c = NULL;
	}
	if (pod->has_reaper) {
		if (first == 0)
			pthread_join(pod->reaper, NULL);
		else
			pthread_detach(pod->reaper);
		pod->has_reaper = false;
	}
	if (pod->oom_running)
		pthread_join(pod->oom, NULL);
	pod->oom_running = false;
	/* virtiofsd is our child too; rt_sandbox_destroy killed it */
	for (size_t i = 0; i < n_fsd; i++)
		if (fsd[i] > 0)
			waitpid(fsd[i], NULL, WNOHANG);
	return first;
}

int shim_pod_stop_if_last(struct shim_service *s, struct shim_pod *pod, bool *stopped,
			  struct err **err)
{
	pthread_mutex_lock(&s->lock);
	bool last = pod->refs <= 1;
	if (last) {
		pod->stopping = true;
		if (s->pod == pod)
			s->pod = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	*stopped = last;
	return last ? pod_stop(pod, err) : 0;
}

int shim_pod_unref(struct shim_service *s, struct shim_pod *pod, struct err **err)
{
	if (!pod)
		return 0;
	pthread_mutex_lock(&s->lock);
	bool last = --pod->refs == 0;
	if (last) {
		pod->stopping = true;
		if (s->pod == pod)
			s->pod = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return 0;
	int r = pod_stop(pod, err);
	if (pod->agent)
		rt_agent_free(pod->agent);
	/* the namespace's store goes with its last sandbox */
	rmdir(s->root);
	free(pod->id);
	free(pod);
	return r;
}
