// SPDX-License-Identifier: Apache-2.0
/*
 * A process's stdio: containerd gives paths (FIFOs its client reads and
 * writes, or log URIs: file:///PATH, binary:///PATH?k=v as
 * containerd-shim-runc-v2 supports them); the guest agent gives one stream
 * connection per pipe (stdin, stdout, stderr) or one for a terminal ("tty").
 * One thread per direction copies bytes until EOF.
 *
 * Output is never lost: the agent keeps what the process wrote before we
 * attach in its pipe, a stream ends with EOF only once every writer in the
 * guest is gone, and shim_io_drain() waits for both output copies to reach
 * that EOF and to close our end of the FIFO. containerd's client waits for
 * that EOF before it deletes the task, so the FIFO must be closed when the
 * copy ends, not later.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "shim.h"

#define COPY_BUF        65536
#define LOGGER_READY_MS 10000 /* runc's shim waits as long for a logging binary */
#define LOGGER_EXIT_MS  2000
#define URI_MAX         4096
#define LOGGER_MAX_ARGS 32

struct relay {
	int src, dst;
	bool input;        /* FIFO -> agent: stops on cancel_fd */
	bool shutdown_dst; /* send EOF (SHUT_WR) to the agent at the end */
	bool running;
	pthread_t thread;
	struct shim_io *io;
};

struct shim_io {
	bool terminal;
	int in_fd, out_fd, err_fd; /* what we opened from containerd's paths */
	int cancel_fd;             /* eventfd: stop stdin after what it holds */
	pid_t logger;              /* binary:// logging process, 0: none */
	struct relay in, out, err;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Copy until EOF of src (or an error, or nobody reading dst any more). */
static void copy_output(struct relay *r)
{
	char *buf = malloc(COPY_BUF);
	for (; buf;) {
		ssize_t n = read(r->src, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (r->dst >= 0 && fd_write_full(r->dst, buf, (size_t)n) < 0) {
			log_warn("stdio: output reader went away: %m; discarding the rest");
			close_fd(&r->dst);
		}
	}
	free(buf);
}

/* stdin: FIFO -> agent. Waits for data or a cancel (CloseIO), and after a
 * cancel forwards only what the FIFO already holds. */
static void copy_input(struct relay *r)
{
	char *buf = malloc(COPY_BUF);
	bool cancelled = false;
	while (buf) {
		if (!cancelled) {
			struct pollfd p[2] = {{.fd = r->src, .events = POLLIN},
					      {.fd = r->io->cancel_fd, .events = POLLIN}};
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (p[1].revents)
				cancelled = true;
			if (!p[0].revents && !cancelled)
				continue;
		}
		ssize_t n = read(r->src, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (cancelled)
				break; /* nothing more queued */
			continue;
		}
		if (n <= 0)
			break; /* every writer closed the FIFO */
		if (fd_write_full(r->dst, buf, (size_t)n) < 0)
			break; /* the process no longer reads stdin */
	}
	free(buf);
	if (r->shutdown_dst)
		shutdown(r->dst, SHUT_WR);
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	if (r->input)
		copy_input(r);
	else
		copy_output(r);
	/* our end of containerd's FIFO closes now: its reader sees EOF */
	close_fd(&r->src);
	close_fd(&r->dst);
	return NULL;
}

static int relay_start(struct shim_io *io, struct relay *r, int src, int dst, bool input,
		       struct err **err)
{
	*r = (struct relay){.src = src, .dst = dst, .input = input, .io = io};
	r->shutdown_dst = input && !io->terminal;
	int e = pthread_create(&r->thread, NULL, relay_main, r);
	if (e) {
		r->src = r->dst = -1;
		close(src);
		if (dst >= 0)
			close(dst);
		return err_set(err, e, "stdio: start relay thread");
	}
	r->running = true;
	return 0;
}

/* "file:///p" -> "/p"; NULL when uri is not of that scheme */
static const char *uri_path(const char *uri, const char *scheme)
{
	size_t n = strlen(scheme);
	if (strncmp(uri, scheme, n) != 0 || strncmp(uri + n, "://", 3) != 0)
		return NULL;
	return uri + n + 3;
}

static int open_file_uri(const char *path, struct err **err)
{
	if (path[0] != '/')
		return err_set(err, EINVAL, "log uri file://%s: not an absolute path", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(err, errno, "log uri: open %s", path);
	return fd;
}

/* Split "path?k=v&k2=v2" into the logger's argv (k v k2 v2), in place. */
static int logger_argv(char *spec, char **argv, size_t max, struct err **err)
{
	size_t n = 0;
	char *q = strchr(spec, '?');
	argv[n++] = spec;
	if (q) {
		*q++ = '\0';
		for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
		     kv = strtok_r(NULL, "&", &save)) {
			if (n + 2 >= max)
				return err_set(err, E2BIG, "log uri: more than %zu arguments",
					       max / 2 - 1);
			char *eq = strchr(kv, '=');
			if (eq)
				*eq = '\0';
			argv[n++] = kv;
			if (eq && eq[1])
				argv[n++] = eq + 1;
		}
	}
	argv[n] = NULL;
	if (spec[0] != '/')
		return err_set(err, EINVAL, "log uri binary://%s: not an absolute path", spec);
	return 0;
}

/* binary://: the logger reads stdout on fd 3, stderr on fd 4 and closes fd 5
 * once it is ready (containerd's runtime/v2/logging contract). */
static int start_logger(struct shim_io *io, const char *spec_in, const char *ns, const char *id,
			struct err **err)
{
	_cleanup_free_ char *spec = strdup(spec_in);
	char *argv[LOGGER_MAX_ARGS];
	if (!spec)
		return err_set(err, ENOMEM, "log uri");
	int r = logger_argv(spec, argv, ARRAY_SIZE(argv), err);
	if (r < 0)
		return r;
	int out[2], errp[2], ready[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return err_set(err, errno, "log uri: pipe");
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		r = err_set(err, errno, "log uri: pipe");
		close(out[0]);
		close(out[1]);
		return r;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* above 5 first, so that placing 3..5 cannot clobber one another */
		int a = fcntl(out[0], F_DUPFD, 10), b = fcntl(errp[0], F_DUPFD, 10),
		    c = fcntl(ready[1], F_DUPFD, 10);
		int null = open("/dev/null", O_RDWR);
		if (a < 0 || b < 0 || c < 0 || null < 0 || dup2(null, 0) < 0 || dup2(a, 3) < 0 ||
		    dup2(b, 4) < 0 || dup2(c, 5) < 0)
			_exit(127);
		close_range(6, ~0U, 0);
		setenv("CONTAINER_ID", id, 1);
		setenv("CONTAINER_NAMESPACE", ns, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int e = errno;
	close(out[0]);
	close(errp[0]);
	close(ready[1]);
	if (pid < 0) {
		close(out[1]);
		close(errp[1]);
		close(ready[0]);
		return err_set(err, e, "log uri: fork %s", argv[0]);
	}
	io->logger = pid;
	io->out_fd = out[1];
	io->err_fd = errp[1];
	struct pollfd p = {.fd = ready[0], .events = POLLIN};
	int n = poll(&p, 1, LOGGER_READY_MS);
	close(ready[0]);
	if (n <= 0)
		return err_set(err, n < 0 ? errno : ETIMEDOUT, "log uri: %s did not get ready",
			       argv[0]);
	return 0;
}

static int open_output(struct shim_io *io, const char *path, bool is_err, const char *ns,
		       const char *id, struct err **err)
{
	int *fd = is_err ? &io->err_fd : &io->out_fd;
	if (!path || !path[0])
		return 0;
	if (strlen(path) > URI_MAX)
		return err_set(err, ENAMETOOLONG, "stdio path longer than %d bytes", URI_MAX);
	const char *p;
	if ((p = uri_path(path, "binary"))) {
		/* one logger takes both streams; containerd passes the URI twice */
		return io->logger ? 0 : start_logger(io, p, ns, id, err);
	}
	if ((p = uri_path(path, "file"))) {
		*fd = open_file_uri(p, err);
		return *fd < 0 ? *fd : 0;
	}
	if ((p = uri_path(path, "fifo")))
		path = p;
	/* O_RDWR: opening never blocks, whether or not the reader is there yet */
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return err_set(err, errno, "open %s", path);
	return 0;
}

int shim_io_open(const struct shim_io_paths *p, const char *ns, const char *id,
		 struct shim_io **out, struct err **err)
{
	struct shim_io *io = calloc(1, sizeof(*io));
	if (!io)
		return err_set(err, ENOMEM, "stdio");
	io->in_fd = io->out_fd = io->err_fd = -1;
	io->terminal = p->terminal;
	io->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = io->cancel_fd < 0 ? err_set(err, errno, "stdio: eventfd") : 0;
	if (r >= 0 && p->stdin_ && p->stdin_[0]) {
		/* non-blocking: no writer may be there yet; poll waits for one */
		io->in_fd = open(p->stdin_, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (io->in_fd < 0)
			r = err_set(err, errno, "open %s", p->stdin_);
	}
	if (r >= 0)
		r = open_output(io, p->stdout_, false, ns, id, err);
	/* with a terminal there is only one output stream */
	if (r >= 0 && !p->terminal)
		r = open_output(io, p->stderr_, true, ns, id, err);
	if (r < 0) {
		shim_io_free(io);
		return r;
	}
	*out = io;
	return 0;
}

struct rt_agent_stdio shim_io_streams(const struct shim_io *io)
{
	if (io->terminal)
		return (struct rt_agent_stdio){
		    .terminal = true, .open_stdin = io->in_fd >= 0, .open_stdout = true};
	return (struct rt_agent_stdio){.open_stdin = io->in_fd >= 0,
				       .open_stdout = io->out_fd >= 0,
				       .open_stderr = io->err_fd >= 0};
}

int shim_io_attach(struct shim_io *io, struct rt_agent *agent, const char *id, const char *exec_id,
		   struct err **err)
{
	int r;
	if (io->terminal) {
		int t = rt_agent_attach(agent, id, exec_id, "tty", err);
		if (t < 0)
			return t;
		int t2 = io->in_fd >= 0 ? fcntl(t, F_DUPFD_CLOEXEC, 3) : -1;
		r = relay_start(io, &io->out, t, TAKE_FD(io->out_fd), false, err);
		if (r >= 0 && t2 >= 0)
			r = relay_start(io, &io->in, TAKE_FD(io->in_fd), t2, true, err);
		return r;
	}
	if (io->out_fd >= 0) {
		int s = rt_agent_attach(agent, id, exec_id, "stdout", err);
		if (s < 0)
			return s;
		if ((r = relay_start(io, &io->out, s, TAKE_FD(io->out_fd), false, err)) < 0)
			return r;
	}
	if (io->err_fd >= 0) {
		int s = rt_agent_attach(agent, id, exec_id, "stderr", err);
		if (s < 0)
			return s;
		if ((r = relay_start(io, &io->err, s, TAKE_FD(io->err_fd), false, err)) < 0)
			return r;
	}
	if (io->in_fd >= 0) {
		int s = rt_agent_attach(agent, id, exec_id, "stdin", err);
		if (s < 0)
			return s;
		if ((r = relay_start(io, &io->in, TAKE_FD(io->in_fd), s, true, err)) < 0)
			return r;
	}
	return 0;
}

void shim_io_close_stdin(struct shim_io *io)
{
	uint64_t one = 1;
	if (io && write(io->cancel_fd, &one, sizeof(one)) < 0)
		log_warn("stdio: signal stdin close: %m");
	/* never attached: nothing will forward it, just let it go */
	if (io && !io->in.running)
		close_fd(&io->in_fd);
}

static void relay_join(struct relay *r)
{
	if (r->running)
		pthread_join(r->thread, NULL);
	r->running = false;
}

void shim_io_drain(struct shim_io *io)
{
	if (!io)
		return;
	relay_join(&io->out);
	relay_join(&io->err);
}

static void logger_reap(pid_t pid)
{
	/* it exits once both pipes reached EOF; a stuck one is killed */
	for (int ms = 0; ms < LOGGER_EXIT_MS; ms += 10) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	log_warn("stdio: logging binary %d did not exit: killed", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void shim_io_free(struct shim_io *io)
{
	if (!io)
		return;
	shim_io_close_stdin(io);
	relay_join(&io->in);
	shim_io_drain(io);
	close_fd(&io->in_fd);
	close_fd(&io->out_fd);
	close_fd(&io->err_fd);
	if (io->logger > 0)
		logger_reap(io->logger);
	close_fd(&io->cancel_fd);
	free(io);
}
