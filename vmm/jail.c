// SPDX-License-Identifier: Apache-2.0
/*
 * After setup, before the first guest instruction: drop every capability and
 * confine the whole process (all threads, present and future) to the system
 * calls the running VMM needs. A guest that finds a bug in a device model
 * then gets a process that can do little more than what it already did.
 *
 * Step by step:
 *  1. PR_CAP_AMBIENT_CLEAR_ALL and PR_CAPBSET_DROP for every capability:
 *     nothing can be regained through exec (which is not allowed anyway).
 *  2. cap_set_proc(empty): effective, permitted, inheritable sets cleared.
 *  3. seccomp allow-list (libseccomp) with NO_NEW_PRIVS and TSYNC, default
 *     action: kill the process. ioctl is limited to the KVM and tty requests
 *     the running VMM makes; socket() to AF_UNIX (hybrid vsock).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "jail.h"
#include "lib/cleanup.h"
#include "lib/log.h"

static const char *const allowed[] = {
    /* I/O on fds we already hold */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "fcntl",
    "fdatasync",
    "fsync",
    "openat",
    "unlink",
    "unlinkat",
    /* event loop, timers, sockets (control socket, hybrid vsock) */
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_ctl",
    "timerfd_settime",
    "timerfd_gettime",
    "accept4",
    "connect",
    "bind",
    "listen",
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    /* memory */
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "mincore",
    /* threads, signals, time */
    "futex",
    "clone",
    "clone3",
    "set_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "sigaltstack",
    "tgkill",
    "getpid",
    "gettid",
    "exit",
    "exit_group",
    "restart_syscall",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "gettimeofday",
    "getrandom",
    "prlimit64",
};

/* ioctls after setup: vCPU run/inspect, IRQ lines, isatty/nonblocking. */
static const unsigned long allowed_ioctls[] = {
    KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MP_STATE, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
    TCGETS,  FIONBIO,      FIONREAD,      TUNSETOFFLOAD, /* virtio-net: offloads follow the guest's
							    features on (re)activation */
};

static int drop_capabilities(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		/* EPERM without CAP_SETPCAP (unprivileged run): nothing to drop */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EPERM && errno != EINVAL)
			return -errno;
	}
	cap_t empty = cap_init();
	if (!empty)
		return -errno;
	int r = cap_set_proc(empty) < 0 ? -errno : 0;
	cap_free(empty);
	return r;
}

/* Allow syscall nr when argument `arg` equals `value` (written out rather
 * than with SCMP_A*() so clang's -Wmissing-field-initializers stays quiet). */
static int allow_if(scmp_filter_ctx ctx, int nr, unsigned arg, uint64_t value)
{
	struct scmp_arg_cmp cmp = {.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0};
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int install_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture/libseccomp */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed_ioctls); i++)
		r = allow_if(ctx, SCMP_SYS(ioctl), 1, allowed_ioctls[i]);
	if (r == 0)
		r = allow_if(ctx, SCMP_SYS(socket), 0, AF_UNIX);
	/* pthread_setname_np() on the vCPU threads */
	if (r == 0)
		r = allow_if(ctx, SCMP_SYS(prctl), 0, PR_SET_NAME);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int vmm_jail(bool seccomp)
{
	int r = drop_capabilities();
	if (r < 0) {
		log_error("dropping capabilities: %s", strerror(-r));
		return r;
	}
	if (!seccomp) {
		log_warn("seccomp disabled (--no-seccomp): the VMM runs unconfined");
		return 0;
	}
	r = install_seccomp();
	if (r < 0)
		log_error("installing the seccomp filter: %s", strerror(-r));
	return r;
}
