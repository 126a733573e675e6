// SPDX-License-Identifier: Apache-2.0
/*
 * containerd-shim-hull-v2: the shim v2 binary protocol (containerd 1.6,
 * runtime/v2/binary.go and shim/shim.go):
 *
 *   SHIM -namespace NS -address SOCK -publish-binary BIN -id ID [-debug] start
 *       cwd = the bundle. Starts the shim server as a daemon, writes its
 *       address to BUNDLE/address and prints it ("unix:///..."). containerd
 *       reads stdout and stderr together: nothing else may be printed.
 *       The socket is named after the task's group, as containerd-shim-runc-v2
 *       names it: the CRI sandbox id of a pod's container (annotation
 *       io.kubernetes.cri.sandbox-id), else the task id; when a shim already
 *       serves the group, its address is returned and no process started.
 *   SHIM -namespace NS ... -id ID -bundle PATH delete
 *       The shim is gone: release what it left (VM, virtiofsd, mounts,
 *       state) and print a marshalled DeleteResponse.
 *
 * The daemon logs to the FIFO named "log" in the bundle, which containerd
 * copies into its own log, and talks to containerd's ttrpc socket
 * ($TTRPC_ADDRESS) for events.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/ttrpc.h"
#include "runtime/cli_args.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"
#include "shim.h"
#include "shim/proto/shim.pb-c.h"

static const struct rt_flag flags[] = {
    {"namespace", RT_FLAG_STRING, "namespace that owns the shim", "default"},
    {"address", RT_FLAG_STRING, "grpc address back to main containerd", NULL},
    {"publish-binary", RT_FLAG_STRING, "path to publish binary (used for publishing events)", NULL},
    {"id", RT_FLAG_STRING, "id of the task", NULL},
    {"bundle", RT_FLAG_STRING, "path to the bundle if not workdir", NULL},
    {"socket", RT_FLAG_STRING, "accepted for compatibility", NULL},
    {"debug", RT_FLAG_BOOL, "enable debug output in logs", NULL},
    {"v", RT_FLAG_BOOL, "show the shim version and exit", NULL},
};

struct opts {
	const char *ns, *id, *bundle;
	const char *group; /* the pod's sandbox id, else id */
	bool debug;
};

/* The shim's socket: short (sun_path is 108 bytes), one per namespace/group. */
static int socket_path(const struct opts *o, char *buf, size_t len, struct err **err)
{
	const char *base = getenv("HULL_SHIM_ROOT");
	if (!base || !base[0])
		base = SHIM_ROOT_DEFAULT;
	/* FNV-1a of "ns/id": ids may be 64 hex digits and namespaces long */
	uint64_t h = 14695981039346656037ULL;
	for (const char *p = o->ns; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (const char *p = o->group; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	if ((size_t)snprintf(buf, len, "%s/s/%016llx.sock", base, (unsigned long long)h) >= len)
		return err_set(err, ENAMETOOLONG, "shim socket under %s", base);
	return 0;
}

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0711) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int unix_socket(const char *path, bool listen_on)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = listen_on ? bind(fd, (struct sockaddr *)&sa, sizeof(sa))
			  : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0 && listen_on)
		r = listen(fd, 64);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int write_address(const char *addr, struct err **err)
{
	_cleanup_close_ int fd = open("address", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fd_write_full(fd, addr, strlen(addr)) < 0)
		return err_set(err, errno, "write BUNDLE/address");
	return 0;
}

/* SIGTERM/SIGINT stop the server; the teardown runs on the main thread. */
static void *signal_main(void *arg)
{
	struct shim_service *s = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: shutting down", sig);
	ttrpc_server_shutdown(s->server);
	return NULL;
}

/* The daemon: serve until Shutdown, then release everything. */
__attribute__((noreturn)) static void serve(const struct opts *o, int listen_fd, const char *sock)
{
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* stdout/stderr are containerd's pipe: it waits for them to close */
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	int log = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (log >= 0) {
		/* blocking writes: containerd reads the FIFO continuously */
		fd_set_nonblock(log, 0);
		dup2(log, 2);
		close(log);
	}
	log_set_fd(2);
	log_set_level(o->debug ? LOG_DEBUG : LOG_INFO);
	log_set_ident(SHIM_NAME);
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	static struct shim_service svc;
	struct err *err = NULL;
	int r = shim_service_init(&svc, o->ns, &err);
	pthread_t sig_thread;
	if (r >= 0 && pthread_create(&sig_thread, NULL, signal_main, &svc) == 0)
		pthread_detach(sig_thread);
	if (r >= 0)
		r = shim_service_serve(&svc, listen_fd, &err);
	if (r < 0)
		log_error("%s", err_msg(err));
	err_free(&err);
	shim_service_exit(&svc);
	unlink(sock);
	log_info("exit");
	_exit(r < 0 ? 1 : 0);
}

static int cmd_start(const struct opts *o, struct err **err)
{
	char sock[PATH_MAX];
	int r = socket_path(o, sock, sizeof(sock), err);
	if (r < 0)
		return r;
	_cleanup_free_ char *addr = NULL;
	if (asprintf(&addr, "unix://%s", sock) < 0)
		return err_set(err, ENOMEM, "address");
	if ((r = mkdir_parents(sock)) < 0)
		return err_set(err, -r, "mkdir for %s", sock);
	/* a shim already serving this task: containerd gets its address */
	int fd = unix_socket(sock, false);
	if (fd >= 0) {
		close(fd);
		if ((r = write_address(addr, err)) < 0)
			return r;
		printf("%s", addr);
		return 0;
	}
	unlink(sock);
	fd = unix_socket(sock, true);
	if (fd < 0)
		return err_set(err, -fd, "listen on %s", sock);
	if ((r = write_address(addr, err)) < 0) {
		close(fd);
		unlink(sock);
		return r;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = err_set(err, errno, "fork the shim server");
		close(fd);
		unlink(sock);
		return r;
	}
	if (pid == 0)
		serve(o, fd, sock);
	close(fd);
	printf("%s", addr);
	return 0;
}

static int cmd_delete(const struct opts *o, struct err **err)
{
	_cleanup_free_ char *root = NULL, *rootfs = NULL;
	int r = shim_root_path(o->ns, &root, err);
	if (r < 0)
		return r;
	struct rt_container *c = NULL;
	r = rt_container_open(root, o->id, true, &c, NULL);
	if (r == 0) {
		r = rt_sandbox_destroy(c, err);
		rt_container_close(c);
		if (r < 0)
			return r;
	} else if ((r = rt_container_remove_stale(root, o->id, err)) < 0 && r != -EEXIST) {
		return r;
	}
	if (asprintf(&rootfs, "%s/rootfs", o->bundle) < 0)
		return err_set(err, ENOMEM, "rootfs");
	if ((r = shim_rootfs_unmount(rootfs, err)) < 0)
		return r;
	/* the socket of the group, unless its shim still serves other tasks */
	char sock[PATH_MAX];
	if (socket_path(o, sock, sizeof(sock), NULL) == 0) {
		int fd = unix_socket(sock, false);
		if (fd >= 0)
			close(fd);
		else
			unlink(sock);
	}
	rmdir(root);

	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	int64_t now = shim_now_ns();
	ts.seconds = now / 1000000000LL;
	ts.nanos = (int32_t)(now % 1000000000LL);
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	resp.exit_status = SHIM_EXIT_KILLED;
	resp.exited_at = &ts;
	size_t len = protobuf_c_message_get_packed_size(&resp.base);
	_cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return err_set(err, ENOMEM, "DeleteResponse");
	protobuf_c_message_pack(&resp.base, buf);
	if (fd_write_full(STDOUT_FILENO, buf, len) < 0)
		return err_set(err, errno, "write DeleteResponse");
	return 0;
}

int main(int argc, char **argv)
{
	struct rt_args a;
	struct err *err = NULL;
	int r = rt_args_parse(flags, ARRAY_SIZE(flags), argc - 1, argv + 1, false, &a, &err);
	if (r < 0 || a.help) {
		fprintf(stderr, "%s\nusage: %s [flags] start|delete\n", r < 0 ? err_msg(err) : "",
			SHIM_NAME);
		rt_args_help(stderr, flags, ARRAY_SIZE(flags));
		err_free(&err);
		rt_args_free(&a);
		return r < 0 ? 1 : 0;
	}
	if (rt_args_bool(&a, "v")) {
		printf("%s:\n  Version:  %s\n", SHIM_NAME, SHIM_VERSION);
		rt_args_free(&a);
		return 0;
	}
	char cwd[PATH_MAX];
	struct opts o = {
	    .ns = rt_args_str(&a, "namespace", "default"),
	    .id = rt_args_str(&a, "id", NULL),
	    .bundle = rt_args_str(&a, "bundle", getcwd(cwd, sizeof(cwd))),
	    .debug = rt_args_bool(&a, "debug"),
	};
	o.group = o.id;
	struct shim_pod_role role = {0};
	/* best effort: without a readable config.json the task is its own group */
	if (o.bundle && shim_pod_role_read(o.bundle, &role, NULL) == 0 && role.sandbox_id &&
	    role.sandbox_id[0])
		o.group = role.sandbox_id;
	const char *action = a.n_pos == 1 ? a.pos[0] : NULL;
	if (!action || (strcmp(action, "start") != 0 && strcmp(action, "delete") != 0)) {
		r = err_set(&err, EINVAL, "expected one action, start or delete");
	} else if (!o.id || !o.id[0] || !o.bundle) {
		r = err_set(&err, EINVAL, "%s: -id is required", action);
	} else if (strcmp(action, "start") == 0) {
		r = cmd_start(&o, &err);
	} else {
		r = cmd_delete(&o, &err);
	}
	if (r < 0)
		fprintf(stderr, "%s: %s\n", SHIM_NAME, err_msg(err));
	err_free(&err);
	shim_pod_role_free(&role);
	rt_args_free(&a);
	return r < 0 ? 1 : 0;
}
