// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket: a unix stream socket taking one JSON object per line
 * and answering one JSON object per line, on the event-loop thread.
 *
 *   {"cmd": "status"}  -> {"ok": true, "state": "running", "vcpus": 2, "mem_mib": 128}
 *   {"cmd": "pause"}   -> {"ok": true}         vCPUs leave KVM_RUN and wait
 *   {"cmd": "resume"}  -> {"ok": true}
 *   {"cmd": "stop"}    -> {"ok": true}         orderly stop, hull-vmm exits 0
 *   {"cmd": "memory"}  -> {"ok": true, "guest_mib": 128, "guest_resident_kib": N,
 *                          "vmm_rss_kib": N}
 *   {"cmd": "balloon", "target_mib": N}  -> {"ok": true}  (with --balloon)
 *   anything else      -> {"ok": false, "error": "..."}
 * With a balloon, "memory" adds the guest's own view: "balloon_target_mib",
 * "balloon_actual_mib", and once reported "guest_free_kib",
 * "guest_available_kib", "guest_total_kib".
 *
 * A client is trusted as much as whoever can reach the socket path (mode
 * 0600 by default); still, requests are untrusted input: bounded (4 KiB per
 * line, nesting, value count) by lib_json_parse, and bad JSON only earns an
 * error reply (tests/fuzz/fuzz_vmm_control.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "control.h"
#include "control_req.h"
#include "devices.h"
#include "lib/fd.h"
#include "lib/json.h"
#include "lib/log.h"

#define MAX_CLIENTS 8

struct client {
	int fd;
	char buf[VMM_CONTROL_LINE_MAX];
	size_t len;
	struct vmm_control *ctl;
};

struct vmm_control {
	struct vmm_vm *vm;
	struct virtio_dev *balloon;
	int listen_fd;
	char *path;
	struct client clients[MAX_CLIENTS];
};

static void client_close(struct client *c)
{
	vmm_loop_del(c->ctl->vm->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Pages of guest RAM actually backed by host memory (touched on demand). */
static uint64_t guest_resident_kib(const struct vmm_mem *mem)
{
	if (mem->n_regions == 0 || mem->fd < 0)
		return 0;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = mem->total / (uint64_t)page, resident = 0;
	unsigned char vec[4096];
	uint8_t *base = mem->regions[0].hva;
	for (uint64_t p = 0; p < pages; p += sizeof(vec)) {
		uint64_t n = pages - p < sizeof(vec) ? pages - p : sizeof(vec);
		if (mincore(base + p * (uint64_t)page, n * (uint64_t)page, vec) < 0)
			return 0;
		for (uint64_t i = 0; i < n; i++)
			resident += vec[i] & 1;
	}
	return resident * (uint64_t)page / 1024;
}

/* The VMM's own resident memory: anonymous + file pages, without the
 * shared guest-RAM pages that RSS also counts (RssShmem). */
static uint64_t vmm_rss_kib(void)
{
	char *s = NULL;
	size_t len;
	uint64_t total = 0;
	if (fd_read_file("/proc/self/status", &s, &len, 1 << 16) < 0)
		return 0;
	for (char *line = s; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long kb;
		if (sscanf(line, "RssAnon: %lu kB", &kb) == 1 ||
		    sscanf(line, "RssFile: %lu kB", &kb) == 1)
			total += kb;
	}
	free(s);
	return total;
}

static void balloon_json(struct virtio_dev *balloon, char *buf, size_t len)
{
	struct vmm_balloon_stats st;
	virtio_balloon_get_stats(balloon, &st);
	int n = snprintf(buf, len, ", \"balloon_target_mib\": %llu, \"balloon_actual_mib\": %llu",
			 (unsigned long long)(st.target_bytes >> 20),
			 (unsigned long long)(st.actual_bytes >> 20));
	if (st.valid && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 ", \"guest_free_kib\": %llu, \"guest_available_kib\": %llu, "
			 "\"guest_total_kib\": %llu",
			 (unsigned long long)(st.free_bytes >> 10),
			 (unsigned long long)(st.available_bytes >> 10),
			 (unsigned long long)(st.total_bytes >> 10));
}

static void reply(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct client *c, const char *fmt, ...)
{
	char out[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, sizeof(out) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out) - 1)
		n = snprintf(out, sizeof(out), "{\"ok\": false, \"error\": \"reply too long\"}");
	out[n++] = '\n';
	if (fd_write_full(c->fd, out, (size_t)n) < 0)
		client_close(c);
}

/* Requests are flat objects; anything deeper or larger is refused unparsed. */
static const struct lib_json_limits req_limits = {
    .max_size = VMM_CONTROL_LINE_MAX,
    .max_depth = 8,
    .max_values = 256,
    .object = true,
};

static const struct {
	const char *name;
	enum vmm_control_cmd cmd;
} commands[] = {
    {"status", VMM_CONTROL_STATUS}, {"pause", VMM_CONTROL_PAUSE},
    {"resume", VMM_CONTROL_RESUME}, {"stop", VMM_CONTROL_STOP},
    {"memory", VMM_CONTROL_MEMORY}, {"balloon", VMM_CONTROL_BALLOON},
};

#define CMD_HINT "expected {\"cmd\": NAME}"

/* Fill req from a parsed object; the reason goes to errbuf. */
static int req_fill(yajl_val root, struct vmm_control_req *req, char *errbuf, size_t errlen)
{
	const char *path[] = {"cmd", NULL};
	yajl_val cmdv = yajl_tree_get(root, path, yajl_t_string);
	if (!cmdv)
		return snprintf(errbuf, errlen, CMD_HINT), -EINVAL;
	const char *cmd = YAJL_GET_STRING(cmdv);
	size_t i = 0;
	while (i < sizeof(commands) / sizeof(commands[0]) && strcmp(cmd, commands[i].name) != 0)
		i++;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return snprintf(errbuf, errlen, "unknown command"), -EINVAL;
	*req = (struct vmm_control_req){.cmd = commands[i].cmd};
	const char *tpath[] = {"target_mib", NULL};
	yajl_val t = yajl_tree_get(root, tpath, yajl_t_number);
	if (req->cmd == VMM_CONTROL_BALLOON && t && YAJL_IS_INTEGER(t) &&
	    YAJL_GET_INTEGER(t) >= 0) {
		req->has_target = true;
		req->target_mib = (uint64_t)YAJL_GET_INTEGER(t);
	}
	return 0;
}

int vmm_control_req_parse(const char *line, size_t len, struct vmm_control_req *req, char *errbuf,
			  size_t errlen)
{
	struct lib_json_error je;
	yajl_val root = NULL;
	int r = lib_json_parse(line, len, &req_limits, &root, &je);
	if (r < 0) {
		/* A well-formed non-object gets the usage hint; the rest, the reason. */
		snprintf(errbuf, errlen, "%s", je.fault == LIB_JSON_NOT_OBJECT ? CMD_HINT : je.msg);
		return r;
	}
	r = req_fill(root, req, errbuf, errlen);
	yajl_tree_free(root);
	return r;
}

void vmm_control_error_format(char *out, size_t size, const char *why)
{
	static const char head[] = "{\"ok\": false, \"error\": \"", tail[] = "\"}";
	if (size < sizeof(head) + sizeof(tail)) {
		if (size)
			out[0] = '\0';
		return;
	}
	size_t o = sizeof(head) - 1, room = size - sizeof(tail);
	memcpy(out, head, o);
	for (const unsigned char *p = (const unsigned char *)why; *p && o + 2 <= room; p++) {
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p < 0x20 || *p >= 0x7f ? '?' : (char)*p;
	}
	memcpy(out + o, tail, sizeof(tail));
}

static void reply_error(struct client *c, const char *why)
{
	char out[384];
	vmm_control_error_format(out, sizeof(out), why);
	reply(c, "%s", out);
}

static void handle_line(struct client *c, const char *line, size_t len)
{
	struct vmm_vm *vm = c->ctl->vm;
	struct vmm_control_req req;
	char why[256];
	if (vmm_control_req_parse(line, len, &req, why, sizeof(why)) < 0) {
		reply_error(c, why);
		return;
	}
	switch (req.cmd) {
	case VMM_CONTROL_STATUS:
		reply(c, "{\"ok\": true, \"state\": \"%s\", \"vcpus\": %u, \"mem_mib\": %llu}",
		      vm->paused ? "paused" : "running", vm->n_vcpus,
		      (unsigned long long)(vm->mem.total >> 20));
		break;
	case VMM_CONTROL_PAUSE:
	case VMM_CONTROL_RESUME:
		vmm_vm_pause(vm, req.cmd == VMM_CONTROL_PAUSE);
		log_info("control: %s", req.cmd == VMM_CONTROL_PAUSE ? "pause" : "resume");
		reply(c, "{\"ok\": true}");
		break;
	case VMM_CONTROL_STOP:
		reply(c, "{\"ok\": true}");
		vmm_vm_exit(vm, VMM_EXIT_STOP, "stopped through the control socket");
		break;
	case VMM_CONTROL_MEMORY: {
		char extra[256] = "";
		if (c->ctl->balloon)
			balloon_json(c->ctl->balloon, extra, sizeof(extra));
		reply(c,
		      "{\"ok\": true, \"guest_mib\": %llu, \"guest_resident_kib\": %llu, "
		      "\"vmm_rss_kib\": %llu%s}",
		      (unsigned long long)(vm->mem.total >> 20),
		      (unsigned long long)guest_resident_kib(&vm->mem),
		      (unsigned long long)vmm_rss_kib(), extra);
		break;
	}
	case VMM_CONTROL_BALLOON:
		if (!c->ctl->balloon)
			reply_error(c, "no balloon device (--balloon)");
		else if (!req.has_target || req.target_mib > (vm->mem.total >> 20))
			reply_error(c, "target_mib must be 0..guest memory");
		else {
			virtio_balloon_set_target(c->ctl->balloon, req.target_mib << 20);
			reply(c, "{\"ok\": true}");
		}
		break;
	}
}

static void on_client(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct client *c = ctx;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	char *nl;
	while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->len))) {
		handle_line(c, c->buf, (size_t)(nl - c->buf));
		size_t used = (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
	}
	if (c->fd >= 0 && c->len == sizeof(c->buf) - 1) {
		reply(c, "{\"ok\": false, \"error\": \"request longer than 4096 bytes\"}");
		client_close(c);
	}
}

static void on_accept(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmm_control *ctl = ctx;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &ctl->clients[i];
		if (c->fd >= 0)
			continue;
		c->fd = cfd;
		c->len = 0;
		if (vmm_loop_add(loop, cfd, EPOLLIN, on_client, c) < 0) {
			close(cfd);
			c->fd = -1;
		}
		return;
	}
	close(cfd); /* too many clients: the newcomer is turned away */
}

int vmm_control_new(struct vmm_vm *vm, const char *path, struct virtio_dev *balloon,
		    struct vmm_control **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error("api socket %s: path too long", path), -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	struct vmm_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		return -ENOMEM;
	}
	ctl->vm = vm;
	ctl->balloon = balloon;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		ctl->clients[i].fd = -1;
		ctl->clients[i].ctl = ctl;
	}
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = ctl->listen_fd < 0 ? -errno : 0;
	if (r == 0) {
		unlink(path); /* a stale socket from an earlier run */
		mode_t old = umask(0077);
		if (bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(ctl->listen_fd, 8) < 0)
			r = -errno;
		umask(old);
	}
	if (r == 0)
		r = vmm_loop_add(vm->loop, ctl->listen_fd, EPOLLIN, on_accept, ctl);
	if (r < 0) {
		log_error("api socket %s: %s", path, strerror(-r));
		vmm_control_free(ctl);
		return r;
	}
	*out = ctl;
	return 0;
}

void vmm_control_free(struct vmm_control *ctl)
{
	if (!ctl)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			client_close(&ctl->clients[i]);
	if (ctl->listen_fd >= 0) {
		vmm_loop_del(ctl->vm->loop, ctl->listen_fd);
		close(ctl->listen_fd);
		unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}
