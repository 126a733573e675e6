// SPDX-License-Identifier: Apache-2.0
/* runtime: state.json, id rules, the --root store with its locks, host process liveness. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/sandbox.h"
#include "runtime/state.h"

static char root[64];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/hull-test-state.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void state_fill(struct rt_state *st, const char *id)
{
	memset(st, 0, sizeof(*st));
	st->id = strdup(id);
	st->bundle = strdup("/bundles/b1");
	st->created = strdup("2026-11-21T08:00:00.000000001Z");
	st->status = RT_STATUS_CREATED;
}

static void ids(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(rt_id_validate("abc-DEF_1.2+3", &err), 0);
	static const char *const bad[] = {"", ".", "..", "a/b", "a b", "ä", "x\n", "../x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rt_id_validate(bad[i], &err), -EINVAL);
		assert_non_null(strstr(err_msg(err), "invalid id format"));
	}
	char longid[RT_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[RT_ID_MAX + 1] = '\0';
	assert_int_equal(rt_id_validate(longid, NULL), -EINVAL);
	longid[RT_ID_MAX] = '\0';
	assert_int_equal(rt_id_validate(longid, NULL), 0);
}

static void json_round_trip(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct rt_state a, b;
	state_fill(&a, "c1");
	a.rootfs = strdup("/bundles/b1/rootfs");
	a.vmm = (struct rt_proc){.pid = 1234, .start = 98765};
	a.vsock = strdup("/run/hull/c1/vsock.sock");
	a.annotations.items = calloc(1, sizeof(*a.annotations.items));
	a.annotations.items[0].key = strdup("io.x/\"quoted\"");
	a.annotations.items[0].value = strdup("v\n1");
	a.annotations.n = 1;
	a.virtiofsd = calloc(1, sizeof(*a.virtiofsd));
	a.virtiofsd[0] = (struct rt_virtiofsd){.proc = {.pid = 7, .start = 8},
					       .socket = strdup("/run/hull/c1/fs0.sock"),
					       .shared = strdup("/bundles/b1/rootfs")};
	a.n_virtiofsd = 1;

	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	assert_int_equal(rt_state_to_json(&a, &json, &len, &err), 0);
	assert_int_equal(rt_state_parse(json, len, &b, &err), 0);
	assert_string_equal(b.id, "c1");
	assert_string_equal(b.bundle, "/bundles/b1");
	assert_string_equal(b.rootfs, "/bundles/b1/rootfs");
	assert_int_equal(b.vmm.pid, 1234);
	assert_int_equal(b.vmm.start, 98765);
	assert_int_equal(b.status, RT_STATUS_CREATED);
	assert_string_equal(b.created, a.created);
	assert_int_equal(b.annotations.n, 1);
	assert_string_equal(b.annotations.items[0].key, "io.x/\"quoted\"");
	assert_string_equal(b.annotations.items[0].value, "v\n1");
	assert_int_equal(b.n_virtiofsd, 1);
	assert_int_equal(b.virtiofsd[0].proc.pid, 7);
	assert_string_equal(b.virtiofsd[0].socket, "/run/hull/c1/fs0.sock");
	assert_null(b.console_log);
	rt_state_free(&a);
	rt_state_free(&b);
}

/* The pod network's record: what teardown needs to find again. */
static void json_network(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct rt_state a, b;
	state_fill(&a, "n1");
	a.netns = strdup("/run/netns/pod1");
	a.net_links = calloc(2, sizeof(char *));
	a.net_links[0] = strdup("eth0");
	a.net_links[1] = strdup("net1");
	a.n_net_links = 2;
	char *json = NULL;
	size_t len = 0;
	assert_int_equal(rt_state_to_json(&a, &json, &len, &err), 0);
	assert_int_equal(rt_state_parse(json, len, &b, &err), 0);
	assert_string_equal(b.netns, "/run/netns/pod1");
	assert_int_equal(b.n_net_links, 2);
	assert_string_equal(b.net_links[0], "eth0");
	assert_string_equal(b.net_links[1], "net1");
	free(json);
	rt_state_free(&a);
	rt_state_free(&b);
	/* no network: no fields at all (older readers keep working) */
	state_fill(&a, "n2");
	assert_int_equal(rt_state_to_json(&a, &json, &len, &err), 0);
	assert_null(strstr(json, "netns"));
	free(json);
	rt_state_free(&a);
}

static void json_refusals(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	    {"{\"id\":\"c\",\"bundle\":\"/b\"}", "created: required field missing"},
	    {"{\"id\":\"c/d\",\"bundle\":\"/b\",\"created\":\"t\"}", "invalid id format: c/d"},
	    {"{\"id\":\"c\",\"bundle\":\"b\",\"created\":\"t\"}",
	     "bundle: expected an absolute path"},
	    {"{\"id\":\"c\",\"bundle\":\"/b\",\"created\":\"t\",\"pid\":-1}",
	     "pid: expected an integer in 0..2147483647"},
	    {"{\"id\":\"c\",\"bundle\":\"/b\",\"created\":\"t\",\"pid\":1.5}", "pid: expected"},
	    {"{\"id\":\"c\",\"bundle\":\"/b\",\"created\":\"t\",\"status\":\"odd\"}",
	     "status: expected"},
	    {"{\"id\":\"c\",\"id\":\"d\"}", "id: duplicate field"},
	    {"{\"id\":\"c\",\"color\":1}", "color: unknown field"},
	    {"{\"annotations\":{\"k\":1}}", "annotations.k: expected a string"},
	    {"{\"virtiofsd\":[{\"pid\":\"x\"}]}", "virtiofsd[0].pid: expected an integer"},
	    {"{\"virtiofsd\":{}}", "virtiofsd: expected an array"},
	    {"{\"netns\":\"run/netns/x\"}", "netns: expected an absolute path"},
	    {"{\"net_links\":[\"eth0\",\"a/b\"]}", "net_links[1]: not an interface name"},
	    {"{\"net_links\":[\"0123456789abcdef\"]}", "net_links[0]: not an interface name"},
	    {"{\"net_links\":[\"\"]}", "net_links[0]: not an interface name"},
	    {"{\"net_links\":[1]}", "net_links[0]: expected a string"},
	    {"{\"net_links\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
	     "net_links: more than 8 entries"},
	    {"[1]", "expected a JSON object"},
	    {"{\"id\":", "invalid JSON"},
	    {"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", "nested deeper than"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_err_ struct err *err = NULL;
		struct rt_state st;
		int r = rt_state_parse(cases[i].json, strlen(cases[i].json), &st, &err);
		assert_true(r < 0);
		if (!strstr(err_msg(err), cases[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err_msg(err),
				 cases[i].msg);
	}
	/* a NUL byte inside is refused rather than silently cut */
	_cleanup_err_ struct err *err = NULL;
	struct rt_state st;
	assert_true(rt_state_parse("{\"id\":\"c\0\"}", 10, &st, &err) < 0);
	assert_non_null(strstr(err_msg(err), "NUL"));
}

static void store_lifecycle(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct rt_state st;
	struct rt_container *c = NULL, *d = NULL;

	state_fill(&st, "one");
	assert_int_equal(rt_container_create(root, &st, &c, &err), 0);
	assert_null(st.id); /* moved into the handle */
	state_fill(&st, "one");
	assert_int_equal(rt_container_create(root, &st, &d, &err), -EEXIST);
	assert_string_equal(err_msg(err), "container with id one already exists");
	rt_state_free(&st);

	c->state.status = RT_STATUS_RUNNING;
	assert_int_equal(rt_container_save(c, &err), 0);
	rt_container_close(c);

	state_fill(&st, "two");
	assert_int_equal(rt_container_create(root, &st, &c, &err), 0);
	rt_container_close(c);

	char **list;
	size_t n;
	assert_int_equal(rt_container_list(root, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "one");
	assert_string_equal(list[1], "two");
	rt_strv_free(list, n);

	assert_int_equal(rt_container_open(root, "one", false, &c, &err), 0);
	assert_int_equal(c->state.status, RT_STATUS_RUNNING);
	assert_int_equal(c->owner, getuid());
	/* a shared lock may read, never write */
	assert_int_equal(rt_container_save(c, &err), -EPERM);
	assert_int_equal(rt_container_remove(c, &err), -EPERM);
	rt_container_close(c);

	assert_int_equal(rt_container_open(root, "one", true, &c, &err), 0);
	/* files a sandbox left in its directory go with it */
	int fd = openat(c->dirfd, "console.log", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rt_container_remove(c, &err), 0);
	rt_container_close(c);
	assert_int_equal(rt_container_open(root, "one", false, &c, &err), -ENOENT);
	assert_string_equal(err_msg(err), "container one does not exist");
	assert_int_equal(rt_container_open(root, "../x", false, &c, &err), -EINVAL);

	/* a directory without state.json is a create that died: it does not exist,
	 * and remove_stale clears it, but never a real container */
	char path[128];
	snprintf(path, sizeof(path), "%s/half", root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rt_container_open(root, "half", false, &c, &err), -ENOENT);
	assert_int_equal(rt_container_remove_stale(root, "half", &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rt_container_remove_stale(root, "half", &err), 0);
	assert_int_equal(rt_container_remove_stale(root, "two", &err), -EEXIST);

	/* a --root whose parents are missing is made, as runc's MkdirAll does */
	char deep[128];
	snprintf(deep, sizeof(deep), "%s/a/b/c", root);
	state_fill(&st, "three");
	assert_int_equal(rt_container_create(deep, &st, &c, &err), 0);
	rt_container_close(c);
	struct stat sb;
	assert_int_equal(stat(deep, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
}

/* Two processes each add 1 to a counter kept in state.json, N times, under the
 * exclusive lock: without mutual exclusion updates get lost. */
#define ROUNDS 200
static void bump(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct rt_container *c = NULL;
		if (rt_container_open(root, "counter", true, &c, NULL) < 0)
			_exit(2);
		int v = atoi(c->state.created);
		usleep(50); /* widen the window a lost update needs */
		free(c->state.created);
		if (asprintf(&c->state.created, "%d", v + 1) < 0 || rt_container_save(c, NULL) < 0)
			_exit(3);
		rt_container_close(c);
	}
	_exit(0);
}

static void store_concurrency(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct rt_state st;
	struct rt_container *c = NULL;
	state_fill(&st, "counter");
	free(st.created);
	st.created = strdup("0");
	assert_int_equal(rt_container_create(root, &st, &c, &err), 0);
	rt_container_close(c);

	pid_t p[2];
	for (int i = 0; i < 2; i++) {
		p[i] = fork();
		assert_true(p[i] >= 0);
		if (p[i] == 0)
			bump();
	}
	/* readers meanwhile never see a torn state.json */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(rt_container_open(root, "counter", false, &c, &err), 0);
		rt_container_close(c);
	}
	for (int i = 0; i < 2; i++) {
		int ws;
		assert_int_equal(waitpid(p[i], &ws, 0), p[i]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	assert_int_equal(rt_container_open(root, "counter", true, &c, &err), 0);
	assert_int_equal(atoi(c->state.created), 2 * ROUNDS);

	/* a waiter whose container is removed while it waits gets "does not exist" */
	pid_t w = fork();
	assert_true(w >= 0);
	if (w == 0) {
		/* flock belongs to the open file, which fork shares: let go of ours */
		close(c->dirfd);
		struct rt_container *x = NULL;
		_exit(rt_container_open(root, "counter", true, &x, NULL) == -ENOENT ? 0 : 1);
	}
	usleep(100000);
	assert_int_equal(rt_container_remove(c, &err), 0);
	rt_container_close(c);
	int ws;
	assert_int_equal(waitpid(w, &ws, 0), w);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

static void liveness(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	/* Not our child: a grandchild, as a real VMM is for a later hull command. */
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		pid_t g = fork();
		if (g == 0) {
			execlp("sleep", "sleep", "60", (char *)NULL);
			_exit(127);
		}
		ssize_t w = write(pipefd[1], &g, sizeof(g));
		_exit(w == sizeof(g) ? 0 : 1);
	}
	pid_t g;
	assert_int_equal(read(pipefd[0], &g, sizeof(g)), sizeof(g));
	close(pipefd[0]);
	close(pipefd[1]);
	waitpid(mid, NULL, 0);

	struct rt_state st;
	struct rt_container *c = NULL;
	state_fill(&st, "live");
	assert_int_equal(rt_proc_get(g, &st.vmm), 0);
	assert_true(rt_proc_alive(&st.vmm));
	assert_int_equal(rt_state_status(&st), RT_STATUS_CREATED);
	/* same pid, another start time: a reused pid is not ours */
	struct rt_proc other = {.pid = g, .start = st.vmm.start + 1};
	assert_false(rt_proc_alive(&other));
	assert_int_equal(rt_proc_kill(&other, 100), 0);
	assert_int_equal(kill(g, 0), 0);

	assert_int_equal(rt_container_create(root, &st, &c, &err), 0);
	assert_int_equal(rt_sandbox_destroy(c, &err), 0);
	rt_container_close(c);
	/* killed, and the state directory is gone with it */
	assert_int_equal(rt_proc_start_time(g, &other.start), -ESRCH);
	assert_int_equal(rt_container_open(root, "live", false, &c, &err), -ENOENT);

	struct rt_state dead = {.vmm = {.pid = g, .start = 1}, .status = RT_STATUS_RUNNING};
	assert_int_equal(rt_state_status(&dead), RT_STATUS_STOPPED);
	dead.vmm.pid = 0;
	assert_int_equal(rt_state_status(&dead), RT_STATUS_STOPPED);
	dead.status = RT_STATUS_CREATING;
	assert_int_equal(rt_state_status(&dead), RT_STATUS_CREATING);
	assert_string_equal(rt_status_name(RT_STATUS_PAUSED), "paused");
	assert_int_equal(rt_status_parse("stopped"), RT_STATUS_STOPPED);
	assert_int_equal(rt_status_parse("gone"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ids),
	    cmocka_unit_test(json_round_trip),
	    cmocka_unit_test(json_refusals),
	    cmocka_unit_test(json_network),
	    cmocka_unit_test_setup_teardown(store_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(store_concurrency, setup, teardown),
	    cmocka_unit_test_setup_teardown(liveness, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
