/* A minimal 8250/16550A UART for the guest console (COM1 at 0x3f8): transmitted bytes go to an
 * output fd; the registers latch and read back as Linux's 8250 driver expects when it probes.
 * Owns the UART's register state and its transmit-holding-empty interrupt (through a callback,
 * so it knows nothing of KVM); never reads guest RAM. */
#ifndef SBX_VMM_SERIAL_H
#define SBX_VMM_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_NREGS	 8
#define SERIAL_COM1_IRQ	 4

/**
 * struct serial_8250 - the UART's state (kept in one struct for snapshots later).
 * @ier: interrupt enable (4 bits).
 * @lcr: line control (bit 7 = DLAB).
 * @mcr: modem control (bit 4 = loopback).
 * @fcr: last FIFO control written (bit 0 = FIFOs on).
 * @scr: scratch.
 * @dll: divisor latch, low byte.
 * @dlm: divisor latch, high byte.
 * @out_fd: where transmitted bytes go (-1: dropped).
 * @tx_bytes: bytes transmitted so far.
 * @first_tx_ns: CLOCK_MONOTONIC time of the first transmitted byte (0 until then).
 * @thre_pending: the THR-empty interrupt is pending (set by a THR write or by enabling it,
 *	cleared by the IIR read that reports it), as on a real 16550.
 * @irq_level: the level last given to @irq_fn.
 * @irq: the interrupt line (ISA IRQ number) given to @irq_fn.
 * @irq_fn: raises (@level true) or lowers the line; NULL: no interrupts.
 * @irq_opaque: passed to @irq_fn.
 */
struct serial_8250 {
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t fcr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	int out_fd;
	uint64_t tx_bytes;
	uint64_t first_tx_ns;
	bool thre_pending;
	bool irq_level;
	unsigned irq;
	void (*irq_fn)(void *opaque, unsigned irq, bool level);
	void *irq_opaque;
};

/**
 * serial_init() - reset the UART (115200 8N1 divisor, everything else 0).
 * @s: the UART.
 * @out_fd: where transmitted bytes go.
 */
void serial_init(struct serial_8250 *s, int out_fd);

/**
 * serial_set_irq() - wire the UART's interrupt output (without it the UART never interrupts,
 * and Linux's tty layer, which transmits on THR-empty interrupts, stalls after the first bytes).
 * @s: the UART.
 * @irq: the line (4 for COM1).
 * @fn: called with the new level whenever the line changes.
 * @opaque: passed to @fn.
 */
void serial_set_irq(struct serial_8250 *s, unsigned irq,
		    void (*fn)(void *opaque, unsigned irq, bool level), void *opaque);

/**
 * serial_io() - a port access at offset @off (0..7) from the UART's base; a vmm_io_fn.
 * @opaque: the struct serial_8250.
 * @off: register offset.
 * @write: direction.
 * @data: the byte(s); only the first is used, wider reads return the register in byte 0.
 * @len: access width.
 *
 * Syscalls: write (the transmitted byte to @out_fd), clock_gettime (first byte only), and
 * what the @irq_fn of serial_set_irq() needs (ioctl KVM_IRQ_LINE).
 */
void serial_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

#endif
