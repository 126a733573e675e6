// SPDX-License-Identifier: Apache-2.0
/* The process table and the reaper: exits are recorded whether they happen
 * before or after a process is registered; 128+signal for signalled ones. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../guest-agent/agent.h"
#include "lib/cleanup.h"

static struct agent agent;

static int setup(void **state)
{
	struct err *err = NULL;
	if (agent_init(&agent, NULL, "/tmp", false, &err) < 0 ||
	    agent_reaper_start(&agent, &err) < 0)
		return -1;
	return 0;
}

static pid_t spawn(int code, bool sleep_first)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (sleep_first)
			sleep(30);
		_exit(code);
	}
	return pid;
}

static int wait_for(struct agent_proc *p, int64_t ms)
{
	pthread_mutex_lock(&agent.lock);
	int r = agent_proc_wait_locked(&agent, p, agent_now_ns(CLOCK_MONOTONIC) + ms * 1000000);
	pthread_mutex_unlock(&agent.lock);
	return r;
}

static void exit_before_register_is_kept(void **state)
{
	struct agent_proc *p = agent_proc_new("early");
	p->pid = spawn(7, false);
	/* Let the reaper see the exit before the process is known. */
	nanosleep(&(struct timespec){0, 200000000}, NULL);
	agent_proc_register(&agent, p);
	assert_int_equal(wait_for(p, 5000), 0);
	assert_int_equal(p->state, PROC_EXITED);
	assert_int_equal(agent_proc_exit_code(p), 7);
	agent_proc_free(p);
}

static void killed_process_reports_128_plus_signal(void **state)
{
	/* A container holds the process so the reaper finds it. */
	struct agent_container c = {.id = (char *)"t"};
	struct agent_proc *p = agent_proc_new("");
	p->ctr = &c;
	p->pid = spawn(0, true);
	c.procs = p;
	pthread_mutex_lock(&agent.lock);
	agent.containers = &c;
	pthread_mutex_unlock(&agent.lock);
	agent_proc_register(&agent, p);
	assert_int_equal(wait_for(p, 100), -ETIMEDOUT);
	kill(p->pid, SIGKILL);
	assert_int_equal(wait_for(p, 5000), 0);
	assert_int_equal(agent_proc_exit_code(p), 137);
	pthread_mutex_lock(&agent.lock);
	agent.containers = NULL;
	pthread_mutex_unlock(&agent.lock);
	agent_proc_free(p);
}

static void ids_are_checked(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(agent_id_check("id", "abc-DEF_1.2", &err), 0);
	assert_int_equal(agent_id_check("id", "..", &err), -EINVAL);
	assert_int_equal(agent_id_check("id", "a b", &err), -EINVAL);
	char long_id[AGENT_ID_MAX + 2];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(agent_id_check("id", long_id, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exit_before_register_is_kept),
	    cmocka_unit_test(killed_process_reports_128_plus_signal),
	    cmocka_unit_test(ids_are_checked),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
