// SPDX-License-Identifier: Apache-2.0
/*
 * The monitor's relay loop (see runtime/monitor.h): host stdio <-> the
 * process's vsock streams, signals -> SignalProcess, SIGWINCH -> ResizeTty,
 * and the exit status from a WaitProcess call that runs on its own thread
 * (it blocks until the process exits; the agent client is thread-safe).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "runtime/agent_client.h"
#include "runtime/monitor.h"

#define DRAIN_IDLE_MS  2000 /* after the exit, output that stays silent this long has ended */
#define STATUS_VM_GONE 137  /* 128 + SIGKILL: the VM died under the process */

/* Every catchable signal a process may be sent, as runc forwards them;
 * SIGCHLD is ours (the VMM) and SIGWINCH means a resize. */
static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2, SIGALRM,
				SIGTERM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPROF, SIGVTALRM,
				SIGXCPU, SIGXFSZ, SIGPWR,  SIGSYS,  SIGURG,  SIGIO,   SIGTRAP};

void rt_relay_sigset(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGWINCH);
}

struct waiter {
	struct rt_relay *r;
	int pipe_w;
};

/* The exit status travels as an int over a pipe: -1 when the wait failed
 * (the VM or agent went away). */
static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	struct rt_agent_exit ex;
	struct err *e = NULL;
	int status = -1;
	if (rt_agent_wait_process(w->r->agent, w->r->id, w->r->exec_id, 0, &ex, &e) >= 0)
		status = ex.status;
	else
		log_warn("wait for %s: %s", w->r->id, err_msg(e));
	err_free(&e);
	if (fd_write_full(w->pipe_w, &status, sizeof(status)) < 0)
		log_warn("report exit status: %m");
	close(w->pipe_w);
	return NULL;
}

static void resize(struct rt_relay *r)
{
	struct winsize ws;
	if (r->winsz_fd < 0 || ioctl(r->winsz_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_col)
		return;
	struct err *e = NULL;
	if (rt_agent_resize_tty(r->agent, r->id, r->exec_id, ws.ws_col, ws.ws_row, &e) < 0)
		log_warn("resize tty of %s: %s", r->id, err_msg(e));
	err_free(&e);
}

/* Returns true when our VMM child has gone. */
static bool on_signal(struct rt_relay *r)
{
	struct signalfd_siginfo si;
	bool vm_gone = false;
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			pid_t p;
			int ws;
			while ((p = waitpid(-1, &ws, WNOHANG)) > 0)
				if (p == r->vmm) {
					log_error("hull-vmm (pid %d) exited (status %#x)", (int)p,
						  ws);
					vm_gone = true;
				}
		} else if (sig == SIGWINCH) {
			resize(r);
		} else {
			struct err *e = NULL;
			log_debug("forwarding signal %d to %s", sig, r->id);
			if (rt_agent_signal_process(r->agent, r->id, r->exec_id, sig, false, &e) <
			    0)
				log_warn("signal %d to %s: %s", sig, r->id, err_msg(e));
			err_free(&e);
		}
	}
	return vm_gone;
}

/* Copy what is there from src to dst; false at EOF or on an error. */
static bool pump(int src, int dst)
{
	char buf[65536];
	ssize_t n = read(src, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	/* a reader that went away (EPIPE) loses the rest, as with runc */
	return fd_write_full(dst, buf, (size_t)n) >= 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

enum { P_SIG, P_WAIT, P_IN, P_OUT, P_ERR, P_N };

int rt_relay_run(struct rt_relay *r)
{
	int wp[2];
	if (pipe2(wp, O_CLOEXEC) < 0)
		return 255;
	/* On the heap: the waiter may outlive this frame when we stop on the
	 * VMM's death; the process exits soon after either way. */
	struct waiter *w = malloc(sizeof(*w));
	pthread_t t;
	if (!w || (*w = (struct waiter){r, wp[1]}, pthread_create(&t, NULL, wait_main, w)) != 0) {
		free(w);
		close(wp[0]);
		close(wp[1]);
		return 255;
	}
	pthread_detach(t);
	resize(r);
	struct pollfd p[P_N] = {
	    [P_SIG] = {.fd = r->sigfd, .events = POLLIN},
	    [P_WAIT] = {.fd = wp[0], .events = POLLIN},
	    [P_IN] = {.fd = r->s_in >= 0 ? r->in_fd : -1, .events = POLLIN},
	    [P_OUT] = {.fd = r->s_out, .events = POLLIN},
	    [P_ERR] = {.fd = r->s_err, .events = POLLIN},
	};
	int status = -2; /* -2: still running */
	long long last_data = now_ms();
	while (p[P_OUT].fd >= 0 || p[P_ERR].fd >= 0 || status == -2) {
		int timeout = -1;
		if (status != -2) {
			long long left = last_data + DRAIN_IDLE_MS - now_ms();
			if (left <= 0) {
				log_warn("%s: output still open after the exit; not waiting",
					 r->id);
				break;
			}
			timeout = (int)left;
		}
		int n = poll(p, P_N, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[P_SIG].revents && on_signal(r) && status == -2) {
			status = STATUS_VM_GONE;
			p[P_IN].fd = -1;
			last_data = now_ms();
		}
		if (p[P_WAIT].revents) {
			int s = -1;
			if (read(wp[0], &s, sizeof(s)) != (ssize_t)sizeof(s))
				s = -1;
			if (status == -2)
				status = s < 0 ? STATUS_VM_GONE : s;
			p[P_WAIT].fd = -1;
			p[P_IN].fd = -1; /* input for an exited process goes nowhere */
			last_data = now_ms();
		}
		if (p[P_IN].revents && !pump(p[P_IN].fd, r->s_in)) {
			/* EOF on our input: the process sees EOF on its stdin (a tty
			 * input just stops: its master was closed) */
			p[P_IN].fd = -1;
			if (r->s_err >= 0) {
				close(r->s_in);
				r->s_in = -1;
			}
		}
		for (int i = P_OUT; i <= P_ERR; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			last_data = now_ms();
			if (!pump(p[i].fd, i == P_OUT ? r->out_fd : r->err_fd))
				p[i].fd = -1;
		}
	}
	close(wp[0]); /* the waiter's write then fails quietly, if it still runs */
	return status < 0 ? STATUS_VM_GONE : status;
}
