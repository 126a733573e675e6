// SPDX-License-Identifier: Apache-2.0
/* Releasing a sandbox's host resources; see runtime/sandbox.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "runtime/net.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static int kill_proc(const char *what, const struct rt_proc *p, struct err **err)
{
	if (p->pid <= 0)
		return 0;
	int r = rt_proc_kill(p, RT_KILL_TIMEOUT_MS);
	if (r < 0)
		return err_set(err, -r, "kill %s (pid %d)", what, (int)p->pid);
	log_debug("%s (pid %d) is gone", what, (int)p->pid);
	return 0;
}

/* Sockets may live outside the state directory; those in it go with it. */
static void unlink_socket(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %m", path);
}

int rt_sandbox_destroy(struct rt_container *c, struct err **err)
{
	struct rt_state *st = &c->state;
	int first = 0;
	/* The monitor first (its VMM dies with it), then the VMM: once it is
	 * gone no guest can reach virtiofsd any more. */
	int r = kill_proc("monitor", &st->monitor, err);
	if (r < 0)
		first = r;
	r = kill_proc("hull-vmm", &st->vmm, first < 0 ? NULL : err);
	if (r < 0 && first == 0)
		first = r;
	for (size_t i = 0; i < st->n_virtiofsd; i++) {
		r = kill_proc("virtiofsd", &st->virtiofsd[i].proc, first < 0 ? NULL : err);
		if (r < 0 && first == 0)
			first = r;
		unlink_socket(st->virtiofsd[i].socket);
	}
	/* the taps went with the VMM; the redirects on the pod's interfaces
	 * stay until removed here */
	if (st->netns) {
		r = rt_net_teardown(st->netns, st->net_links, st->n_net_links,
				    first < 0 ? NULL : err);
		if (r < 0 && first == 0)
			first = r;
	}
	unlink_socket(st->vsock);
	/* a short socket directory outside the state directory (sandbox.c) */
	if (st->vsock && strncmp(st->vsock, RT_SOCK_DIR "/", strlen(RT_SOCK_DIR) + 1) == 0) {
		char dir[256];
		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(st->vsock, '/') - st->vsock),
			 st->vsock);
		if (rmdir(dir) < 0 && errno != ENOENT)
			log_warn("remove %s: %m", dir);
	}
	/* with nothing left to serve them, the shared bind mounts go; the
	 * state directory is only removed without mounts in it */
	r = rt_shared_dir_release(c);
	if (r < 0 && first == 0)
		first = err_set(err, -r, "unmount the shared directory of %s", st->id);
	/* Keep the state while a process may still run: it is how we find it again. */
	if (first < 0)
		return err_wrap(err, "container %s", st->id);
	return rt_container_remove(c, err);
}
