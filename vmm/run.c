// SPDX-License-Identifier: Apache-2.0
/*
 * Build and run one microVM from a struct vmm_config, in this order: VM and
 * memory, legacy devices and console, virtio devices (each on its own
 * virtio-mmio window and IRQ, announced on the kernel command line), kernel
 * and ACPI tables, vCPU state, signals, vCPU threads; then the event loop
 * until the guest or a signal ends it. Teardown runs in reverse.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "control.h"
#include "devices.h"
#include "jail.h"
#include "lib/log.h"
#include "mmio.h"
#include "run.h"
#include "virtio_fs.h"
#include "virtio_vsock.h"

/* Arguments every guest gets: console on the UART, resets through the
 * i8042 (a triple fault then really is a crash), reboot at once on panic
 * (after pvpanic has told us), no PCI probing, one UART. */
#define BASE_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off nomodule 8250.nr_uarts=1"

/* IRQs for virtio-mmio devices: ISA lines that nothing else uses (0 PIT,
 * 1/12 i8042, 2 cascade, 4 COM1, 8 RTC, 9 ACPI SCI). Lines >= 16 are not
 * mapped by Linux for command-line virtio-mmio devices under ACPI. */
static const unsigned mmio_irqs[MMIO_MAX_DEVICES] = {5, 6, 7, 10, 11, 12, 13, 14, 15};

struct vmm_run {
	const struct vmm_config *cfg;
	struct vmm_vm *vm;
	struct serial *serial;
	struct mmio_dev *devs[MMIO_MAX_DEVICES];
	unsigned n_devs;
	int console_fd;
	int sigfd;
	char cmdline[VMM_CMDLINE_MAX];
	size_t cmdline_len;
	struct vmm_control *control;
	struct virtio_dev *balloon; /* owned by its mmio_dev */
	struct virtio_dev *vsock;   /* owned by its mmio_dev */
};

/* How long a stopped VM waits for host sockets to take the vsock bytes the
 * guest sent before it went (a reader that is slower than that loses them). */
#define VSOCK_DRAIN_MS 1000

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Where start-up time goes (--log-level debug): ms since main() began. */
static void startup_mark(const char *what)
{
	if (vmm_start_ns)
		log_debug("startup: %s at %.2f ms", what, mono_ms() - (double)vmm_start_ns / 1e6);
}

static int cmdline_add(struct vmm_run *r, const char *word)
{
	size_t n = strlen(word);
	if (r->cmdline_len + n + 2 > sizeof(r->cmdline)) {
		log_error("kernel command line longer than %zu bytes", sizeof(r->cmdline) - 1);
		return -E2BIG;
	}
	if (r->cmdline_len)
		r->cmdline[r->cmdline_len++] = ' ';
	memcpy(r->cmdline + r->cmdline_len, word, n + 1);
	r->cmdline_len += n;
	return 0;
}

/* The user's cmdline may carry init arguments after a lone "--"; the
 * kernel passes everything after it to init, so the virtio_mmio.device=
 * words must go before it. Returns the offset of the "--" word, or the
 * length when there is none. */
static size_t init_args_at(const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		if ((i == 0 || s[i - 1] == ' ') && s[i] == '-' && s[i + 1] == '-' &&
		    (s[i + 2] == ' ' || s[i + 2] == '\0'))
			return i;
	}
	return strlen(s);
}

static int add_user_cmdline(struct vmm_run *r, const char *s, size_t len)
{
	while (len && s[len - 1] == ' ')
		len--;
	if (!len)
		return 0;
	char word[VMM_CMDLINE_MAX];
	if (len >= sizeof(word)) {
		log_error("kernel command line longer than %zu bytes", sizeof(word) - 1);
		return -E2BIG;
	}
	memcpy(word, s, len);
	word[len] = '\0';
	return cmdline_add(r, word);
}

static int add_virtio(struct vmm_run *r, struct virtio_dev *dev)
{
	if (r->n_devs >= MMIO_MAX_DEVICES) {
		log_error("too many devices: at most %d virtio devices", MMIO_MAX_DEVICES);
		dev->ops->free(dev);
		return -ENOSPC;
	}
	unsigned i = r->n_devs;
	struct mmio_dev *m;
	int rc = mmio_dev_add(r->vm, dev, VMM_VIRTIO_MMIO_BASE + i * MMIO_WINDOW, mmio_irqs[i], &m);
	if (rc < 0)
		return rc;
	r->devs[r->n_devs++] = m;
	char word[96];
	mmio_dev_cmdline(m, word, sizeof(word));
	return cmdline_add(r, word);
}

/* A locally administered MAC, stable per name, for NICs given none. */
static void derive_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	uint8_t m[6] = {0x02,      0x68, (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8),
			(uint8_t)h};
	memcpy(mac, m, 6);
}

static int add_devices(struct vmm_run *r)
{
	const struct vmm_config *cfg = r->cfg;
	struct vmm_vm *vm = r->vm;
	struct virtio_dev *dev;
	int rc;
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		struct virtio_blk_opts o = {.path = cfg->disks[i].path,
					    .read_only = cfg->disks[i].read_only,
					    .serial = cfg->disks[i].serial};
		if ((rc = virtio_blk_create(&vm->mem, vm->loop, &o, &dev)) < 0)
			return rc;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
	}
	if (cfg->net_tap) {
		struct virtio_net_opts no = {.tap = cfg->net_tap, .fd = -1};
		if (!cfg->net_mac || vmm_mac_parse(cfg->net_mac, no.mac) < 0)
			derive_mac(cfg->net_tap, no.mac);
		if ((rc = virtio_net_create(&vm->mem, vm->loop, &no, &dev)) < 0)
			return rc;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
	}
	for (unsigned i = 0; i < cfg->n_nets; i++) {
		const struct vmm_net *nic = &cfg->nets[i];
		struct virtio_net_opts no = {.fd = nic->fd, .mtu = (uint16_t)nic->mtu};
		if (!nic->mac || vmm_mac_parse(nic->mac, no.mac) < 0) {
			char name[16];
			snprintf(name, sizeof(name), "fd%d", nic->fd);
			derive_mac(name, no.mac);
		}
		if ((rc = virtio_net_create(&vm->mem, vm->loop, &no, &dev)) < 0)
			return rc;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
	}
	if (cfg->rng) {
		if ((rc = virtio_rng_create(&vm->mem, vm->loop, &dev)) < 0)
			return rc;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
	}
	if (cfg->balloon) {
		if ((rc = virtio_balloon_create(&vm->mem, vm->loop, &dev)) < 0)
			return rc;
		r->balloon = dev;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
	}
	if (cfg->vsock_cid) {
		struct virtio_vsock_config vc = {.uds_path = cfg->vsock_uds,
						 .guest_cid = cfg->vsock_cid};
		if ((rc = virtio_vsock_create(&vm->mem, vm->loop, &vc, &dev)) < 0) {
			log_error("vsock %s: %s", cfg->vsock_uds, strerror(-rc));
			return rc;
		}
		r->vsock = dev;
		if ((rc = add_virtio(r, dev)) < 0) {
			r->vsock = NULL;
			return rc;
		}
	}
	for (unsigned i = 0; i < cfg->n_fs && i < VMM_MAX_FS; i++) {
		struct virtio_fs_opts fo = {.tag = cfg->fs[i].tag, .socket = cfg->fs[i].socket};
		if ((rc = virtio_fs_create(&vm->mem, vm->loop, &fo, &dev)) < 0)
			return rc;
		if ((rc = add_virtio(r, dev)) < 0)
			return rc;
		/* Now that the transport has its ioeventfds and irqfd. */
		if ((rc = virtio_fs_attach(dev)) < 0) {
			log_error("virtio-fs %s: %s", cfg->fs[i].tag, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int open_console(struct vmm_run *r)
{
	const struct vmm_config *cfg = r->cfg;
	int in_fd = -1;
	r->console_fd = -1;
	switch (cfg->console) {
	case VMM_CONSOLE_STDIO:
		r->console_fd = dup(STDOUT_FILENO);
		/* Input only from a terminal or pipe, not /dev/null: EOF at
		 * once would be pointless polling. */
		if (isatty(STDIN_FILENO) || lseek(STDIN_FILENO, 0, SEEK_CUR) < 0)
			in_fd = STDIN_FILENO;
		break;
	case VMM_CONSOLE_FILE:
		r->console_fd = open(cfg->console_path,
				     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
		if (r->console_fd < 0)
			return log_error("console %s: %s", cfg->console_path, strerror(errno)),
			       -errno;
		break;
	case VMM_CONSOLE_OFF:
		break;
	}
	return serial_create(r->vm, r->console_fd, in_fd, &r->serial);
}

static void on_signal(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmm_run *r = ctx;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	vmm_vm_exit(r->vm, VMM_EXIT_STOP, "stopped by signal %s", strsignal((int)si.ssi_signo));
}

static int setup_signals(struct vmm_run *r)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before vCPU threads start, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished console or socket peer is an EPIPE */
	r->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0)
		return -errno;
	return vmm_loop_add(r->vm->loop, r->sigfd, EPOLLIN, on_signal, r);
}

static int boot(struct vmm_run *r)
{
	const struct vmm_config *cfg = r->cfg;
	struct vmm_boot_opts bo = {
	    .kernel = cfg->kernel, .initrd = cfg->initrd, .cmdline = r->cmdline};
	struct vmm_boot_info *info = malloc(sizeof(*info));
	if (!info)
		return -ENOMEM;
	int rc = vmm_boot_load(r->vm, &bo, info);
	if (rc == 0 && (rc = vmm_acpi_write(r->vm)) < 0)
		log_error("ACPI tables: %s", strerror(-rc));
	for (unsigned i = 0; rc == 0 && i < r->vm->n_vcpus; i++) {
		rc = vcpu_setup_linux(&r->vm->vcpus[i], info->entry, VMM_ZERO_PAGE_ADDR);
		if (rc < 0)
			log_error("vCPU %u state: %s", i, strerror(-rc));
	}
	free(info);
	return rc;
}

static int exit_status(const struct vmm_run *r, enum vmm_exit why)
{
	switch (why) {
	case VMM_EXIT_POWEROFF:
	case VMM_EXIT_STOP:
		return VMM_STATUS_POWEROFF;
	case VMM_EXIT_REBOOT:
		return r->cfg->reboot_exit;
	case VMM_EXIT_PANIC:
		return VMM_STATUS_PANIC;
	case VMM_EXIT_CRASH:
		return VMM_STATUS_CRASH;
	default:
		return VMM_STATUS_ERROR;
	}
}

/*
 * A guest that writes to a vsock stream and powers off at once leaves bytes
 * in the VMM (the tx queue, stream buffers waiting for a slow host reader).
 * They were sent, so they are delivered before the sockets close.
 */
static void drain_vsock(struct vmm_run *r)
{
	if (!r->vsock)
		return;
	double t0 = mono_ms();
	size_t left = virtio_vsock_drain(r->vsock, VSOCK_DRAIN_MS);
	if (left)
		log_warn("vsock: %zu bytes for host sockets not taken within %d ms, dropped", left,
			 VSOCK_DRAIN_MS);
	else
		log_debug("vsock: host-bound data drained in %.1f ms", mono_ms() - t0);
}

static void teardown(struct vmm_run *r)
{
	vmm_control_free(r->control);
	for (unsigned i = 0; i < r->n_devs; i++)
		mmio_dev_free(r->devs[i]);
	serial_free(r->serial);
	if (r->console_fd >= 0)
		close(r->console_fd);
	if (r->sigfd >= 0) {
		vmm_loop_del(r->vm->loop, r->sigfd);
		close(r->sigfd);
	}
	vmm_vm_destroy(r->vm);
}

int vmm_run(const struct vmm_config *cfg)
{
	struct vmm_run r = {.cfg = cfg, .console_fd = -1, .sigfd = -1};
	struct vmm_vm_opts vo = {.mem_size = (uint64_t)(cfg->mem_mib ? cfg->mem_mib : 128) << 20,
				 .n_vcpus = cfg->vcpus ? cfg->vcpus : 1};
	startup_mark("configured");
	int rc = vmm_vm_create(&vo, &r.vm);
	if (rc < 0)
		return VMM_STATUS_ERROR;
	startup_mark("VM, memory and vCPUs created");
	const char *user = cfg->cmdline ? cfg->cmdline : "";
	size_t init_at = init_args_at(user);
	rc = cmdline_add(&r, BASE_CMDLINE);
	if (rc == 0)
		rc = add_user_cmdline(&r, user, init_at);
	if (rc == 0 && (rc = legacy_devices_add(r.vm)) < 0)
		log_error("legacy devices: %s", strerror(-rc));
	if (rc == 0)
		rc = open_console(&r);
	if (rc == 0)
		rc = add_devices(&r);
	if (rc == 0)
		rc = add_user_cmdline(&r, user + init_at, strlen(user + init_at));
	startup_mark("devices added");
	if (rc == 0)
		rc = boot(&r);
	startup_mark("kernel loaded, vCPU state set");
	if (rc == 0 && (rc = setup_signals(&r)) < 0)
		log_error("signals: %s", strerror(-rc));
	if (rc == 0 && cfg->api_socket)
		rc = vmm_control_new(r.vm, cfg->api_socket, r.balloon, &r.control);
	log_debug("kernel command line: %s", r.cmdline);
	if (rc == 0)
		rc = vmm_jail(!cfg->no_seccomp);
	startup_mark("jailed");
	if (rc == 0)
		rc = vmm_vm_start(r.vm);
	int status = VMM_STATUS_ERROR;
	if (rc == 0) {
		enum vmm_exit why = vmm_vm_run(r.vm);
		status = exit_status(&r, why);
		if (why == VMM_EXIT_POWEROFF || why == VMM_EXIT_STOP || why == VMM_EXIT_REBOOT)
			log_info("%s", r.vm->exit_msg);
		else
			log_error("%s", r.vm->exit_msg);
		drain_vsock(&r);
	}
	teardown(&r);
	return status;
}
