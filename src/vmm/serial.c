/* The 8250 UART (see serial.h). Transmit is synchronous (one write(2) per byte, no buffering
 * so a guest's last line is never lost), so THR is always empty and the only interrupt is
 * THR-empty; receive is not wired yet (RBR reads 0, LSR.DR = 0). */
#include "vmm/serial.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	REG_RBR_THR = 0, /* DLAB=1: DLL */
	REG_IER = 1,	 /* DLAB=1: DLM */
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define IIR_NO_INT   0x01
#define IIR_THRI     0x02
#define IER_THRI     0x02
#define MCR_OUT2     0x08 /* on a PC, gates the UART's interrupt onto the ISA line */
#define IIR_FIFO_ON  0xc0
#define MSR_DEFAULTS 0xb0 /* DCD | DSR | CTS: a cable is attached */

void serial_init(struct serial_8250 *s, int out_fd)
{
	memset(s, 0, sizeof(*s));
	s->dll = 1;    /* 115200 baud */
	s->mcr = 0x08; /* OUT2 */
	s->out_fd = out_fd;
}

void serial_set_irq(struct serial_8250 *s, unsigned irq,
		    void (*fn)(void *opaque, unsigned irq, bool level), void *opaque)
{
	s->irq = irq;
	s->irq_fn = fn;
	s->irq_opaque = opaque;
	s->irq_level = false;
}

/* Drive the line from the state: THR-empty pending and enabled, OUT2 set, not in loopback. */
static void irq_update(struct serial_8250 *s)
{
	bool level =
	    s->thre_pending && (s->ier & IER_THRI) && (s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP);

	if (level == s->irq_level || !s->irq_fn)
		return;
	s->irq_level = level;
	s->irq_fn(s->irq_opaque, s->irq, level);
}

static void tx(struct serial_8250 *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP)
		return; /* loopback: the byte would come back on RBR; nothing leaves */
	if (s->first_tx_ns == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s->first_tx_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	}
	s->tx_bytes++;
	if (s->out_fd < 0)
		return;
	while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* In loopback the modem outputs come back as inputs: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t msr(const struct serial_8250 *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DEFAULTS;
	return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
			 ((s->mcr & 0x08) << 4));
}

static void reg_write(struct serial_8250 *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			s->dll = v;
		else {
			tx(s, v);
			s->thre_pending = true; /* sent at once: THR is empty again */
		}
		break;
	case REG_IER:
		if (dlab)
			s->dlm = v;
		else {
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thre_pending = true; /* enabled while THR is empty */
			s->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		s->fcr = v & 0xc9; /* the FIFO-reset bits are self-clearing */
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
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t reg_read(struct serial_8250 *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? s->dll : 0;
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR_FCR: {
		uint8_t fifo = (s->fcr & 0x01) ? IIR_FIFO_ON : 0;

		if (s->thre_pending && (s->ier & IER_THRI)) {
			s->thre_pending = false; /* reading IIR acknowledges THR-empty */
			return (uint8_t)(IIR_THRI | fifo);
		}
		return (uint8_t)(IIR_NO_INT | fifo);
	}
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT;
	case REG_MSR:
		return msr(s);
	default:
		return s->scr;
	}
}

void serial_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	struct serial_8250 *s = opaque;

	if (write) {
		reg_write(s, (unsigned)off & 7, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = reg_read(s, (unsigned)off & 7);
	}
	irq_update(s);
}
