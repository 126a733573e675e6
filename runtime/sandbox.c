// SPDX-License-Identifier: Apache-2.0
/*
 * Starting a container's sandbox (see runtime/sandbox.h): virtiofsd for the
 * rootfs, hull-vmm, the guest agent, the container inside. Every step is
 * recorded in state.json as soon as it exists, so that rt_sandbox_destroy()
 * (on failure here, or a later `hull delete`) finds and releases it.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"
#include "runtime/config.h"
#include "runtime/net.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"
#include "vmm/vmm.h"

#define CONSOLE_TAIL   2048 /* bytes of guest console quoted in a boot error */
#define SOCKET_WAIT_MS 5000 /* virtiofsd creates its socket within this */
#define VSOCK_CID      3

/* A decimal annotation of a CRI sandbox, 0 when absent or not a number. */
static uint64_t ann_u64(const struct oci_spec *spec, const char *key)
{
	const char *v = oci_map_get(&spec->annotations, key);
	if (!v || !v[0] || strspn(v, "0123456789") != strlen(v) || strlen(v) > 19)
		return 0;
	return strtoull(v, NULL, 10);
}

static unsigned mem_for(uint64_t bytes)
{
	/* the containers' memory plus room for the guest kernel and agent */
	uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
	mib += RT_VM_MEM_OVERHEAD;
	return mib > RT_CONFIG_MAX_MEM ? RT_CONFIG_MAX_MEM : (unsigned)mib;
}

static unsigned cpus_for(uint64_t quota, uint64_t period)
{
	if (!period)
		period = 100000;
	uint64_t n = (quota + period - 1) / period;
	return n > RT_CONFIG_MAX_CPUS ? RT_CONFIG_MAX_CPUS : n < 1 ? 1 : (unsigned)n;
}

void rt_sandbox_size(const struct oci_spec *spec, const struct rt_config *cfg, unsigned *mem_mib,
		     unsigned *vcpus)
{
	*mem_mib = cfg->default_memory_mib;
	*vcpus = cfg->default_vcpus;
	/* A pod's sandbox (pause) container: containerd (1.6.7 on) passes the
	 * sum of the pod's containers' limits as annotations when the kubelet
	 * gives them; the pause container's own resources say nothing. */
	const char *type = oci_map_get(&spec->annotations, RT_ANN_CONTAINER_TYPE);
	if (type && strcmp(type, "sandbox") == 0) {
		uint64_t mem = ann_u64(spec, RT_ANN_SANDBOX_MEMORY);
		uint64_t quota = ann_u64(spec, RT_ANN_SANDBOX_CPU_QUOTA);
		if (mem)
			*mem_mib = mem_for(mem);
		if (quota)
			*vcpus = cpus_for(quota, ann_u64(spec, RT_ANN_SANDBOX_CPU_PERIOD));
		return;
	}
	const struct oci_resources *r = spec->linux_ ? spec->linux_->resources : NULL;
	if (r && r->memory && r->memory->has_limit && r->memory->limit > 0)
		*mem_mib = mem_for((uint64_t)r->memory->limit);
	if (r && r->cpu && r->cpu->has_quota && r->cpu->quota > 0)
		*vcpus = cpus_for((uint64_t)r->cpu->quota, r->cpu->has_period ? r->cpu->period : 0);
}

int rt_sandbox_agent_addr(const struct rt_container *c, char **addr, struct err **err)
{
	if (!c->state.vsock)
		return err_set(err, 0, "container %s has no sandbox", c->state.id);
	if (asprintf(addr, "hvsock:%s", c->state.vsock) < 0)
		return err_set(err, ENOMEM, "container %s", c->state.id);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The last bytes of the guest console, for an error message. */
static void console_tail(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)len - 1 ? end - (off_t)len + 1 : 0;
	ssize_t n = pread(fd, buf, len - 1, from);
	buf[n > 0 ? n : 0] = '\0';
}

static int dir_path(const struct rt_container *c, const char *name, char **out)
{
	return asprintf(out, "%s/%s", c->dir, name) < 0 ? -ENOMEM : 0;
}

/* virtiofsd's socket goes beside the vsock one (see sock_dir). */
static int fs_socket_path(const struct rt_state *st, char **out)
{
	const char *slash = strrchr(st->vsock, '/');
	return asprintf(out, "%.*s/fs0.sock", (int)(slash - st->vsock), st->vsock) < 0 ? -ENOMEM
										       : 0;
}

/* In a forked child: die with the parent thread when asked, with a clean
 * signal mask (the caller may block the signals it handles). */
static void child_prepare(bool tie_to_caller, pid_t owner)
{
	if (tie_to_caller) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != owner)
			_exit(127);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int start_virtiofsd(struct rt_container *c, const struct rt_config *cfg, bool tie,
			   struct err **err)
{
	struct rt_state *st = &c->state;
	st->virtiofsd = calloc(1, sizeof(*st->virtiofsd));
	if (!st->virtiofsd || fs_socket_path(st, &st->virtiofsd[0].socket) < 0 ||
	    dir_path(c, "shared", &st->virtiofsd[0].shared) < 0)
		return err_set(err, ENOMEM, "virtiofsd");
	st->n_virtiofsd = 1;
	_cleanup_free_ char *sock_arg = NULL, *src_arg = NULL, *log = NULL;
	if (asprintf(&sock_arg, "--socket-path=%s", st->virtiofsd[0].socket) < 0 ||
	    asprintf(&src_arg, "source=%s", st->virtiofsd[0].shared) < 0 ||
	    dir_path(c, "virtiofsd.log", &log) < 0)
		return err_set(err, ENOMEM, "virtiofsd");
	_cleanup_close_ int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return err_set(err, errno, "open %s", log);
	pid_t owner = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return err_set(err, errno, "fork virtiofsd");
	if (pid == 0) {
		child_prepare(tie, owner);
		/* its own session: a terminal's ^C to `hull create` must not reach it */
		setsid();
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* nothing of ours may leak into a long-lived daemon (nor hold a
		 * caller's pipe open, as bats' fd 3) */
		close_range(3, ~0U, 0);
		execl(cfg->virtiofsd, cfg->virtiofsd, sock_arg, "-o", src_arg, "-o", "cache=auto",
		      (char *)NULL);
		_exit(127);
	}
	int r = rt_proc_get(pid, &st->virtiofsd[0].proc);
	if (r < 0)
		return err_set(err, -r, "virtiofsd %s exited at once (see %s)", cfg->virtiofsd,
			       log);
	if ((r = rt_container_save(c, err)) < 0)
		return r;
	for (long long end = now_ms() + SOCKET_WAIT_MS; now_ms() < end;) {
		struct stat sb;
		if (stat(st->virtiofsd[0].socket, &sb) == 0 && S_ISSOCK(sb.st_mode))
			return 0;
		if (!rt_proc_alive(&st->virtiofsd[0].proc))
			return err_set(err, 0, "virtiofsd %s exited (see %s)", cfg->virtiofsd, log);
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	return err_set(err, ETIMEDOUT, "virtiofsd socket %s", st->virtiofsd[0].socket);
}

/* The block-rootfs fallback: a copy of the rootfs as a sparse ext4 image. */
static int make_image(struct rt_container *c, struct err **err)
{
	_cleanup_free_ char *img = NULL, *log = NULL;
	if (dir_path(c, "rootfs.ext4", &img) < 0 || dir_path(c, "mkfs.log", &log) < 0)
		return err_set(err, ENOMEM, "rootfs image");
	_cleanup_close_ int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return err_set(err, errno, "open %s", log);
	pid_t pid = fork();
	if (pid < 0)
		return err_set(err, errno, "fork mkfs.ext4");
	if (pid == 0) {
		child_prepare(false, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-d", c->state.rootfs, img,
		       RT_ROOTFS_IMAGE_SIZE, (char *)NULL);
		_exit(127);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return err_set(err, errno, "wait for mkfs.ext4");
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return err_set(err, 0, "mkfs.ext4 of %s failed (see %s)", c->state.rootfs, log);
	return 0;
}

static int start_vmm(struct rt_container *c, const struct oci_spec *spec,
		     const struct rt_config *cfg, bool tie, bool shared, const struct rt_net *net,
		     struct err **err)
{
	struct rt_state *st = &c->state;
	unsigned mem, vcpus;
	rt_sandbox_size(spec, cfg, &mem, &vcpus);
	_cleanup_free_ char *log = NULL;
	if (dir_path(c, "vmm.log", &log) < 0)
		return err_set(err, ENOMEM, "hull-vmm");
	_cleanup_close_ int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return err_set(err, errno, "open %s", log);
	struct vmm_config vc = {
	    .size = sizeof(vc),
	    .kernel = cfg->kernel,
	    .initrd = cfg->initramfs,
	    .mem_mib = mem,
	    .vcpus = vcpus,
	    .console = VMM_CONSOLE_FILE,
	    .console_path = st->console_log,
	    .rng = true,
	    /* free page reporting: what the guest frees goes back to the host */
	    .balloon = cfg->free_page_reporting,
	    .vsock_cid = VSOCK_CID,
	    .vsock_uds = st->vsock,
	    .log_level = cfg->log_level,
	};
	_cleanup_free_ char *img = NULL;
	if (cfg->rootfs_block) {
		if (dir_path(c, "rootfs.ext4", &img) < 0)
			return err_set(err, ENOMEM, "hull-vmm");
		vc.disks[0] = (struct vmm_disk){.path = img};
		vc.n_disks = 1;
	}
	if (shared) {
		vc.fs[0] = (struct vmm_fs){.tag = RT_SHARED_TAG, .socket = st->virtiofsd[0].socket};
		vc.n_fs = 1;
	}
	/* one virtio-net per interface of the pod, with its MAC and MTU */
	char macs[RT_NET_MAX_LINKS][18];
	for (size_t i = 0; net && i < net->n_links && i < VMM_MAX_NETS; i++) {
		const uint8_t *m = net->links[i].mac;
		snprintf(macs[i], sizeof(macs[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
		vc.nets[i] = (struct vmm_net){
		    .fd = net->links[i].tap_fd, .mac = macs[i], .mtu = net->links[i].mtu};
		vc.n_nets++;
	}
	struct vmm_spawn_opts so = {.size = sizeof(so),
				    .binary = cfg->vmm,
				    .stdin_fd = -1,
				    .stdout_fd = -1,
				    .stderr_fd = logfd,
				    .parent_death_signal = tie ? SIGKILL : 0};
	struct vmm_process vp;
	int r = vmm_spawn(&vc, &so, &vp);
	if (r < 0)
		return err_set(err, -r, "start %s", cfg->vmm);
	log_debug("container %s: hull-vmm pid %d, %u MiB, %u vCPUs", st->id, (int)vp.pid, mem,
		  vcpus);
	if ((r = rt_proc_get(vp.pid, &st->vmm)) < 0)
		return err_set(err, 0, "%s exited at once (see %s)", cfg->vmm, log);
	return rt_container_save(c, err);
}

/* Connect to the agent, giving up when the VMM dies or the time is up. */
static int wait_agent(struct rt_container *c, int timeout_ms, struct rt_agent **agent,
		      struct err **err)
{
	_cleanup_free_ char *addr = NULL;
	int r = rt_sandbox_agent_addr(c, &addr, err);
	if (r < 0)
		return r;
	bool vmm_died = false;
	for (long long end = now_ms() + timeout_ms; now_ms() < end;) {
		struct err *e = NULL;
		if (rt_agent_connect(addr, 200, agent, &e) == 0)
			return 0;
		err_free(&e);
		if (!rt_proc_alive(&c->state.vmm)) {
			vmm_died = true;
			break;
		}
	}
	char tail[CONSOLE_TAIL];
	console_tail(c->state.console_log, tail, sizeof(tail));
	if (!vmm_died) {
		err_set(err, 0, "guest agent did not answer within %d ms; console tail:\n%s",
			timeout_ms, tail[0] ? tail : "(empty)");
		return -ETIMEDOUT;
	}
	/* The VMM's own last words say why it stopped (bad kernel, KVM error). */
	char vlog[512];
	_cleanup_free_ char *vpath = NULL;
	vlog[0] = '\0';
	if (dir_path(c, "vmm.log", &vpath) == 0)
		console_tail(vpath, vlog, sizeof(vlog));
	size_t n = strlen(vlog);
	while (n && vlog[n - 1] == '\n')
		vlog[--n] = '\0';
	err_set(err, 0, "hull-vmm exited before the guest agent answered: %s; console tail:\n%s",
		strrchr(vlog, '\n') ? strrchr(vlog, '\n') + 1 : vlog, tail[0] ? tail : "(empty)");
	return -ECHILD;
}

static int create_in_guest(struct rt_container *c, const struct oci_spec *spec,
			   const struct rt_sandbox_create *o, bool shared, const struct rt_net *net,
			   struct err **err)
{
	int timeout_ms = o->boot_timeout_ms > 0 ? o->boot_timeout_ms : RT_BOOT_TIMEOUT_MS;
	struct rt_agent *agent = NULL;
	int r = wait_agent(c, timeout_ms, &agent, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	/* the network before the container: its process may use it at once */
	if (net && net->n_links)
		r = rt_agent_update_network(agent, net, err);
	if (r >= 0)
		r = oci_spec_to_json(spec, &json, &len, err);
	if (r >= 0) {
		/* the shared directory first, in the container's mount namespace */
		static const struct rt_agent_mount shared_mount = {
		    .type = "virtiofs", .source = RT_SHARED_TAG, .target = RT_GUEST_SHARED};
		struct rt_agent_create req = {
		    .id = c->state.id,
		    .spec_json = json,
		    .spec_len = len,
		    .rootfs = {.type = RT_AGENT_ROOTFS_BIND, .source = RT_GUEST_SHARED "/rootfs"},
		    .mounts = shared ? &shared_mount : NULL,
		    .n_mounts = shared ? 1 : 0,
		    .stdio = o->stdio,
		};
		if (o->cfg->rootfs_block)
			req.rootfs = (struct rt_agent_rootfs){
			    .type = RT_AGENT_ROOTFS_BLOCK, .source = "/dev/vda", .fstype = "ext4"};
		pid_t guest_pid;
		r = rt_agent_create_container(agent, &req, &guest_pid, err);
	}
	if (r == -ETIMEDOUT || r == -EIO) {
		/* a guest that stalls or dies mid-create says why on its console */
		char tail[CONSOLE_TAIL];
		console_tail(c->state.console_log, tail, sizeof(tail));
		_cleanup_free_ char *msg = strdup(err_msg(err ? *err : NULL));
		err_set(err, -r, "%s; console tail:\n%s", msg ? msg : "agent",
			tail[0] ? tail : "(empty)");
	}
	rt_agent_free(agent);
	return r;
}

/*
 * Where the sandbox's unix sockets live: its state directory, unless that
 * path is too long for sun_path with the VMM's "_PORT" suffixes (docker's
 * --root plus a 64-character id is): then a short directory named by a hash
 * of root and id, RT_SOCK_DIR/<16 hex>, made here and removed on teardown.
 */
static int sock_dir(const char *root, const char *id, char **out)
{
	char *dir;
	if (asprintf(&dir, "%s/%s", root, id) < 0)
		return -ENOMEM;
	if (strlen(dir) + strlen("/vsock.sock") + 12 <=
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		*out = dir;
		return 0;
	}
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (const char *p = dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	free(dir);
	if (mkdir(RT_SOCK_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&dir, "%s/%016llx", RT_SOCK_DIR, (unsigned long long)h) < 0)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = -errno;
		free(dir);
		return e;
	}
	*out = dir;
	return 0;
}

/* The creating record: paths, bundle, rootfs, annotations. */
static int state_init(struct rt_state *st, const struct rt_sandbox_create *o, const char *bundle,
		      const struct oci_spec *spec, struct err **err)
{
	char now[48];
	_cleanup_free_ char *sdir = NULL;
	rt_time_now(now, sizeof(now));
	memset(st, 0, sizeof(*st));
	st->status = RT_STATUS_CREATING;
	st->id = strdup(o->id);
	st->bundle = strdup(bundle);
	st->created = strdup(now);
	const char *rp = spec->root->path;
	if (rp[0] == '/')
		st->rootfs = strdup(rp);
	else if (asprintf(&st->rootfs, "%s/%s", bundle, rp) < 0)
		st->rootfs = NULL;
	if (sock_dir(o->root, o->id, &sdir) < 0 || asprintf(&st->vsock, "%s/vsock.sock", sdir) < 0)
		st->vsock = NULL;
	if (asprintf(&st->console_log, "%s/%s/console.log", o->root, o->id) < 0)
		st->console_log = NULL;
	const struct oci_map *a = &spec->annotations;
	st->annotations.items = calloc(a->n ? a->n : 1, sizeof(*a->items));
	for (size_t i = 0; st->annotations.items && i < a->n; i++) {
		st->annotations.items[i].key = strdup(a->items[i].key);
		st->annotations.items[i].value = strdup(a->items[i].value);
		st->annotations.n++;
	}
	if (!st->id || !st->bundle || !st->created || !st->rootfs || !st->vsock ||
	    !st->console_log || !st->annotations.items)
		return err_set(err, ENOMEM, "container %s", o->id);
	struct stat sb;
	if (stat(st->rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return err_set(err, 0, "rootfs %s: not a directory", st->rootfs);
	return 0;
}

/* What the host config names must exist: a clear message now beats a VMM
 * that exits with an empty console later. */
static int check_host_files(const struct rt_config *cfg, struct err **err)
{
	const char *files[] = {cfg->kernel, cfg->initramfs, cfg->vmm,
			       cfg->rootfs_block ? NULL : cfg->virtiofsd};
	const char *keys[] = {"kernel", "initramfs", "vmm", "virtiofsd"};
	for (size_t i = 0; i < 4; i++) {
		/* the vmm may be a bare name found on PATH */
		if (!files[i] || (i == 2 && !strchr(files[i], '/')))
			continue;
		if (access(files[i], i >= 2 ? X_OK : R_OK) < 0)
			return err_set(err, errno, "hull config: %s %s", keys[i], files[i]);
	}
	return 0;
}

/* The pod's network namespace joined to taps, recorded before anything is
 * made there so that a failure at any later point is cleaned up. */
static int setup_net(struct rt_container *c, const char *netns, struct rt_net *net,
		     struct err **err)
{
	struct rt_state *st = &c->state;
	if (!(st->netns = strdup(netns)))
		return err_set(err, ENOMEM, "network");
	int r = rt_net_setup(netns, net, err);
	if (r < 0)
		return r;
	if (net->n_links && !(st->net_links = calloc(net->n_links, sizeof(char *))))
		return err_set(err, ENOMEM, "network");
	for (size_t i = 0; i < net->n_links; i++) {
		if (!(st->net_links[i] = strdup(net->links[i].name)))
			return err_set(err, ENOMEM, "network");
		st->n_net_links++;
	}
	return rt_container_save(c, err);
}

int rt_sandbox_create(const struct rt_sandbox_create *o, struct rt_container **out,
		      struct err **err)
{
	if (o->size < sizeof(*o))
		return err_set(err, EINVAL, "rt_sandbox_create: old options");
	int r = rt_id_validate(o->id, err);
	if (r < 0)
		return r;
	char bundle[PATH_MAX];
	if (!realpath(o->bundle, bundle))
		return err_set(err, errno, "bundle %s", o->bundle);
	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	if ((r = oci_spec_load(bundle, &spec, err)) < 0 || (r = oci_spec_validate(spec, err)) < 0)
		return err_wrap(err, "bundle %s", bundle);
	if ((r = check_host_files(o->cfg, err)) < 0)
		return err_wrap(err, "container %s", o->id);
	const char *netns = NULL;
	if ((r = rt_net_from_spec(spec, &netns, err)) < 0)
		return err_wrap(err, "container %s", o->id);

	struct rt_state st;
	r = state_init(&st, o, bundle, spec, err);
	struct rt_container *c = NULL;
	if (r >= 0)
		r = rt_container_create(o->root, &st, &c, err);
	rt_state_free(&st);
	if (r < 0)
		return r;

	/* host bind mounts and a virtio-fs rootfs reach the guest through the
	 * shared directory; a block rootfs is a copy on virtio-blk */
	bool shared = o->pod || rt_shared_dir_needed(spec, o->cfg->rootfs_block);
	r = o->cfg->rootfs_block ? make_image(c, err) : 0;
	if (r >= 0 && shared && (r = rt_shared_dir_setup(c, spec, o->cfg->rootfs_block, err)) >= 0)
		r = start_virtiofsd(c, o->cfg, o->tie_to_caller, err);
	_cleanup_free_ struct rt_net *net = netns ? calloc(1, sizeof(*net)) : NULL;
	if (r >= 0 && netns)
		r = net ? setup_net(c, netns, net, err) : err_set(err, ENOMEM, "network");
	if (r >= 0)
		r = start_vmm(c, spec, o->cfg, o->tie_to_caller, shared, net, err);
	/* the VMM holds the taps now: they live and die with it */
	if (net)
		rt_net_close(net);
	if (r >= 0)
		r = create_in_guest(c, spec, o, shared, net, err);
	if (r >= 0) {
		c->state.status = RT_STATUS_CREATED;
		r = rt_container_save(c, err);
	}
	if (r < 0) {
		/* nothing may outlive a failed create: processes, sockets, state */
		struct err *e = NULL;
		if (rt_sandbox_destroy(c, &e) < 0)
			log_error("container %s: cleanup: %s", o->id, err_msg(e));
		err_free(&e);
		rt_container_close(c);
		return err_wrap(err, "container %s", o->id);
	}
	*out = c;
	return 0;
}
