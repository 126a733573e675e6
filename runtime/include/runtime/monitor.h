/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor: one small host process per container process (the init
 * process, or an exec), standing for it on the host the way a runc
 * container's process does. It is what `hull create` and `hull exec -d`
 * leave running and what --pid-file names, so docker, podman, containerd's
 * runc shim and conmon can wait for it:
 *
 *   - it inherits the caller's stdin/stdout/stderr and relays them to the
 *     process's stdio streams over vsock (a pty when terminal is true: the
 *     master goes to --console-socket, or the caller's own terminal is used);
 *   - signals sent to it reach the process (SIGKILL cannot be caught: it
 *     kills the monitor, and with it the VM, which kills the container);
 *   - it exits with the process's exit status (128+n for signal n, 137 when
 *     the VM died under it);
 *   - for the init process it is hull-vmm's (and virtiofsd's) parent, tied to
 *     them with PR_SET_PDEATHSIG: when it exits or crashes the VM goes too.
 *
 * It runs in its own session (as a runc container's init does) and logs to
 * ROOT/ID/monitor-EXEC.log unless hull's log went to a file.
 */
#ifndef HULL_RUNTIME_MONITOR_H
#define HULL_RUNTIME_MONITOR_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct err;
struct rt_sandbox_create;

struct rt_monitor_opts {
	size_t size; /* sizeof(struct rt_monitor_opts) */
	const char *root;
	const char *id;
	/* Create mode: boot the sandbox from the monitor (its stdio and tie
	 * fields are filled in here). NULL: exec mode. */
	const struct rt_sandbox_create *create;
	/* Exec mode: an exec id and the OCI process (JSON) to run. */
	const char *exec_id;
	const char *process_json;
	size_t process_len;
	bool terminal;
	/* With terminal: the AF_UNIX socket that receives the pty master. NULL:
	 * use the caller's stdin/stdout (a terminal, put in raw mode by the
	 * caller) directly. */
	const char *console_socket;
	bool log_to_state_dir; /* hull's log is stderr: the monitor's goes to a file */
};

/*
 * Fork the monitor and wait until it reports that the process exists (the
 * container is created, or the exec started) with its stdio attached.
 * Returns 0 and the monitor's pid, or the monitor's own error (everything it
 * started is gone by then).
 */
int rt_monitor_start(const struct rt_monitor_opts *o, pid_t *pid, struct err **err);

/* Relay signals we get to pid until it exits (for foreground run/exec); its
 * exit status as a shell reports it (128+n when killed by signal n). */
int rt_monitor_wait(pid_t pid);

/* The relay loop of a monitor (runtime/monitor_relay.c). */
struct rt_agent;
struct rt_relay {
	struct rt_agent *agent;
	const char *id;
	const char *exec_id;
	pid_t vmm;    /* our child hull-vmm, or 0 */
	int in_fd;    /* host side input (stdin / tty), -1: none */
	int out_fd;   /* host side of stdout (or the tty) */
	int err_fd;   /* host side of stderr, -1 with a tty */
	int s_in;     /* agent stream for input, -1: none */
	int s_out;    /* agent stdout or tty stream */
	int s_err;    /* agent stderr stream, -1 with a tty */
	int winsz_fd; /* a tty fd whose size is the process's, or -1 */
	int sigfd;    /* signalfd of the signals we handle */
};
/* Relay until the process exited and its output ended; returns its status. */
int rt_relay_run(struct rt_relay *r);
/* The signals a monitor handles (blocked, read from a signalfd). */
void rt_relay_sigset(sigset_t *set);

#endif
