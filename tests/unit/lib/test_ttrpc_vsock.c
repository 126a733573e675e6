// SPDX-License-Identifier: Apache-2.0
/* vsock_hybrid_connect against a fake hybrid-vsock listener (a thread
 * playing the VMM's side of "CONNECT <port>\n" / "OK <n>\n"). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/err.h"
#include "lib/fd.h"
#include "lib/vsock_client.h"

struct fake_vmm {
	char dir[64];
	char path[96];
	int lfd;
	const char *reply; /* written after CONNECT; NULL: close; "": stay silent */
	char got[64];      /* what the client sent */
	pthread_t thread;
};

static void *vmm_main(void *arg)
{
	struct fake_vmm *v = arg;
	int fd = accept(v->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	size_t n = 0;
	while (n + 1 < sizeof(v->got)) {
		if (read(fd, v->got + n, 1) != 1)
			break;
		if (v->got[n++] == '\n')
			break;
	}
	v->got[n] = '\0';
	if (v->reply && *v->reply) {
		fd_write_full(fd, v->reply, strlen(v->reply));
		char ch; /* keep the stream open until the client closes it */
		while (read(fd, &ch, 1) > 0)
			;
	} else if (v->reply) {
		char ch;
		while (read(fd, &ch, 1) > 0)
			;
	}
	close(fd);
	return NULL;
}

static void vmm_start(struct fake_vmm *v, const char *reply, int do_listen)
{
	memset(v, 0, sizeof(*v));
	strcpy(v->dir, "/tmp/ttrpc-vsock-XXXXXX");
	assert_non_null(mkdtemp(v->dir));
	snprintf(v->path, sizeof(v->path), "%s/vm.sock", v->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, v->path);
	v->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(v->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	v->reply = reply;
	if (do_listen) {
		assert_int_equal(listen(v->lfd, 4), 0);
		assert_int_equal(pthread_create(&v->thread, NULL, vmm_main, v), 0);
	}
}

static void vmm_stop(struct fake_vmm *v, int do_listen)
{
	if (do_listen)
		pthread_join(v->thread, NULL);
	close(v->lfd);
	unlink(v->path);
	rmdir(v->dir);
}

static void connect_ok_leaves_stream_bytes(void **state)
{
	struct fake_vmm v;
	vmm_start(&v, "OK 1073741824\nHELLO", 1);
	_cleanup_err_ struct err *err = NULL;
	int fd = vsock_hybrid_connect(v.path, 1024, 2000, &err);
	assert_true(fd >= 0);
	/* bytes after the newline belong to the caller */
	char buf[6] = {0};
	assert_int_equal(fd_read_full(fd, buf, 5), 5);
	assert_string_equal(buf, "HELLO");
	close(fd);
	vmm_stop(&v, 1);
	assert_string_equal(v.got, "CONNECT 1024\n");
}

static void vmm_closes(void **state)
{
	struct fake_vmm v;
	vmm_start(&v, NULL, 1);
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(vsock_hybrid_connect(v.path, 52, 2000, &err), -ECONNRESET);
	assert_non_null(strstr(err_msg(err), "port 52: connection closed by the VMM"));
	vmm_stop(&v, 1);
}

static void garbage_reply(void **state)
{
	struct fake_vmm v;
	vmm_start(&v, "NOPE\x01\n", 1);
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(vsock_hybrid_connect(v.path, 52, 2000, &err), -EPROTO);
	assert_non_null(strstr(err_msg(err), "unexpected reply \"NOPE?\""));
	vmm_stop(&v, 1);

	vmm_start(&v, "OK 12x\n", 1);
	assert_int_equal(vsock_hybrid_connect(v.path, 52, 2000, &err), -EPROTO);
	vmm_stop(&v, 1);

	vmm_start(&v, "OK 1234567890123456789012345678901234567890\n", 1);
	assert_int_equal(vsock_hybrid_connect(v.path, 52, 2000, &err), -EPROTO);
	assert_non_null(strstr(err_msg(err), "reply longer than"));
	vmm_stop(&v, 1);
}

static void silent_vmm_times_out(void **state)
{
	struct fake_vmm v;
	vmm_start(&v, "", 1);
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(vsock_hybrid_connect(v.path, 7, 100, &err), -ETIMEDOUT);
	assert_non_null(strstr(err_msg(err), "no reply within 100 ms"));
	vmm_stop(&v, 1);
}

/* A VMM that does not accept: once its backlog is full, connect() itself
 * must respect the timeout. */
static void full_backlog_times_out(void **state)
{
	struct fake_vmm v;
	vmm_start(&v, NULL, 0);
	assert_int_equal(listen(v.lfd, 0), 0);
	int fill[4];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, v.path);
	int n = 0;
	for (; n < 4; n++) { /* fill the queue without blocking */
		fill[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (connect(fill[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fill[n]);
			break;
		}
	}
	assert_true(n < 4);
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(vsock_hybrid_connect(v.path, 1, 100, &err), -ETIMEDOUT);
	assert_non_null(strstr(err_msg(err), "backlog full"));
	for (int i = 0; i < n; i++)
		close(fill[i]);
	vmm_stop(&v, 0);
}

static void nothing_listening(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	assert_int_equal(vsock_hybrid_connect("/nonexistent/vm.sock", 1, 100, &err), -ENOENT);
	assert_non_null(strstr(err_msg(err), "/nonexistent/vm.sock"));

	struct fake_vmm v;
	vmm_start(&v, NULL, 0); /* bound, not listening */
	assert_int_equal(vsock_hybrid_connect(v.path, 1, 100, &err), -ECONNREFUSED);
	vmm_stop(&v, 0);

	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vsock_hybrid_connect(longpath, 1, 100, &err), -ENAMETOOLONG);
}

static void reply_parser(void **state)
{
	uint32_t port = 0;
	assert_int_equal(vsock_hybrid_reply_parse("OK 0", 4, &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(vsock_hybrid_reply_parse("OK 4294967295", 13, &port), 0);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(vsock_hybrid_reply_parse("OK 4294967296", 13, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK 00000000001", 14, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK ", 3, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK -1", 5, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK 1 ", 5, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK 1\0002", 6, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("ok 1", 4, &port), -EPROTO);
	assert_int_equal(vsock_hybrid_reply_parse("OK 7", 4, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(connect_ok_leaves_stream_bytes),
	    cmocka_unit_test(vmm_closes),
	    cmocka_unit_test(garbage_reply),
	    cmocka_unit_test(silent_vmm_times_out),
	    cmocka_unit_test(full_backlog_times_out),
	    cmocka_unit_test(nothing_listening),
	    cmocka_unit_test(reply_parser),
	};
	return cmocka_run_group_tests_name("lib/vsock_client", tests, NULL, NULL);
}
