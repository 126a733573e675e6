// SPDX-License-Identifier: Apache-2.0
/*
 * The KVM VM: creation (KVM API, Documentation/virt/kvm/api.rst), the
 * port-I/O and MMIO buses, vCPU threads and their exit handling, and ending
 * the VM. Nothing a guest does here may end the VMM except through
 * vmm_vm_exit() with a reason the caller turns into an exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "vm.h"

/* Kicks a vCPU thread out of KVM_RUN; the handler does nothing, the point
 * is the EINTR. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;

uint64_t vmm_start_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void kick_handler(int sig)
{
	(void)sig;
}

/*
 * KVM_GET_SUPPORTED_CPUID leaves out the TSC-deadline timer (CPUID.1:ECX[24])
 * because it depends on the in-kernel LAPIC; KVM_CAP_TSC_DEADLINE_TIMER says
 * whether it works (api.rst, KVM_GET_SUPPORTED_CPUID). Without it Linux must
 * calibrate the LAPIC timer against the PIT, which under nested or loaded
 * hosts fails ("APIC timer disabled due to verification failure"): the guest
 * then gets no per-CPU tick, its sched clock stops at the last tick and a
 * busy user task starves the kernel.
 */
static void offer_tsc_deadline(struct vmm_vm *vm)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (uint32_t i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 1)
			vm->cpuid->entries[i].ecx |= 1u << 24;
}

static int get_supported_cpuid(struct vmm_vm *vm)
{
	/* The kernel says E2BIG until the buffer is large enough. */
	for (unsigned n = 64; n <= 1024; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			offer_tsc_deadline(vm);
			return 0;
		}
		int r = -errno;
		free(c);
		if (r != -E2BIG)
			return r;
	}
	return -E2BIG;
}

static int create_vcpus(struct vmm_vm *vm)
{
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return sz < 0 ? -errno : -EINVAL;
	vm->run_size = (size_t)sz;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0)
			return -errno;
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return -errno;
		}
	}
	return 0;
}

static int create_kvm(struct vmm_vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return log_error("open /dev/kvm: %s", strerror(errno)), -errno;
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return log_error("/dev/kvm: unsupported KVM API version"), -ENOTSUP;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return log_error("KVM_CREATE_VM: %s", strerror(errno)), -errno;
	/* Intel needs 3 pages for a real-mode TSS and one for the EPT identity
	 * map below 4 GiB, outside RAM and MMIO; harmless on AMD. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s", strerror(errno));
	uint64_t idmap = VMM_IDMAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	/* In-kernel PIC+IOAPIC+LAPIC and PIT: no exits for timer and EOI. */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return log_error("KVM_CREATE_IRQCHIP: %s", strerror(errno)), -errno;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return log_error("KVM_CREATE_PIT2: %s", strerror(errno)), -errno;
	return 0;
}

static int map_memory(struct vmm_vm *vm, uint64_t size)
{
	int r = vmm_mem_alloc(&vm->mem, size, VMM_MMIO_START);
	if (r < 0)
		return log_error("guest memory (%llu MiB): %s", (unsigned long long)(size >> 20),
				 strerror(-r)),
		       r;
	for (unsigned i = 0; i < vm->mem.n_regions; i++) {
		const struct vmm_mem_region *reg = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
		    .slot = i,
		    .guest_phys_addr = reg->gpa,
		    .memory_size = reg->size,
		    .userspace_addr = (uintptr_t)reg->hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return log_error("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno)), -errno;
	}
	return 0;
}

int vmm_vm_create(const struct vmm_vm_opts *opts, struct vmm_vm **out)
{
	if (opts->n_vcpus < 1 || opts->n_vcpus > VMM_MAX_VCPUS || opts->mem_size < (64u << 10))
		return -EINVAL;
	struct vmm_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = vm->probe_timerfd = -1;
	for (unsigned i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	vmm_mem_init(&vm->mem);
	pthread_mutex_init(&vm->exit_lock, NULL);
	vm->n_vcpus = opts->n_vcpus;

	struct sigaction sa = {.sa_handler = kick_handler}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);

	int r = create_kvm(vm);
	if (r == 0)
		r = map_memory(vm, opts->mem_size);
	if (r == 0 && (r = get_supported_cpuid(vm)) < 0)
		log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	if (r == 0 && (r = create_vcpus(vm)) < 0)
		log_error("creating vCPUs: %s", strerror(-r));
	if (r == 0 && (r = vmm_loop_new(&vm->loop)) < 0)
		log_error("event loop: %s", strerror(-r));
	if (r == 0) {
		vm->probe_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (vm->probe_timerfd < 0)
			r = -errno;
	}
	if (r < 0) {
		vmm_vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	if (vm->probe_timerfd >= 0) {
		vmm_loop_del(vm->loop, vm->probe_timerfd);
		close(vm->probe_timerfd);
	}
	vmm_loop_free(vm->loop);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vmm_mem_free(&vm->mem);
	free(vm->cpuid);
	pthread_mutex_destroy(&vm->exit_lock);
	free(vm);
}

int vmm_bus_add(struct vmm_bus *bus, uint64_t base, uint64_t len, vmm_io_fn fn, void *ctx)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->n >= VMM_BUS_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vmm_io_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	bus->ranges[bus->n++] = (struct vmm_io_range){base, len, fn, ctx};
	return 0;
}

bool vmm_bus_access(struct vmm_bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool write)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vmm_io_range *r = &bus->ranges[i];
		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->ctx, addr - r->base, data, len, write);
			return true;
		}
	}
	/* Nothing there: reads see zeros (not all-ones, so that a driver
	 * polling a busy bit does not spin forever). */
	if (!write)
		memset(data, 0, len);
	return false;
}

int vmm_vm_irq_line(struct vmm_vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vmm_vm_irq_pulse(struct vmm_vm *vm, unsigned irq)
{
	int r = vmm_vm_irq_line(vm, irq, 1);
	return r < 0 ? r : vmm_vm_irq_line(vm, irq, 0);
}

static bool vm_ending(struct vmm_vm *vm)
{
	return __atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) != VMM_EXIT_NONE;
}

static void kick_vcpus(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		/* immediate_exit covers a vCPU that is just about to enter
		 * KVM_RUN; the signal one that is inside it. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vmm_vm_exit(struct vmm_vm *vm, enum vmm_exit reason, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->exit_lock);
	if (vm->exit_reason == VMM_EXIT_NONE) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
		va_end(ap);
		__atomic_store_n(&vm->exit_reason, reason, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&pause_cond);
	}
	pthread_mutex_unlock(&vm->exit_lock);
	vmm_loop_stop(vm->loop);
	kick_vcpus(vm);
}

void vmm_vm_pause(struct vmm_vm *vm, bool pause)
{
	pthread_mutex_lock(&vm->exit_lock);
	vm->paused = pause;
	if (!pause)
		pthread_cond_broadcast(&pause_cond);
	pthread_mutex_unlock(&vm->exit_lock);
	if (pause)
		kick_vcpus(vm);
}

/* Park a paused vCPU until resume or the end. */
static void wait_unpaused(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->exit_lock);
	while (vm->paused && vm->exit_reason == VMM_EXIT_NONE)
		pthread_cond_wait(&pause_cond, &vm->exit_lock);
	pthread_mutex_unlock(&vm->exit_lock);
}

static void handle_io(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t size = run->io.size;
	/* data_offset/count come from the kernel, but check them against the
	 * mapping anyway: a bad value would be a kernel bug, not ours to chase. */
	if ((uint64_t)run->io.data_offset + (uint64_t)run->io.count * size > v->vm->run_size)
		return;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += size)
		vmm_bus_access(&v->vm->pio, run->io.port, data, size,
			       run->io.direction == KVM_EXIT_IO_OUT);
}

/* Where the guest was, for crash messages. */
static void describe_cpu(struct vmm_vcpu *v, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "registers unavailable");
		return;
	}
	/* On AMD, KVM reinitialises the VMCB after a SHUTDOWN intercept (its
	 * contents are undefined then): what is left is the reset state. */
	if (r.rip == 0xfff0 && s.cs.base == 0xffff0000 && !(s.cr0 & 1)) {
		snprintf(buf, len,
			 "registers lost: KVM reset the vCPU when it reported the shutdown");
		return;
	}
	snprintf(buf, len, "rip=0x%llx rsp=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx",
		 (unsigned long long)r.rip, (unsigned long long)r.rsp, (unsigned long long)s.cr0,
		 (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	char where[160];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vmm_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			       run->mmio.len > 8 ? 8 : run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Linux with reboot=k resets through the i8042, so a shutdown
		 * exit here means a triple fault: the guest crashed. */
		describe_cpu(v, where, sizeof(where));
		vmm_vm_exit(v->vm, VMM_EXIT_CRASH, "vCPU %u: triple fault (%s)", v->id, where);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			vmm_vm_exit(v->vm, VMM_EXIT_POWEROFF, "guest powered off");
		else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vmm_vm_exit(v->vm, VMM_EXIT_REBOOT, "guest rebooted");
		else
			vmm_vm_exit(v->vm, VMM_EXIT_PANIC, "guest crashed (system event %u)",
				    run->system_event.type);
		return false;
	case KVM_EXIT_HLT:
		vmm_vm_exit(v->vm, VMM_EXIT_POWEROFF, "vCPU %u halted", v->id);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_vm_exit(v->vm, VMM_EXIT_CRASH, "vCPU %u: entry failed, reason 0x%llx", v->id,
			    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		describe_cpu(v, where, sizeof(where));
		vmm_vm_exit(v->vm, VMM_EXIT_CRASH, "vCPU %u: KVM internal error, suberror %u (%s)",
			    v->id, run->internal.suberror, where);
		return false;
	default:
		vmm_vm_exit(v->vm, VMM_EXIT_CRASH, "vCPU %u: unhandled KVM exit %u", v->id,
			    run->exit_reason);
		return false;
	}
}

/*
 * A guest that halts without a way to power off (Linux's "System halted"
 * when ACPI poweroff is unavailable, or stop_this_cpu()) parks every vCPU in
 * HLT with interrupts disabled. With the in-kernel LAPIC that never exits to
 * us, so once a second the main thread kicks the vCPUs and each one checks
 * its own state (vCPU ioctls belong to the vCPU's thread). Two probes in a
 * row with every vCPU dead end the VM as powered off.
 */
static bool vcpu_is_dead(struct vmm_vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_HALTED)
		return false;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	return !(regs.rflags & (1u << 9)); /* IF clear: nothing can wake it */
}

static void on_probe(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vmm_vm *vm = ctx;
	uint64_t ticks;
	if (read(fd, &ticks, sizeof(ticks)) < 0 || vm->paused)
		return;
	unsigned dead = 0;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		dead += __atomic_load_n(&vm->vcpus[i].dead, __ATOMIC_SEQ_CST);
	if (dead == vm->n_vcpus && vm->probe_seen_dead) {
		vmm_vm_exit(vm, VMM_EXIT_POWEROFF,
			    "guest halted (every vCPU stopped with interrupts disabled)");
		return;
	}
	vm->probe_seen_dead = dead == vm->n_vcpus;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		__atomic_store_n(&vm->vcpus[i].probe, true, __ATOMIC_SEQ_CST);
	kick_vcpus(vm);
}

static int start_probe(struct vmm_vm *vm)
{
	/* The timerfd itself was made in vmm_vm_create(), before the jail. */
	struct itimerspec its = {.it_interval = {.tv_sec = 1}, .it_value = {.tv_sec = 1}};
	if (timerfd_settime(vm->probe_timerfd, 0, &its, NULL) < 0)
		return -errno;
	return vmm_loop_add(vm->loop, vm->probe_timerfd, EPOLLIN, on_probe, vm);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;
	struct vmm_vm *vm = v->vm;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (v->id == 0 && vmm_start_ns)
		log_debug("vCPU 0: first guest entry %.3f ms after start",
			  (double)(now_ns() - vmm_start_ns) / 1e6);

	while (!vm_ending(vm)) {
		if (__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
			wait_unpaused(vm);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				if (__atomic_exchange_n(&v->probe, false, __ATOMIC_SEQ_CST))
					__atomic_store_n(&v->dead, vcpu_is_dead(v),
							 __ATOMIC_SEQ_CST);
				continue;
			}
			vmm_vm_exit(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
				    strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vmm_vm_start(struct vmm_vm *vm)
{
	/* Threads inherit the mask: the kick signal is blocked everywhere but
	 * in vCPU threads, and SIGTERM/SIGINT/SIGCHLD go to the main thread's
	 * signalfd. */
	sigset_t set, old;
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int r = 0;
	for (unsigned i = 0; i < vm->n_vcpus && r == 0; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		r = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r == 0)
			v->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		r = start_probe(vm);
	if (r < 0)
		vmm_vm_exit(vm, VMM_EXIT_ERROR, "starting vCPU threads: %s", strerror(-r));
	return r;
}

enum vmm_exit vmm_vm_run(struct vmm_vm *vm)
{
	while (!vm_ending(vm)) {
		int r = vmm_loop_run_once(vm->loop, -1);
		if (r < 0) {
			vmm_vm_exit(vm, VMM_EXIT_ERROR, "event loop: %s", strerror(-r));
			break;
		}
	}
	kick_vcpus(vm);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
	return vm->exit_reason;
}
