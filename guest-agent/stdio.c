// SPDX-License-Identifier: Apache-2.0
/*
 * Process stdio over its own connections, so bulk output never passes
 * through the ttrpc channel. The host connects to the stdio port and sends
 *
 *     "<container_id> <exec_id> <stream>\n"      exec_id "-": the init process
 *                                                stream: stdin|stdout|stderr|tty
 *
 * and gets back "OK\n" or "ERR <reason>\n"; after OK the connection carries
 * raw bytes. Each stream can be attached once. Output the process wrote
 * before the attach is still in the pipe (the agent never reads it
 * otherwise), and stdout/stderr connections end with EOF once every writer
 * of the pipe is gone, so a host that drains to EOF sees everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/log.h"

static const char *stream_names[STREAM_MAX] = {"stdin", "stdout", "stderr", "tty"};

int agent_stdio_header_parse(char *line, char **id, char **exec_id, enum agent_stream *stream,
			     struct err **err)
{
	char *save = NULL;
	char *f[3];
	for (int i = 0; i < 3; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return err_set(err, 0, "stdio header: expected '<id> <exec_id> <stream>'");
	}
	if (strtok_r(NULL, " ", &save))
		return err_set(err, 0, "stdio header: trailing fields");
	int r = agent_id_check("container id", f[0], err);
	if (r < 0)
		return r;
	if (strcmp(f[1], "-") != 0 && (r = agent_id_check("exec id", f[1], err)) < 0)
		return r;
	for (int s = 0; s < STREAM_MAX; s++) {
		if (strcmp(f[2], stream_names[s]) == 0) {
			*id = f[0];
			*exec_id = strcmp(f[1], "-") == 0 ? "" : f[1];
			*stream = (enum agent_stream)s;
			return 0;
		}
	}
	return err_set(err, 0, "stdio header: unknown stream '%s'", f[2]);
}

struct conn {
	struct agent *a;
	int sock;
};

/* Read the header line: at most 511 bytes, byte by byte so no payload byte
 * is consumed. */
static int read_header(int sock, char *buf, size_t len, struct err **err)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = read(sock, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(err, r < 0 ? errno : EPIPE, "stdio header");
		if (ch == '\n')
			break;
		if (n + 1 >= len)
			return err_set(err, 0, "stdio header too long");
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return 0;
}

/* Take the agent's end of the stream: the fd now belongs to the relay. */
static int claim(struct agent *a, const char *id, const char *exec_id, enum agent_stream s,
		 int sock, int *fd, struct err **err)
{
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, id);
	struct agent_proc *p = c && !c->removing ? agent_proc_find(c, exec_id) : NULL;
	int r = 0;
	if (!p)
		r = err_set(err, ENOENT, "no process %s/%s", id, exec_id[0] ? exec_id : "-");
	else if (p->attached[s])
		r = err_set(err, EBUSY, "%s of %s/%s is already attached", stream_names[s], id,
			    exec_id[0] ? exec_id : "-");
	else if (p->fds[s] < 0)
		r = err_set(err, ENOENT, "%s/%s has no %s", id, exec_id[0] ? exec_id : "-",
			    stream_names[s]);
	else if (s == STREAM_TTY) {
		/* The master stays in the table for ResizeTty. */
		*fd = fcntl(p->fds[s], F_DUPFD_CLOEXEC, 3);
		if (*fd < 0)
			r = err_set(err, errno, "dup pty master");
	} else {
		*fd = TAKE_FD(p->fds[s]);
	}
	if (r == 0) {
		p->attached[s] = true;
		if (s == STREAM_STDIN)
			p->relay_stdin_sock = sock;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

static void unclaim_stdin(struct agent *a, const char *id, const char *exec_id)
{
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, id);
	struct agent_proc *p = c ? agent_proc_find(c, exec_id) : NULL;
	if (p)
		p->relay_stdin_sock = -1;
	pthread_mutex_unlock(&a->lock);
}

/* Copy in -> out until EOF on in (EIO from a pty master counts as EOF). */
static void pump(int in, int out)
{
	char buf[32768];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (fd_write_full(out, buf, (size_t)n) < 0)
			return;
	}
}

/* Both directions over one connection for a pty. */
static void pump_tty(int master, int sock)
{
	char buf[32768];
	struct pollfd pfd[2] = {{.fd = master, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return; /* EIO: every slave fd is closed */
			if (n > 0 && fd_write_full(sock, buf, (size_t)n) < 0)
				return;
		}
		if (pfd[1].revents) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				pfd[1].fd = -1; /* host closed its side: keep relaying output */
			else if (n > 0 && fd_write_full(master, buf, (size_t)n) < 0)
				return;
		}
	}
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	struct agent *a = cn->a;
	_cleanup_close_ int sock = cn->sock;
	free(cn);
	struct err *err = NULL;
	char line[512];
	char *id, *exec_id;
	enum agent_stream s;
	/* A silent peer must not hold a thread forever. */
	struct timeval tv = {10, 0};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int fd = -1;
	if (read_header(sock, line, sizeof(line), &err) < 0 ||
	    agent_stdio_header_parse(line, &id, &exec_id, &s, &err) < 0 ||
	    claim(a, id, exec_id, s, sock, &fd, &err) < 0) {
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "ERR %s\n", err_msg(err));
		fd_write_full(sock, msg, (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1));
		log_warn("stdio: %s", err_msg(err));
		err_free(&err);
		return NULL;
	}
	tv.tv_sec = 0;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fd_write_full(sock, "OK\n", 3);
	switch (s) {
	case STREAM_STDIN:
		pump(sock, fd);
		close(fd);
		unclaim_stdin(a, id, exec_id);
		break;
	case STREAM_TTY:
		pump_tty(fd, sock);
		close(fd);
		break;
	default:
		pump(fd, sock);
		close(fd);
		break;
	}
	shutdown(sock, SHUT_WR);
	return NULL;
}

int agent_stdio_serve(struct agent *a, int listen_fd)
{
	for (;;) {
		int sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (sock < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return -errno;
		}
		struct conn *cn = malloc(sizeof(*cn));
		pthread_t t;
		if (!cn) {
			close(sock);
			continue;
		}
		*cn = (struct conn){a, sock};
		if (pthread_create(&t, NULL, conn_main, cn) != 0) {
			close(sock);
			free(cn);
			continue;
		}
		pthread_detach(t);
	}
}
