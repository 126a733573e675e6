// SPDX-License-Identifier: Apache-2.0
/*
 * 8250/16550A UART at COM1, enough for Linux's 8250 driver (probe by
 * scratch/IER/loopback tests, FIFO detection, THRE- and RX-interrupt driven
 * I/O) and its early console. Transmission is instantaneous: THR is always
 * empty again right after a write. The interrupt output is level-like: the
 * IRQ line follows "an interrupt is pending", which gives the edge-triggered
 * ISA pin a rising edge for every new cause, as real hardware does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices.h"
#include "lib/fd.h"
#include "lib/log.h"

enum {
	REG_DATA = 0, /* RBR/THR, DLL with DLAB */
	REG_IER = 1,  /* DLM with DLAB */
	REG_IIR = 2,  /* FCR on write */
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

#define RX_SIZE 64
#define PANIC_BANNER "Kernel panic - not syncing"
#define TX_SIZE 256

struct serial {
	struct vmm_vm *vm;
	pthread_mutex_t lock;
	int out_fd, in_fd;
	bool in_polling;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending; /* a THR-empty interrupt not yet taken by an IIR read */
	bool irq_level;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_len;
	uint8_t tx[TX_SIZE];
	unsigned tx_len;
	unsigned panic_match; /* bytes of PANIC_BANNER matched so far */
};

/* Watch the output for the panic banner (no byte of it repeats its own
 * prefix, so a plain running match is exact). */
static void watch_panic(struct serial *s, uint8_t b)
{
	static const char banner[] = PANIC_BANNER;
	if (b == (uint8_t)banner[s->panic_match])
		s->panic_match++;
	else
		s->panic_match = b == (uint8_t)banner[0];
	if (s->panic_match == sizeof(banner) - 1) {
		s->panic_match = 0;
		if (s->vm)
			__atomic_store_n(&s->vm->panic_seen, true, __ATOMIC_SEQ_CST);
	}
}

static void flush_tx(struct serial *s)
{
	if (s->tx_len && s->out_fd >= 0 && fd_write_full(s->out_fd, s->tx, s->tx_len) < 0) {
		/* A closed console must not stop the guest; drop output. */
		log_warn("serial: console output: %s; discarding further output", strerror(errno));
		s->out_fd = -1;
	}
	s->tx_len = 0;
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

static void update_irq(struct serial *s)
{
	bool level = !(iir(s) & IIR_NONE);
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->vm)
			vmm_vm_irq_line(s->vm, VMM_IRQ_COM1, level);
	}
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_len < RX_SIZE) {
		s->rx[(s->rx_head + s->rx_len) % RX_SIZE] = b;
		s->rx_len++;
	}
}

static void tx_byte(struct serial *s, uint8_t b)
{
	watch_panic(s, b);
	if (s->mcr & MCR_LOOP) {
		rx_push(s, b); /* loopback: what we send comes back */
	} else {
		s->tx[s->tx_len++] = b;
		if (b == '\n' || s->tx_len == TX_SIZE)
			flush_tx(s);
	}
	s->thre_pending = true;
}

static uint8_t msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS; /* a cable is plugged in */
	/* Loopback wires MCR outputs to MSR inputs (the driver's probe checks). */
	uint8_t v = 0;
	if (s->mcr & 0x01)
		v |= MSR_DSR;
	if (s->mcr & 0x02)
		v |= MSR_CTS;
	if (s->mcr & 0x04)
		v |= MSR_RI;
	if (s->mcr & 0x08)
		v |= MSR_DCD;
	return v;
}

static void poll_input(struct serial *s)
{
	/* Read from the host only while there is room in the FIFO. */
	bool want = s->in_fd >= 0 && s->rx_len < RX_SIZE;
	if (s->vm && want != s->in_polling) {
		s->in_polling = want;
		vmm_loop_mod(s->vm->loop, s->in_fd, want ? EPOLLIN : 0);
	}
}

static uint8_t read_reg(struct serial *s, uint64_t off)
{
	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		uint8_t b = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_SIZE;
		s->rx_len--;
		poll_input(s);
		return b;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR: {
		uint8_t v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false; /* reading IIR takes THRE */
		return v;
	}
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
	case REG_MSR:
		return msr(s);
	default:
		return s->scr;
	}
}

static void write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			tx_byte(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		break;
	case REG_IIR:
		s->fcr = v;
		if (v & 0x02) { /* clear RX FIFO */
			s->rx_len = 0;
			poll_input(s);
		}
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	}
}

static void serial_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct serial *s = ctx;
	pthread_mutex_lock(&s->lock);
	if (write)
		write_reg(s, off, data[0]);
	else
		data[0] = read_reg(s, off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (!write && len > 1)
		memset(data + 1, 0, len - 1);
}

static void on_input(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct serial *s = ctx;
	uint8_t buf[RX_SIZE];
	pthread_mutex_lock(&s->lock);
	size_t room = RX_SIZE - s->rx_len;
	ssize_t n = room ? read(fd, buf, room) : 0;
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			rx_push(s, buf[i]);
		update_irq(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EOF or error: stop reading input, keep the console. */
		vmm_loop_del(loop, fd);
		s->in_fd = -1;
	}
	poll_input(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_create(struct vmm_vm *vm, int out_fd, int in_fd, struct serial **out)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->out_fd = out_fd;
	s->in_fd = in_fd;
	int r = vmm_bus_add(&vm->pio, VMM_PORT_COM1, 8, serial_access, s);
	if (r == 0 && in_fd >= 0) {
		fd_set_nonblock(in_fd, 1);
		r = vmm_loop_add(vm->loop, in_fd, EPOLLIN, on_input, s);
		s->in_polling = r == 0;
	}
	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	flush_tx(s);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
