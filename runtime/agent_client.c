// SPDX-License-Identifier: Apache-2.0
/* Client of hull-agent (see runtime/include/runtime/agent_client.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/proto/agent.pb-c.h"
#include "lib/ttrpc.h"
#include "lib/vsock_client.h"
#include "runtime/agent_client.h"
#include "runtime/net.h"

#define SERVICE         "hull.agent.v1.Agent"
#define PORT_API        1024
#define PORT_STDIO      1025
#define CALL_TIMEOUT_MS 60000

struct rt_agent {
	struct ttrpc_client *client;
	char *path;   /* unix socket of the API (unix:) or of the VMM (hvsock:) */
	bool hybrid;  /* hvsock: */
	unsigned cid; /* vsock:CID (kernel vsock, e.g. QEMU's vhost-vsock); 0: unused */
};

static int vsock_connect(unsigned cid, unsigned port, struct err **err)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "vsock socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "connect vsock %u:%u", cid, port);
	}
	return fd;
}

static int unix_connect(const char *path, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "socket path %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, e, "connect %s", path);
	}
	return fd;
}

static int dial(struct rt_agent *a, bool stdio, int timeout_ms, struct err **err)
{
	if (a->cid)
		return vsock_connect(a->cid, stdio ? PORT_STDIO : PORT_API, err);
	if (a->hybrid)
		return vsock_hybrid_connect(a->path, stdio ? PORT_STDIO : PORT_API, timeout_ms,
					    err);
	if (!stdio)
		return unix_connect(a->path, err);
	char p[256];
	if (snprintf(p, sizeof(p), "%s.stdio", a->path) >= (int)sizeof(p))
		return err_set(err, ENAMETOOLONG, "socket path %s.stdio", a->path);
	return unix_connect(p, err);
}

int rt_agent_connect(const char *addr, int timeout_ms, struct rt_agent **out, struct err **err)
{
	struct rt_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(err, ENOMEM, "agent client");
	if (strncmp(addr, "unix:", 5) == 0) {
		a->path = strdup(addr + 5);
	} else if (strncmp(addr, "hvsock:", 7) == 0) {
		a->path = strdup(addr + 7);
		a->hybrid = true;
	} else if (strncmp(addr, "vsock:", 6) == 0 && atoi(addr + 6) > 2) {
		a->cid = (unsigned)atoi(addr + 6);
		a->path = strdup(addr);
	} else {
		free(a);
		return err_set(
		    err, 0, "agent address %s: expected unix:PATH, hvsock:PATH or vsock:CID", addr);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd;
	for (;;) {
		fd = dial(a, false, timeout_ms > 0 ? timeout_ms : 5000, err);
		if (fd >= 0)
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (timeout_ms <= 0 || ms >= timeout_ms) {
			free(a->path);
			free(a);
			return err_wrap(err, "connect to agent %s", addr);
		}
		err_free(err);
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	int r = ttrpc_client_new(fd, &a->client);
	if (r < 0) {
		free(a->path);
		free(a);
		return err_set(err, -r, "ttrpc client");
	}
	*out = a;
	return 0;
}

void rt_agent_free(struct rt_agent *a)
{
	if (!a)
		return;
	ttrpc_client_free(a->client);
	free(a->path);
	free(a);
}

static int errno_of(int code)
{
	switch (code) {
	case TTRPC_NOT_FOUND:
		return ENOENT;
	case TTRPC_ALREADY_EXISTS:
		return EEXIST;
	case TTRPC_FAILED_PRECONDITION:
		return EBUSY;
	case TTRPC_INVALID_ARGUMENT:
		return EINVAL;
	case TTRPC_DEADLINE_EXCEEDED:
		return ETIMEDOUT;
	case TTRPC_UNIMPLEMENTED:
		return EOPNOTSUPP;
	case TTRPC_PERMISSION_DENIED:
		return EPERM;
	default:
		return EIO;
	}
}

static int call(struct rt_agent *a, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *rd, int timeout_ms, ProtobufCMessage **resp,
		struct err **err)
{
	struct ttrpc_status st = {0};
	ProtobufCMessage *out = NULL;
	int r = ttrpc_client_call_pb(a->client, SERVICE, method, NULL, 0, req, rd, timeout_ms, &out,
				     &st);
	if (r == -EREMOTEIO) {
		/* The agent's message already says what failed and why. */
		int e = errno_of(st.code);
		err_set(err, 0, "agent %s: %s", method, st.message ? st.message : "error");
		if (err && *err)
			(*err)->code = e;
		ttrpc_status_clear(&st);
		return -e;
	}
	if (r < 0)
		return err_set(err, -r, "agent %s", method);
	if (resp)
		*resp = out;
	else
		protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

#define EMPTY_DESC (&hull__agent__v1__empty__descriptor)

int rt_agent_ping(struct rt_agent *a, char **version, struct err **err)
{
	Hull__Agent__V1__PingRequest req = HULL__AGENT__V1__PING_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	int r = call(a, "Ping", &req.base, &hull__agent__v1__ping_response__descriptor,
		     CALL_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	Hull__Agent__V1__PingResponse *resp = (void *)m;
	if (version && !(*version = strdup(resp->version)))
		r = err_set(err, ENOMEM, "version");
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

static void stdio_fill(Hull__Agent__V1__Stdio *s, const struct rt_agent_stdio *in)
{
	hull__agent__v1__stdio__init(s);
	if (!in)
		return;
	s->open_stdin = in->open_stdin;
	s->open_stdout = in->open_stdout;
	s->open_stderr = in->open_stderr;
	s->terminal = in->terminal;
}

int rt_agent_create_container(struct rt_agent *a, const struct rt_agent_create *in, pid_t *pid,
			      struct err **err)
{
	Hull__Agent__V1__CreateContainerRequest req =
	    HULL__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Hull__Agent__V1__Rootfs rootfs = HULL__AGENT__V1__ROOTFS__INIT;
	Hull__Agent__V1__Stdio stdio;
	req.id = (char *)in->id;
	req.spec_json.data = (uint8_t *)in->spec_json;
	req.spec_json.len = in->spec_len;
	rootfs.type = (Hull__Agent__V1__RootfsType)in->rootfs.type;
	rootfs.source = (char *)(in->rootfs.source ? in->rootfs.source : "");
	rootfs.fstype = (char *)(in->rootfs.fstype ? in->rootfs.fstype : "");
	rootfs.subdir = (char *)(in->rootfs.subdir ? in->rootfs.subdir : "");
	rootfs.options = (char **)in->rootfs.options;
	rootfs.n_options = in->rootfs.n_options;
	req.rootfs = &rootfs;
	stdio_fill(&stdio, &in->stdio);
	req.stdio = &stdio;
	_cleanup_free_ Hull__Agent__V1__Mount *mounts = calloc(in->n_mounts + 1, sizeof(*mounts));
	_cleanup_free_ Hull__Agent__V1__Mount **mptrs = calloc(in->n_mounts + 1, sizeof(*mptrs));
	_cleanup_free_ char **mopts = calloc(in->n_mounts + 1, sizeof(*mopts));
	if (!mounts || !mptrs || !mopts)
		return err_set(err, ENOMEM, "create request");
	for (size_t i = 0; i < in->n_mounts; i++) {
		hull__agent__v1__mount__init(&mounts[i]);
		mounts[i].type = (char *)in->mounts[i].type;
		mounts[i].source = (char *)in->mounts[i].source;
		mounts[i].target = (char *)in->mounts[i].target;
		if (in->mounts[i].options) {
			mopts[i] = (char *)in->mounts[i].options;
			mounts[i].options = &mopts[i];
			mounts[i].n_options = 1;
		}
		mptrs[i] = &mounts[i];
	}
	req.mounts = mptrs;
	req.n_mounts = in->n_mounts;
	ProtobufCMessage *m = NULL;
	int r =
	    call(a, "CreateContainer", &req.base,
		 &hull__agent__v1__create_container_response__descriptor, CALL_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	if (pid)
		*pid = ((Hull__Agent__V1__CreateContainerResponse *)m)->pid;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

int rt_agent_start_container(struct rt_agent *a, const char *id, struct err **err)
{
	Hull__Agent__V1__StartContainerRequest req = HULL__AGENT__V1__START_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	return call(a, "StartContainer", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_exec_process(struct rt_agent *a, const char *id, const char *exec_id,
			  const char *process_json, size_t len, const struct rt_agent_stdio *stdio,
			  pid_t *pid, struct err **err)
{
	Hull__Agent__V1__ExecProcessRequest req = HULL__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
	Hull__Agent__V1__Stdio st;
	req.id = (char *)id;
	req.exec_id = (char *)exec_id;
	req.process_json.data = (uint8_t *)process_json;
	req.process_json.len = len;
	stdio_fill(&st, stdio);
	req.stdio = &st;
	ProtobufCMessage *m = NULL;
	int r = call(a, "ExecProcess", &req.base,
		     &hull__agent__v1__exec_process_response__descriptor, CALL_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	if (pid)
		*pid = ((Hull__Agent__V1__ExecProcessResponse *)m)->pid;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

int rt_agent_signal_process(struct rt_agent *a, const char *id, const char *exec_id, int sig,
			    bool all, struct err **err)
{
	Hull__Agent__V1__SignalProcessRequest req = HULL__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)(exec_id ? exec_id : "");
	req.signal = sig;
	req.all = all;
	return call(a, "SignalProcess", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_wait_process(struct rt_agent *a, const char *id, const char *exec_id, int timeout_ms,
			  struct rt_agent_exit *out, struct err **err)
{
	Hull__Agent__V1__WaitProcessRequest req = HULL__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)(exec_id ? exec_id : "");
	ProtobufCMessage *m = NULL;
	int r = call(a, "WaitProcess", &req.base,
		     &hull__agent__v1__wait_process_response__descriptor, timeout_ms, &m, err);
	if (r < 0)
		return r;
	Hull__Agent__V1__WaitProcessResponse *w = (void *)m;
	*out = (struct rt_agent_exit){w->exit_status, w->signaled, w->signal, w->oom_killed,
				      w->exited_at_ns};
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

int rt_agent_close_stdin(struct rt_agent *a, const char *id, const char *exec_id, struct err **err)
{
	Hull__Agent__V1__CloseStdinRequest req = HULL__AGENT__V1__CLOSE_STDIN_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)(exec_id ? exec_id : "");
	return call(a, "CloseStdin", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_resize_tty(struct rt_agent *a, const char *id, const char *exec_id, unsigned width,
			unsigned height, struct err **err)
{
	Hull__Agent__V1__ResizeTtyRequest req = HULL__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
	req.id = (char *)id;
	req.exec_id = (char *)(exec_id ? exec_id : "");
	req.width = width;
	req.height = height;
	return call(a, "ResizeTty", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

void rt_agent_processes_free(struct rt_agent_process *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].exec_id);
		free(p[i].cmdline);
	}
	free(p);
}

int rt_agent_list_processes(struct rt_agent *a, const char *id, struct rt_agent_process **out,
			    size_t *n, struct err **err)
{
	Hull__Agent__V1__ListProcessesRequest req = HULL__AGENT__V1__LIST_PROCESSES_REQUEST__INIT;
	req.id = (char *)id;
	ProtobufCMessage *m = NULL;
	int r =
	    call(a, "ListProcesses", &req.base,
		 &hull__agent__v1__list_processes_response__descriptor, CALL_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	Hull__Agent__V1__ListProcessesResponse *l = (void *)m;
	size_t count = l->n_processes;
	struct rt_agent_process *p = calloc(count + 1, sizeof(*p));
	bool oom = !p;
	for (size_t i = 0; p && i < count; i++) {
		p[i].pid = l->processes[i]->pid;
		p[i].exec_id = strdup(l->processes[i]->exec_id);
		p[i].cmdline = strdup(l->processes[i]->cmdline);
		oom |= !p[i].exec_id || !p[i].cmdline; /* callers print both */
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (oom) {
		if (p)
			rt_agent_processes_free(p, count);
		return err_set(err, ENOMEM, "process list");
	}
	*n = count;
	*out = p;
	return 0;
}

int rt_agent_stats(struct rt_agent *a, const char *id, struct rt_agent_stats *out, struct err **err)
{
	Hull__Agent__V1__StatsContainerRequest req = HULL__AGENT__V1__STATS_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	ProtobufCMessage *m = NULL;
	int r =
	    call(a, "StatsContainer", &req.base,
		 &hull__agent__v1__stats_container_response__descriptor, CALL_TIMEOUT_MS, &m, err);
	if (r < 0)
		return r;
	Hull__Agent__V1__StatsContainerResponse *s = (void *)m;
	*out = (struct rt_agent_stats){
	    s->cpu_usage_usec,     s->cpu_user_usec, s->cpu_system_usec, s->cpu_nr_throttled,
	    s->cpu_throttled_usec, s->memory_usage,  s->memory_limit,    s->memory_max_usage,
	    s->memory_oom_kill,    s->pids_current,  s->pids_limit,      s->io_read_bytes,
	    s->io_write_bytes,     s->io_read_ops,   s->io_write_ops,
	};
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

int rt_agent_update(struct rt_agent *a, const char *id, const struct rt_agent_resources *res,
		    struct err **err)
{
	Hull__Agent__V1__UpdateContainerRequest req =
	    HULL__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	req.memory_limit = res->memory_limit;
	req.cpu_quota = res->cpu_quota;
	req.cpu_period = res->cpu_period;
	req.cpu_shares = res->cpu_shares;
	req.pids_limit = res->pids_limit;
	req.blkio_weight = res->blkio_weight;
	return call(a, "UpdateContainer", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_pause(struct rt_agent *a, const char *id, struct err **err)
{
	Hull__Agent__V1__PauseContainerRequest req = HULL__AGENT__V1__PAUSE_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	return call(a, "PauseContainer", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_resume(struct rt_agent *a, const char *id, struct err **err)
{
	Hull__Agent__V1__ResumeContainerRequest req =
	    HULL__AGENT__V1__RESUME_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	return call(a, "ResumeContainer", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_remove_container(struct rt_agent *a, const char *id, bool force, struct err **err)
{
	Hull__Agent__V1__RemoveContainerRequest req =
	    HULL__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.id = (char *)id;
	req.force = force;
	return call(a, "RemoveContainer", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_get_oom_event(struct rt_agent *a, int timeout_ms, char **id, uint64_t *count,
			   struct err **err)
{
	Hull__Agent__V1__GetOOMEventRequest req = HULL__AGENT__V1__GET_OOMEVENT_REQUEST__INIT;
	req.timeout_ms = timeout_ms;
	ProtobufCMessage *m = NULL;
	/* The agent enforces timeout_ms; ours is only a backstop. */
	int r =
	    call(a, "GetOOMEvent", &req.base, &hull__agent__v1__get_oomevent_response__descriptor,
		 timeout_ms > 0 ? timeout_ms + 5000 : 0, &m, err);
	if (r < 0)
		return r;
	Hull__Agent__V1__GetOOMEventResponse *o = (void *)m;
	*id = strdup(o->id);
	if (count)
		*count = o->oom_kill;
	protobuf_c_message_free_unpacked(m, NULL);
	return *id ? 0 : err_set(err, ENOMEM, "oom event");
}

int rt_agent_set_time(struct rt_agent *a, int64_t sec, int64_t nsec, struct err **err)
{
	Hull__Agent__V1__SetTimeRequest req = HULL__AGENT__V1__SET_TIME_REQUEST__INIT;
	req.sec = sec;
	req.nsec = nsec;
	return call(a, "SetTime", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

/* The request points into net: nothing here outlives the call. */
int rt_agent_update_network(struct rt_agent *a, const struct rt_net *net, struct err **err)
{
	Hull__Agent__V1__UpdateNetworkRequest req = HULL__AGENT__V1__UPDATE_NETWORK_REQUEST__INIT;
	Hull__Agent__V1__Interface ifs[RT_NET_MAX_LINKS], *ifp[RT_NET_MAX_LINKS];
	Hull__Agent__V1__IPAddress addrs[RT_NET_MAX_LINKS][RT_NET_MAX_ADDRS];
	Hull__Agent__V1__IPAddress *addrp[RT_NET_MAX_LINKS][RT_NET_MAX_ADDRS];
	Hull__Agent__V1__Route routes[RT_NET_MAX_ROUTES], *routep[RT_NET_MAX_ROUTES];
	Hull__Agent__V1__Neighbour neighs[RT_NET_MAX_NEIGHS], *neighp[RT_NET_MAX_NEIGHS];
	for (size_t i = 0; i < net->n_links; i++) {
		const struct rt_net_link *k = &net->links[i];
		hull__agent__v1__interface__init(&ifs[i]);
		ifs[i].name = (char *)k->name;
		ifs[i].mac = (ProtobufCBinaryData){6, (uint8_t *)k->mac};
		ifs[i].mtu = k->mtu;
		for (size_t j = 0; j < k->n_addrs; j++) {
			hull__agent__v1__ipaddress__init(&addrs[i][j]);
			addrs[i][j].address = (ProtobufCBinaryData){
			    k->addrs[j].family == 4 ? 4 : 16, (uint8_t *)k->addrs[j].addr};
			addrs[i][j].prefix_len = k->addrs[j].prefix;
			addrp[i][j] = &addrs[i][j];
		}
		ifs[i].addresses = addrp[i];
		ifs[i].n_addresses = k->n_addrs;
		ifp[i] = &ifs[i];
	}
	for (size_t i = 0; i < net->n_routes; i++) {
		const struct rt_net_route *x = &net->routes[i];
		size_t len = x->family == 4 ? 4 : 16;
		hull__agent__v1__route__init(&routes[i]);
		routes[i].family = x->family;
		if (x->has_dst)
			routes[i].destination = (ProtobufCBinaryData){len, (uint8_t *)x->dst};
		routes[i].destination_len = x->dst_len;
		if (x->has_gw)
			routes[i].gateway = (ProtobufCBinaryData){len, (uint8_t *)x->gw};
		routes[i].device = (char *)net->links[x->link].name;
		routes[i].scope = x->scope;
		routes[i].metric = x->metric;
		routep[i] = &routes[i];
	}
	for (size_t i = 0; i < net->n_neighs; i++) {
		const struct rt_net_neigh *x = &net->neighs[i];
		hull__agent__v1__neighbour__init(&neighs[i]);
		neighs[i].address =
		    (ProtobufCBinaryData){x->family == 4 ? 4 : 16, (uint8_t *)x->addr};
		neighs[i].mac = (ProtobufCBinaryData){6, (uint8_t *)x->mac};
		neighs[i].device = (char *)net->links[x->link].name;
		neighp[i] = &neighs[i];
	}
	req.interfaces = ifp;
	req.n_interfaces = net->n_links;
	req.routes = routep;
	req.n_routes = net->n_routes;
	req.neighbours = neighp;
	req.n_neighbours = net->n_neighs;
	return call(a, "UpdateNetwork", &req.base, EMPTY_DESC, CALL_TIMEOUT_MS, NULL, err);
}

int rt_agent_attach(struct rt_agent *a, const char *id, const char *exec_id, const char *stream,
		    struct err **err)
{
	_cleanup_close_ int fd = dial(a, true, 10000, err);
	if (fd < 0)
		return err_wrap(err, "attach %s of %s", stream, id);
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr), "%s %s %s\n", id, exec_id && exec_id[0] ? exec_id : "-",
			 stream);
	if (n >= (int)sizeof(hdr))
		return err_set(err, ENAMETOOLONG, "attach header");
	if (fd_write_full(fd, hdr, (size_t)n) < 0)
		return err_set(err, errno, "attach %s of %s: write header", stream, id);
	/* The reply line, byte by byte: what follows is the stream itself. */
	char line[600];
	size_t len = 0;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(err, r < 0 ? errno : EPIPE, "attach %s of %s", stream, id);
		if (ch == '\n')
			break;
		if (len + 1 < sizeof(line))
			line[len++] = ch;
	}
	line[len] = '\0';
	if (strcmp(line, "OK") != 0)
		return err_set(err, 0, "attach %s of %s: %s", stream, id,
			       strncmp(line, "ERR ", 4) == 0 ? line + 4 : line);
	return TAKE_FD(fd);
}
