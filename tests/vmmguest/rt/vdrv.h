/* A minimal virtio-mmio driver for sbx-vmm's test guests: device bring-up (modern, VERSION_1),
 * split queues in static memory, submit a chain, notify, poll the used ring with a bound, and
 * check that the interrupt reached the local APIC. Polling only (interrupts stay disabled):
 * guests run under PVM's instruction emulator, so every loop is bounded. */
#ifndef SBX_TESTS_VMMGUEST_VDRV_H
#define SBX_TESTS_VMMGUEST_VDRV_H

#include <stdbool.h>
#include <stdint.h>

#define VDRV_QUEUES	4
#define VDRV_QSIZE	8
#define VDRV_IRQ_VECTOR 0x40 /* + slot index: the vector the I/O APIC entry is given */

/* Register offsets (VIRTIO 1.2 §4.2.2). */
#define VD_MAGIC	 0x000
#define VD_VERSION	 0x004
#define VD_DEVICE_ID	 0x008
#define VD_DEV_FEAT	 0x010
#define VD_DEV_FEAT_SEL	 0x014
#define VD_DRV_FEAT	 0x020
#define VD_DRV_FEAT_SEL	 0x024
#define VD_QUEUE_SEL	 0x030
#define VD_QUEUE_NUM_MAX 0x034
#define VD_QUEUE_NUM	 0x038
#define VD_QUEUE_READY	 0x044
#define VD_QUEUE_NOTIFY	 0x050
#define VD_INT_STATUS	 0x060
#define VD_INT_ACK	 0x064
#define VD_STATUS	 0x070
#define VD_QUEUE_DESC	 0x080
#define VD_QUEUE_DRIVER	 0x090
#define VD_QUEUE_DEVICE	 0x0a0
#define VD_CONFIG	 0x100

/**
 * struct vdrv_seg - one buffer of a chain.
 * @addr: guest-physical (= virtual: identity mapped) address.
 * @len: bytes.
 * @writable: the device writes it (else reads it).
 */
struct vdrv_seg {
	const void *addr;
	uint32_t len;
	bool writable;
};

/**
 * struct vdrv - one driven device.
 * @base: MMIO window; @gsi: its interrupt line; @slot: index (for the vector).
 * @nq: queues brought up; @last_used, @next_avail: per-queue ring positions.
 * @desc, @avail, @used: per-queue ring addresses.
 */
struct vdrv {
	uint64_t base;
	uint32_t gsi;
	unsigned slot;
	unsigned nq;
	uint16_t last_used[VDRV_QUEUES];
	uint16_t next_avail[VDRV_QUEUES];
	uint8_t *desc[VDRV_QUEUES], *avail[VDRV_QUEUES], *used[VDRV_QUEUES];
};

/**
 * vdrv_init() - reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 plus @features_lo & offered),
 * FEATURES_OK, @nq queues of VDRV_QSIZE, DRIVER_OK; route the device's GSI in the I/O APIC to
 * VDRV_IRQ_VECTOR + @slot on APIC 0 (edge, masked in IF only).
 * @d: filled in; @base, @gsi, @slot: the device; @nq: queues (<= VDRV_QUEUES);
 * @features_lo: wanted feature bits 0..31.
 *
 * Return: 0, or a negative step number that failed (printed).
 */
int vdrv_init(struct vdrv *d, uint64_t base, uint32_t gsi, unsigned slot, unsigned nq,
	      uint32_t features_lo);

/**
 * vdrv_submit() - put the chain @seg[0..@n) on queue @q and notify (a QueueNotify write: the
 * VMM's ioeventfd).
 * @d: the device; @q: queue; @seg: the buffers (readable first); @n: count (<= VDRV_QSIZE).
 */
void vdrv_submit(struct vdrv *d, unsigned q, const struct vdrv_seg *seg, unsigned n);

/**
 * vdrv_post() - like vdrv_submit() without the notify (rx buffers put before the device runs).
 */
void vdrv_post(struct vdrv *d, unsigned q, const struct vdrv_seg *seg, unsigned n);

/**
 * vdrv_notify() - write @q to QueueNotify.
 */
void vdrv_notify(struct vdrv *d, unsigned q);

/**
 * vdrv_wait() - poll queue @q's used ring for the next entry, at most @spins reads.
 * @d: the device; @q: queue; @len: set to the used length; @spins: the bound.
 *
 * Return: the chain's head index, or -1 on time-out.
 */
int vdrv_wait(struct vdrv *d, unsigned q, uint32_t *len, unsigned long spins);

/**
 * vdrv_irq_seen() - whether the device's interrupt vector is pending in the local APIC's IRR
 * (delivered through KVM's irqfd and the I/O APIC), and InterruptStatus' used-buffer bit is
 * set; acknowledges InterruptStatus.
 * @d: the device.
 *
 * Return: bit 0 = InterruptStatus had the used-buffer bit, bit 1 = the vector was in the IRR.
 */
unsigned vdrv_irq_seen(struct vdrv *d);

/**
 * vdrv_config8() - a byte of the device's config space.
 */
uint8_t vdrv_config8(struct vdrv *d, unsigned off);

#endif
