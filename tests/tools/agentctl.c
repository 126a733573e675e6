// SPDX-License-Identifier: Apache-2.0
/*
 * agentctl: a small CLI over runtime/agent_client for tests.
 *
 *   agentctl [-a ADDR] ping
 *   agentctl [-a ADDR] run [-i] [-t] [--time] [--keep] -b BUNDLE ID
 *        create + attach stdio + start + wait (+ remove); exits with the
 *        container's exit status
 *   agentctl [-a ADDR] create [-i] [-t] -b BUNDLE ID     prints the init pid
 *   agentctl [-a ADDR] start ID | wait ID [EXEC] | rm [-f] ID
 *   agentctl [-a ADDR] attach ID [EXEC]    copies stdout/stderr (and -i stdin)
 *   agentctl [-a ADDR] exec [-i] [-t] -b BUNDLE ID EXEC -- ARGS...
 *        the bundle's process with these args; exits with its status
 *   agentctl [-a ADDR] kill [--all] ID SIGNAL [EXEC]
 *   agentctl [-a ADDR] closein ID [EXEC] | resize ID WIDTH HEIGHT [EXEC]
 *   agentctl [-a ADDR] ps ID | stats ID | pause ID | resume ID | oom [MS]
 *   agentctl [-a ADDR] update ID [--memory N] [--pids N] [--cpu-quota N]
 *        [--cpu-period N] [--cpu-shares N]
 *
 *   create/run also take --rootfs-block DEV [--rootfs-fstype T] or
 *   --rootfs-virtiofs TAG: the rootfs a guest agent mounts (else the
 *   bundle's rootfs dir, bind-mounted: host mode)
 *
 * ADDR defaults to $HULL_AGENT (unix:PATH, hvsock:PATH or vsock:CID).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"

struct opts {
	const char *bundle;
	const char *rootfs_block, *rootfs_fstype, *rootfs_virtiofs;
	bool in, tty, time, keep, force, all;
	struct rt_agent_resources res;
};

static struct rt_agent *agent;

static int die(struct err **err)
{
	fprintf(stderr, "agentctl: %s\n", err_msg(*err));
	err_free(err);
	return 125;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct copy {
	int in, out;
	bool shut; /* shutdown(out, SHUT_WR) at EOF instead of nothing */
	pthread_t t;
	bool started;
};

static void *copy_main(void *arg)
{
	struct copy *c = arg;
	char buf[32768];
	for (;;) {
		ssize_t n = read(c->in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || fd_write_full(c->out, buf, (size_t)n) < 0)
			break;
	}
	if (c->shut)
		shutdown(c->out, SHUT_WR);
	return NULL;
}

static void copy_start(struct copy *c, int in, int out, bool shut)
{
	*c = (struct copy){.in = in, .out = out, .shut = shut};
	c->started = pthread_create(&c->t, NULL, copy_main, c) == 0;
}

/* The attached streams of one process: [0] stdin, [1] stdout, [2] stderr. */
struct attach {
	int fd[3];
	struct copy cp[3];
};

static int attach_open(const char *id, const char *exec_id, const struct opts *o, struct attach *at,
		       struct err **err)
{
	for (int i = 0; i < 3; i++)
		at->fd[i] = -1;
	memset(at->cp, 0, sizeof(at->cp));
	if (o->tty) {
		at->fd[1] = rt_agent_attach(agent, id, exec_id, "tty", err);
		return at->fd[1] < 0 ? at->fd[1] : 0;
	}
	static const char *names[] = {"stdin", "stdout", "stderr"};
	for (int i = o->in ? 0 : 1; i < 3; i++) {
		at->fd[i] = rt_agent_attach(agent, id, exec_id, names[i], err);
		if (at->fd[i] < 0)
			return at->fd[i];
	}
	return 0;
}

static void attach_run(struct attach *at, const struct opts *o)
{
	if (o->tty) {
		if (o->in)
			copy_start(&at->cp[0], 0, at->fd[1], false);
		copy_start(&at->cp[1], at->fd[1], 1, false);
		return;
	}
	if (at->fd[0] >= 0)
		copy_start(&at->cp[0], 0, at->fd[0], true);
	copy_start(&at->cp[1], at->fd[1], 1, false);
	copy_start(&at->cp[2], at->fd[2], 2, false);
}

/* Output is complete once stdout/stderr hit EOF. */
static void attach_finish(struct attach *at)
{
	for (int i = 1; i < 3; i++)
		if (at->cp[i].started)
			pthread_join(at->cp[i].t, NULL);
	for (int i = 0; i < 3; i++)
		if (at->fd[i] >= 0 && i != 0)
			close(at->fd[i]);
}

static int load_bundle(const char *bundle, char **json, size_t *len, char *rootfs, struct err **err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int r = fd_read_file(path, json, len, OCI_MAX_SIZE);
	if (r < 0)
		return err_set(err, -r, "read %s", path);
	struct oci_spec *spec = NULL;
	if ((r = oci_spec_parse(*json, *len, &spec, err)) < 0)
		return err_wrap(err, "%s", path);
	const char *root = spec->root && spec->root->path ? spec->root->path : "rootfs";
	char tmp[PATH_MAX * 2];
	if (root[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", root);
	else
		snprintf(tmp, sizeof(tmp), "%s/%s", bundle, root);
	oci_spec_free(spec);
	if (!realpath(tmp, rootfs))
		return err_set(err, errno, "rootfs %s", tmp);
	return 0;
}

static int do_create(const char *id, const struct opts *o, pid_t *pid, struct err **err)
{
	if (!o->bundle)
		return err_set(err, 0, "create: -b BUNDLE is required");
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	char rootfs[PATH_MAX];
	int r = load_bundle(o->bundle, &json, &len, rootfs, err);
	if (r < 0)
		return r;
	struct rt_agent_create req = {
	    .id = id,
	    .spec_json = json,
	    .spec_len = len,
	    .rootfs = {.type = RT_AGENT_ROOTFS_BIND, .source = rootfs},
	    .stdio = {o->in && !o->tty, !o->tty, !o->tty, o->tty},
	};
	/* A guest agent cannot see the bundle: the rootfs comes by device. */
	if (o->rootfs_block)
		req.rootfs = (struct rt_agent_rootfs){.type = RT_AGENT_ROOTFS_BLOCK,
						      .source = o->rootfs_block,
						      .fstype = o->rootfs_fstype};
	else if (o->rootfs_virtiofs)
		req.rootfs = (struct rt_agent_rootfs){.type = RT_AGENT_ROOTFS_VIRTIOFS,
						      .source = o->rootfs_virtiofs};
	return rt_agent_create_container(agent, &req, pid, err);
}

static int report_exit(const struct rt_agent_exit *ex)
{
	if (ex->oom_killed)
		fprintf(stderr, "agentctl: OOM-killed\n");
	return ex->status;
}

static int cmd_run(const char *id, const struct opts *o, struct err **err)
{
	double t0 = now_ms();
	pid_t pid;
	int r = do_create(id, o, &pid, err);
	if (r < 0)
		return die(err);
	struct attach at;
	if (attach_open(id, NULL, o, &at, err) < 0 ||
	    rt_agent_start_container(agent, id, err) < 0) {
		int rc = die(err);
		rt_agent_remove_container(agent, id, true, NULL);
		return rc;
	}
	if (o->time)
		fprintf(stderr, "agentctl: create+start %.1f ms\n", now_ms() - t0);
	attach_run(&at, o);
	struct rt_agent_exit ex;
	r = rt_agent_wait_process(agent, id, NULL, 0, &ex, err);
	attach_finish(&at);
	if (r < 0)
		return die(err);
	if (!o->keep && rt_agent_remove_container(agent, id, false, err) < 0)
		return die(err);
	return report_exit(&ex);
}

static int cmd_exec(const char *id, const char *exec_id, char **args, int nargs,
		    const struct opts *o, struct err **err)
{
	if (!o->bundle || nargs < 1)
		return err_set(err, 0, "exec: -b BUNDLE and -- ARGS are required"), die(err);
	_cleanup_free_ char *json = NULL;
	size_t len;
	char rootfs[PATH_MAX];
	struct oci_spec *spec = NULL;
	if (load_bundle(o->bundle, &json, &len, rootfs, err) < 0 ||
	    oci_spec_parse(json, len, &spec, err) < 0)
		return die(err);
	struct oci_process *p = spec->process;
	char **old = p->args.items;
	size_t oldn = p->args.n;
	p->args.items = args;
	p->args.n = (size_t)nargs;
	p->terminal = o->tty;
	_cleanup_free_ char *pj = NULL;
	size_t pl = 0;
	int r = oci_process_to_json(p, &pj, &pl, err);
	p->args.items = old;
	p->args.n = oldn;
	oci_spec_free(spec);
	if (r < 0)
		return die(err);
	struct rt_agent_stdio st = {o->in && !o->tty, !o->tty, !o->tty, o->tty};
	pid_t pid;
	if (rt_agent_exec_process(agent, id, exec_id, pj, pl, &st, &pid, err) < 0)
		return die(err);
	struct attach at;
	if (attach_open(id, exec_id, o, &at, err) < 0)
		return die(err);
	attach_run(&at, o);
	struct rt_agent_exit ex;
	r = rt_agent_wait_process(agent, id, exec_id, 0, &ex, err);
	attach_finish(&at);
	return r < 0 ? die(err) : report_exit(&ex);
}

static int cmd_simple(const char *cmd, int argc, char **argv, const struct opts *o,
		      struct err **err)
{
	const char *id = argc > 0 ? argv[0] : NULL;
	if (!id)
		return err_set(err, 0, "%s: container id missing", cmd), die(err);
	int r = 0;
	if (!strcmp(cmd, "start")) {
		r = rt_agent_start_container(agent, id, err);
	} else if (!strcmp(cmd, "rm")) {
		r = rt_agent_remove_container(agent, id, o->force, err);
	} else if (!strcmp(cmd, "pause")) {
		r = rt_agent_pause(agent, id, err);
	} else if (!strcmp(cmd, "resume")) {
		r = rt_agent_resume(agent, id, err);
	} else if (!strcmp(cmd, "update")) {
		r = rt_agent_update(agent, id, &o->res, err);
	} else if (!strcmp(cmd, "wait")) {
		struct rt_agent_exit ex;
		r = rt_agent_wait_process(agent, id, argc > 1 ? argv[1] : NULL, 0, &ex, err);
		if (r == 0) {
			printf("%d%s\n", ex.status, ex.oom_killed ? " oom" : "");
			return ex.status;
		}
	} else if (!strcmp(cmd, "closein")) {
		r = rt_agent_close_stdin(agent, id, argc > 1 ? argv[1] : NULL, err);
	} else if (!strcmp(cmd, "resize")) {
		if (argc < 3)
			return err_set(err, 0, "resize: ID WIDTH HEIGHT [EXEC]"), die(err);
		r = rt_agent_resize_tty(agent, id, argc > 3 ? argv[3] : NULL,
					(unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]), err);
	} else if (!strcmp(cmd, "kill")) {
		int sig = argc > 1 ? atoi(argv[1]) : SIGTERM;
		r = rt_agent_signal_process(agent, id, argc > 2 ? argv[2] : NULL, sig, o->all, err);
	} else if (!strcmp(cmd, "attach")) {
		struct attach at;
		if (attach_open(id, argc > 1 ? argv[1] : NULL, o, &at, err) < 0)
			return die(err);
		attach_run(&at, o);
		attach_finish(&at);
	} else if (!strcmp(cmd, "ps")) {
		struct rt_agent_process *ps = NULL;
		size_t n = 0;
		r = rt_agent_list_processes(agent, id, &ps, &n, err);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("%d %s %s\n", (int)ps[i].pid, ps[i].exec_id[0] ? ps[i].exec_id : "-",
			       ps[i].cmdline);
		rt_agent_processes_free(ps, n);
	} else if (!strcmp(cmd, "stats")) {
		struct rt_agent_stats s;
		r = rt_agent_stats(agent, id, &s, err);
		if (r == 0)
			printf("cpu_usage_usec=%llu\nmemory_usage=%llu\nmemory_limit=%llu\n"
			       "memory_oom_kill=%llu\npids_current=%llu\npids_limit=%llu\n"
			       "io_read_bytes=%llu\nio_write_bytes=%llu\n",
			       (unsigned long long)s.cpu_usage_usec,
			       (unsigned long long)s.memory_usage,
			       (unsigned long long)s.memory_limit,
			       (unsigned long long)s.memory_oom_kill,
			       (unsigned long long)s.pids_current, (unsigned long long)s.pids_limit,
			       (unsigned long long)s.io_read_bytes,
			       (unsigned long long)s.io_write_bytes);
	} else {
		return err_set(err, 0, "unknown command %s", cmd), die(err);
	}
	return r < 0 ? die(err) : 0;
}

/* One option; false when unknown. */
static bool parse_opt(int c, struct opts *o, const char **addr)
{
	switch (c) {
	case 'a':
		*addr = optarg;
		break;
	case 'b':
		o->bundle = optarg;
		break;
	case 'i':
		o->in = true;
		break;
	case 't':
		o->tty = true;
		break;
	case 'T':
		o->time = true;
		break;
	case 'k':
		o->keep = true;
		break;
	case 'f':
		o->force = true;
		break;
	case 'A':
		o->all = true;
		break;
	case 'm':
		o->res.memory_limit = strtoll(optarg, NULL, 0);
		break;
	case 'p':
		o->res.pids_limit = strtoll(optarg, NULL, 0);
		break;
	case 'q':
		o->res.cpu_quota = strtoll(optarg, NULL, 0);
		break;
	case 'P':
		o->res.cpu_period = strtoull(optarg, NULL, 0);
		break;
	case 's':
		o->res.cpu_shares = strtoull(optarg, NULL, 0);
		break;
	case 'D':
		o->rootfs_block = optarg;
		break;
	case 'F':
		o->rootfs_fstype = optarg;
		break;
	case 'V':
		o->rootfs_virtiofs = optarg;
		break;
	default:
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"addr", required_argument, NULL, 'a'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"time", no_argument, NULL, 'T'},
	    {"keep", no_argument, NULL, 'k'},
	    {"force", no_argument, NULL, 'f'},
	    {"all", no_argument, NULL, 'A'},
	    {"memory", required_argument, NULL, 'm'},
	    {"pids", required_argument, NULL, 'p'},
	    {"cpu-quota", required_argument, NULL, 'q'},
	    {"cpu-period", required_argument, NULL, 'P'},
	    {"cpu-shares", required_argument, NULL, 's'},
	    {"rootfs-block", required_argument, NULL, 'D'},
	    {"rootfs-fstype", required_argument, NULL, 'F'},
	    {"rootfs-virtiofs", required_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	const char *addr = getenv("HULL_AGENT");
	int c;
	while ((c = getopt_long(argc, argv, "+a:b:itf", lopts, NULL)) != -1) {
		if (!parse_opt(c, &o, &addr))
			return 2;
	}
	if (optind >= argc || !addr) {
		fprintf(stderr, "usage: agentctl [-a unix:PATH|hvsock:PATH] COMMAND ... "
				"(see tests/tools/agentctl.c)\n");
		return 2;
	}
	const char *cmd = argv[optind++];
	/* Options may also follow the command, anywhere before "--"
	 * (agentctl update ID --memory N): a fresh, permuting getopt over
	 * the command's own argv (optind 0 resets getopt's state). */
	int sargc = argc - optind + 1;
	char **sargv = argv + optind - 1;
	optind = 0;
	while ((c = getopt_long(sargc, sargv, "a:b:itf", lopts, NULL)) != -1) {
		if (!parse_opt(c, &o, &addr))
			return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct err *err = NULL;
	if (rt_agent_connect(addr, 5000, &agent, &err) < 0)
		return die(&err);
	int rest = sargc - optind;
	char **av = sargv + optind;
	int rc;
	if (!strcmp(cmd, "ping")) {
		_cleanup_free_ char *v = NULL;
		rc = rt_agent_ping(agent, &v, &err) < 0 ? die(&err) : (printf("%s\n", v), 0);
	} else if (!strcmp(cmd, "run")) {
		rc = rest < 1 ? 2 : cmd_run(av[0], &o, &err);
	} else if (!strcmp(cmd, "create")) {
		pid_t pid;
		rc = rest < 1 ? 2 : do_create(av[0], &o, &pid, &err) < 0 ? die(&err) : 0;
		if (rc == 0 && rest >= 1)
			printf("%d\n", (int)pid);
	} else if (!strcmp(cmd, "exec")) {
		int dd = 2;
		if (rest > 2 && !strcmp(av[2], "--"))
			dd = 3;
		rc = rest < 3 ? 2 : cmd_exec(av[0], av[1], av + dd, rest - dd, &o, &err);
	} else if (!strcmp(cmd, "oom")) {
		_cleanup_free_ char *id = NULL;
		uint64_t n = 0;
		int ms = rest > 0 ? atoi(av[0]) : 10000;
		rc = rt_agent_get_oom_event(agent, ms, &id, &n, &err) < 0
			 ? die(&err)
			 : (printf("%s %llu\n", id, (unsigned long long)n), 0);
	} else {
		rc = cmd_simple(cmd, rest, av, &o, &err);
	}
	fflush(stdout);
	rt_agent_free(agent);
	return rc;
}
