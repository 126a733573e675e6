// SPDX-License-Identifier: Apache-2.0
/*
 * The last steps before execve, in the order runc's init uses (and for the
 * same reasons):
 *   1. rlimits and oom_score_adj, while still fully privileged;
 *   2. drop the bounding set (needs CAP_SETPCAP, so before changing user);
 *   3. without no_new_privileges, load seccomp now: that needs
 *      CAP_SYS_ADMIN, which the user change below may take away;
 *   4. setgroups/setresgid/setresuid with PR_SET_KEEPCAPS so the permitted
 *      set survives, then set effective/permitted/inheritable and ambient;
 *   5. umask, cwd (as the new user), resolve the executable;
 *   6. with no_new_privileges: set it, then load seccomp as late as possible
 *      so the filter sees only execve itself;
 *   7. execve.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "oci/spec.h"
#include "spawn.h"

static int apply_rlimits(const struct oci_process *p, struct err **err)
{
	for (size_t i = 0; i < p->rlimits_len; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		struct rlimit r = {
		    .rlim_cur = rl->soft == UINT64_MAX ? RLIM_INFINITY : rl->soft,
		    .rlim_max = rl->hard == UINT64_MAX ? RLIM_INFINITY : rl->hard,
		};
		if (setrlimit(rl->resource, &r) < 0)
			return err_set(err, errno, "setrlimit %s", rl->type);
	}
	if (p->io_priority &&
	    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
		    (p->io_priority->class_num << 13) | p->io_priority->priority) < 0)
		return err_set(err, errno, "set ioPriority %s %d", p->io_priority->class_name,
			       p->io_priority->priority);
	if (p->has_oom_score_adj) {
		_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (fd < 0 || write(fd, buf, (size_t)n) < 0)
			return err_set(err, errno, "set oom_score_adj %d", p->oom_score_adj);
	}
	return 0;
}

static int drop_bounding(const struct oci_capabilities *caps, struct err **err)
{
	uint64_t keep = caps ? caps->bounding.mask : 0;
	for (int c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
		if (keep & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return err_set(err, errno, "drop capability %d from the bounding set", c);
	}
	return 0;
}

static int set_user(const struct oci_user *u, struct err **err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_set(err, errno, "PR_SET_KEEPCAPS");
	gid_t *gids = (gid_t *)u->additional_gids; /* uint32_t == gid_t */
	if (setgroups(u->additional_gids_len, gids) < 0)
		return err_set(err, errno, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return err_set(err, errno, "setgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return err_set(err, errno, "setuid %u", u->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err_set(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

static int set_caps(const struct oci_capabilities *caps, struct err **err)
{
	cap_t c = cap_init();
	if (!c)
		return err_set(err, errno, "cap_init");
	const struct {
		const struct oci_capset *set;
		cap_flag_t flag;
	} sets[] = {
	    {caps ? &caps->effective : NULL, CAP_EFFECTIVE},
	    {caps ? &caps->permitted : NULL, CAP_PERMITTED},
	    {caps ? &caps->inheritable : NULL, CAP_INHERITABLE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		if (!sets[i].set)
			continue;
		for (int n = 0; n < 64; n++) {
			cap_value_t v = n;
			if ((sets[i].set->mask & (1ull << n)) &&
			    cap_set_flag(c, sets[i].flag, 1, &v, CAP_SET) < 0) {
				cap_free(c);
				return err_set(err, errno, "capability %d", n);
			}
		}
	}
	int r = cap_set_proc(c);
	cap_free(c);
	if (r < 0)
		return err_set(err, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(err, errno, "clear ambient capabilities");
	for (int n = 0; caps && n < 64; n++) {
		/* An ambient cap must also be permitted and inheritable; the
		 * kernel refuses it otherwise, and runc ignores that error. */
		if ((caps->ambient.mask & (1ull << n)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) < 0 && errno != EPERM)
			return err_set(err, errno, "raise ambient capability %d", n);
	}
	return 0;
}

int agent_exec_lookup(const char *file, char *const *env, char *out, size_t len)
{
	if (strchr(file, '/')) {
		snprintf(out, len, "%s", file);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			path = env[i] + 5;
	int last = -ENOENT;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		int n = (int)(end - p);
		snprintf(out, len, "%.*s%s%s", n, p, n ? "/" : "", file);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			last = -EACCES;
		}
		if (!*end)
			break;
		p = end;
	}
	return last;
}

int agent_proc_exec(const struct oci_process *p, const struct oci_seccomp *sc, struct err **err)
{
	if (!p || p->args.n == 0)
		return err_set(err, 0, "process.args is empty");
	int r = apply_rlimits(p, err);
	if (r < 0)
		return r;
	if ((r = drop_bounding(p->capabilities, err)) < 0)
		return r;
	if (sc && !p->no_new_privileges && (r = agent_seccomp_load(sc, err)) < 0)
		return r;
	if ((r = set_user(&p->user, err)) < 0)
		return r;
	if ((r = set_caps(p->capabilities, err)) < 0)
		return r;
	umask(p->user.has_umask ? p->user.umask : 022);
	if (p->cwd && chdir(p->cwd) < 0)
		return err_set(err, errno, "chdir to cwd %s", p->cwd);
	char exe[PATH_MAX];
	if ((r = agent_exec_lookup(p->args.items[0], p->env.items, exe, sizeof(exe))) < 0)
		return err_set(err, -r, "executable %s", p->args.items[0]);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(err, errno, "PR_SET_NO_NEW_PRIVS");
	if (sc && p->no_new_privileges && (r = agent_seccomp_load(sc, err)) < 0)
		return r;
	char *empty_env[] = {NULL};
	execve(exe, p->args.items, p->env.items ? p->env.items : empty_env);
	return err_set(err, errno, "exec %s", exe);
}

/* ---- seccomp (libseccomp) ---------------------------------------------------------------- */

static int scmp_action(enum oci_seccomp_action a, bool has_errno, uint32_t ret, uint32_t *out)
{
	switch (a) {
	case OCI_SECCOMP_KILL:
	case OCI_SECCOMP_KILL_THREAD:
		*out = SCMP_ACT_KILL_THREAD;
		return 0;
	case OCI_SECCOMP_KILL_PROCESS:
		*out = SCMP_ACT_KILL_PROCESS;
		return 0;
	case OCI_SECCOMP_TRAP:
		*out = SCMP_ACT_TRAP;
		return 0;
	case OCI_SECCOMP_ERRNO:
		*out = SCMP_ACT_ERRNO(has_errno ? ret : EPERM);
		return 0;
	case OCI_SECCOMP_TRACE:
		*out = SCMP_ACT_TRACE(has_errno ? ret : EPERM);
		return 0;
	case OCI_SECCOMP_ALLOW:
		*out = SCMP_ACT_ALLOW;
		return 0;
	case OCI_SECCOMP_LOG:
		*out = SCMP_ACT_LOG;
		return 0;
	default:
		return -EOPNOTSUPP; /* NOTIFY needs a listener the agent does not have */
	}
}

static const enum scmp_compare scmp_ops[] = {
    [OCI_SECCOMP_OP_NE] = SCMP_CMP_NE,
    [OCI_SECCOMP_OP_LT] = SCMP_CMP_LT,
    [OCI_SECCOMP_OP_LE] = SCMP_CMP_LE,
    [OCI_SECCOMP_OP_EQ] = SCMP_CMP_EQ,
    [OCI_SECCOMP_OP_GE] = SCMP_CMP_GE,
    [OCI_SECCOMP_OP_GT] = SCMP_CMP_GT,
    [OCI_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64". */
static uint32_t arch_of(const char *name)
{
	char low[32];
	const char *s = strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
	size_t i = 0;
	for (; s[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	return seccomp_arch_resolve_name(low);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct oci_seccomp_syscall *s)
{
	struct scmp_arg_cmp cmp[6];
	size_t n = s->args_len > 6 ? 6 : s->args_len;
	bool dup = false;
	for (size_t i = 0; i < n; i++) {
		cmp[i] = (struct scmp_arg_cmp){s->args[i].index, scmp_ops[s->args[i].op],
					       s->args[i].value, s->args[i].value_two};
		for (size_t j = 0; j < i; j++)
			if (s->args[j].index == s->args[i].index)
				dup = true;
	}
	/* libseccomp refuses two comparisons of one argument in a rule; runc
	 * then adds one rule per comparison (an OR), as docker's profile
	 * expects for e.g. personality. */
	if (!dup)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp);
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build(const struct oci_seccomp *sc, scmp_filter_ctx *out, struct err **err)
{
	uint32_t def;
	if (scmp_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
			&def) < 0)
		return err_set(err, EOPNOTSUPP, "seccomp: default action %s is not supported",
			       oci_seccomp_action_name(sc->default_action));
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return err_set(err, ENOMEM, "seccomp_init");
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; r == 0 && i < sc->architectures.n; i++) {
		uint32_t arch = arch_of(sc->architectures.items[i]);
		if (!arch)
			continue; /* a name libseccomp does not know: skip, as runc does */
		r = seccomp_arch_add(ctx, arch);
		if (r == -EEXIST)
			r = 0;
	}
	if (r == 0 && (sc->flag_bits & OCI_SECCOMP_FLAG_LOG))
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (r < 0) {
		seccomp_release(ctx);
		return err_set(err, -r, "seccomp: set up filter");
	}
	for (size_t i = 0; i < sc->syscalls_len; i++) {
		const struct oci_seccomp_syscall *s = &sc->syscalls[i];
		uint32_t act;
		if (scmp_action(s->action, s->has_errno_ret, s->errno_ret, &act) < 0) {
			seccomp_release(ctx);
			return err_set(err, EOPNOTSUPP, "seccomp: action %s is not supported",
				       oci_seccomp_action_name(s->action));
		}
		if (act == def)
			continue; /* libseccomp refuses rules equal to the default */
		for (size_t j = 0; j < s->names.n; j++) {
			int nr = seccomp_syscall_resolve_name(s->names.items[j]);
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown here: skipped, as runc does */
			r = add_rule(ctx, act, nr, s);
			if (r < 0) {
				seccomp_release(ctx);
				return err_set(err, -r, "seccomp: rule for %s", s->names.items[j]);
			}
		}
	}
	*out = ctx;
	return 0;
}

int agent_seccomp_check(const struct oci_seccomp *sc, struct err **err)
{
	scmp_filter_ctx ctx;
	int r = build(sc, &ctx, err);
	if (r < 0)
		return r;
	/* Export compiles the BPF program without loading it. */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	r = seccomp_export_bpf(ctx, fd);
	close(fd);
	seccomp_release(ctx);
	if (r < 0)
		return err_set(err, -r, "seccomp: compile filter");
	return 0;
}

int agent_seccomp_load(const struct oci_seccomp *sc, struct err **err)
{
	scmp_filter_ctx ctx;
	int r = build(sc, &ctx, err);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return err_set(err, -r, "seccomp: load filter");
	return 0;
}
