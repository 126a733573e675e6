// SPDX-License-Identifier: Apache-2.0
/*
 * ttrpc round-trip latency over a unix socket: a hull ttrpc server on one
 * end of an AF_UNIX socketpair, a client on the other, N unary calls of an
 * empty message timed one by one. Prints median, p90, p99 and mean, then the
 * throughput of 8 threads calling at once on the same connection.
 *
 *   ttrpc_bench [CALLS]      (default 10000, after 1000 warm-up calls)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/ttrpc.h"

static int empty(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	return 0;
}

static const struct ttrpc_method methods[] = {{"hull.bench.v1.Bench", "Empty", empty}};

struct srv {
	struct ttrpc_server *s;
	int fd;
};

static void *serve(void *arg)
{
	struct srv *sv = arg;
	ttrpc_server_serve_conn(sv->s, sv->fd);
	return NULL;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int one_call(struct ttrpc_client *c)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int r = ttrpc_client_call(c, "hull.bench.v1.Bench", "Empty", NULL, 0, NULL, 0, 0, &out,
	                          &len, NULL);
	free(out);
	return r;
}

struct par {
	struct ttrpc_client *c;
	long calls;
	int failed;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	for (long i = 0; i < p->calls; i++)
		if (one_call(p->c) < 0)
			p->failed = 1;
	return NULL;
}

/* 8 callers sharing one client: calls per second. */
static int bench_parallel(struct ttrpc_client *c, long n)
{
	pthread_t t[8];
	struct par p[8];
	double start = now_us();
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){.c = c, .calls = n / 8};
		if (pthread_create(&t[i], NULL, par_main, &p[i]) != 0)
			return -1;
	}
	int failed = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failed |= p[i].failed;
	}
	double total = now_us() - start;
	if (failed)
		return -1;
	printf("  8 concurrent callers, one connection: %.0f calls/s\n",
	       (double)(n / 8 * 8) / (total / 1e6));
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	if (n <= 0)
		n = 10000;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		perror("socketpair");
		return 1;
	}
	struct srv sv = {.fd = sp[0]};
	struct ttrpc_client *c;
	pthread_t t;
	if (ttrpc_server_new(methods, 1, NULL, &sv.s) < 0 ||
	    pthread_create(&t, NULL, serve, &sv) != 0 || ttrpc_client_new(sp[1], &c) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	double *lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 1;
	for (int i = 0; i < 1000; i++)
		if (one_call(c) < 0) {
			fprintf(stderr, "warm-up call failed\n");
			return 1;
		}
	double start = now_us();
	for (long i = 0; i < n; i++) {
		double t0 = now_us();
		int r = one_call(c);
		lat[i] = now_us() - t0;
		if (r < 0) {
			fprintf(stderr, "call %ld failed: %s\n", i, strerror(-r));
			return 1;
		}
	}
	double total = now_us() - start;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("ttrpc unary round trip over a unix socketpair, empty message, %ld calls:\n", n);
	printf("  median %.1f us  p90 %.1f us  p99 %.1f us  mean %.1f us  (%.0f calls/s)\n",
	       lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], total / (double)n,
	       (double)n / (total / 1e6));
	free(lat);
	if (bench_parallel(c, n) < 0) {
		fprintf(stderr, "parallel calls failed\n");
		return 1;
	}
	ttrpc_client_free(c);
	pthread_join(t, NULL);
	ttrpc_server_free(sv.s);
	return 0;
}
