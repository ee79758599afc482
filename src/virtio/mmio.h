/* The virtio-mmio transport, modern only (VIRTIO 1.2 §4.2.2, register layout version 2): one
 * register window per device, decoded into struct virtio_dev_ops calls and vq_setup().
 * Owns the window's registers and the queues' pending configuration; every guest value is
 * checked. Never touches guest RAM itself (queue.c does) and never knows which device it carries.
 */
#ifndef SBX_VIRTIO_MMIO_H
#define SBX_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/device.h"
#include "virtio/guest_mem.h"
#include "virtio/queue.h"

#define MMIO_WINDOW	0x200 /* bytes of one device's window: registers, then config space */
#define MMIO_CONFIG	0x100 /* where the device's config space starts in the window */
#define MMIO_MAX_QUEUES 8
#define MMIO_MAGIC	0x74726976u /* "virt" */
#define MMIO_VERSION	2u
#define MMIO_VENDOR_ID	0x00584253u /* "SBX\0" */

/* Register offsets (VIRTIO 1.2 §4.2.2). */
#define MMIO_MAGIC_VALUE	 0x000
#define MMIO_VERSION_REG	 0x004
#define MMIO_DEVICE_ID		 0x008
#define MMIO_VENDOR_ID_REG	 0x00c
#define MMIO_DEVICE_FEATURES	 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES	 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL		 0x030
#define MMIO_QUEUE_NUM_MAX	 0x034
#define MMIO_QUEUE_NUM		 0x038
#define MMIO_QUEUE_READY	 0x044
#define MMIO_QUEUE_NOTIFY	 0x050
#define MMIO_INTERRUPT_STATUS	 0x060
#define MMIO_INTERRUPT_ACK	 0x064
#define MMIO_STATUS		 0x070
#define MMIO_QUEUE_DESC_LOW	 0x080
#define MMIO_QUEUE_DESC_HIGH	 0x084
#define MMIO_QUEUE_DRIVER_LOW	 0x090
#define MMIO_QUEUE_DRIVER_HIGH	 0x094
#define MMIO_QUEUE_DEVICE_LOW	 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH	 0x0a4
#define MMIO_SHM_SEL		 0x0ac
#define MMIO_SHM_LEN_LOW	 0x0b0
#define MMIO_SHM_LEN_HIGH	 0x0b4
#define MMIO_SHM_BASE_LOW	 0x0b8
#define MMIO_SHM_BASE_HIGH	 0x0bc
#define MMIO_CONFIG_GENERATION	 0x0fc

/* Device status bits (VIRTIO 1.2 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* InterruptStatus bits. */
#define MMIO_INT_VRING	1u /* used buffer notification */
#define MMIO_INT_CONFIG 2u /* configuration change (or DEVICE_NEEDS_RESET) */

struct virtio_mmio;

/**
 * typedef mmio_irq_fn - raise the device's interrupt line (the VMM: an irqfd write to a GSI).
 * @m: the transport instance; @opaque: as given to mmio_init().
 * May be called from whichever thread the device notifies on.
 */
typedef void (*mmio_irq_fn)(struct virtio_mmio *m, void *opaque);

/**
 * struct mmio_queue - what the driver has written for one queue before QueueReady.
 * @num: QueueNum (0 until a valid size is written).
 * @desc, @driver, @device: ring addresses assembled from the Low/High halves.
 */
struct mmio_queue {
	uint16_t num;
	uint64_t desc, driver, device;
};

/**
 * struct virtio_mmio - one virtio-mmio device instance (its state is all here: snapshots later).
 * @dev: the device carried (not owned); its vqs and mem point into this struct / the VMM.
 * @nq: queues the device has (<= MMIO_MAX_QUEUES).
 * @vqs: the device's virtqueues.
 * @q: pending per-queue registers.
 * @status: device status register.
 * @dev_feat_sel, @drv_feat_sel, @queue_sel: selector registers as written.
 * @drv_features: features the driver wrote (both 32-bit halves).
 * @isr: InterruptStatus, updated atomically (devices may notify from other threads).
 * @config_gen: ConfigGeneration.
 * @irq, @irq_opaque: the VMM's interrupt callback.
 * @ignored: accesses ignored (bad width/alignment, write-only read, bad value, wrong state).
 */
struct virtio_mmio {
	struct virtio_dev *dev;
	unsigned nq;
	struct virtq vqs[MMIO_MAX_QUEUES];
	struct mmio_queue q[MMIO_MAX_QUEUES];
	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t drv_features;
	uint32_t isr;
	uint32_t config_gen;
	mmio_irq_fn irq;
	void *irq_opaque;
	uint64_t ignored;
};

/**
 * mmio_init() - bind @dev to a fresh transport instance.
 * @m: instance (fully initialised here); @dev: the device; @mem: guest RAM (not owned);
 * @irq: interrupt callback (may be NULL); @opaque: passed to @irq.
 * Sets @dev's mem, vqs and notify. Return: 0, or -1 if the device has no queues or more than
 * MMIO_MAX_QUEUES.
 */
int mmio_init(struct virtio_mmio *m, struct virtio_dev *dev, struct guest_mem *mem, mmio_irq_fn irq,
	      void *opaque);

/**
 * mmio_read() - a guest read of @len bytes at window offset @off.
 * @m: instance; @off: offset in the window; @buf: filled with @len bytes (little-endian).
 * @len: 1, 2 or 4 in config space; registers only take aligned 4-byte reads. Anything else
 * reads as zeros and counts in @m->ignored.
 */
void mmio_read(struct virtio_mmio *m, uint64_t off, void *buf, uint32_t len);

/**
 * mmio_write() - a guest write of @len bytes at window offset @off.
 * @m: instance; @off: offset in the window; @buf: the bytes (little-endian); @len: as mmio_read().
 * A write that is malformed or not allowed in the current state is dropped and counted; a
 * queue that cannot be set up stays not ready and the device asks for reset
 * (DEVICE_NEEDS_RESET). Never fails otherwise.
 */
void mmio_write(struct virtio_mmio *m, uint64_t off, const void *buf, uint32_t len);

/**
 * mmio_queue_notify() - the driver notified queue @v (a QueueNotify write, or the VMM's
 * ioeventfd for it firing): kick the device if the queue is ready and the driver running,
 * else count it in @m->ignored.
 * @m: instance; @v: the value written (the queue index).
 */
void mmio_queue_notify(struct virtio_mmio *m, uint32_t v);

/**
 * mmio_io() - mmio_read()/mmio_write() in the shape of sbx-vmm's bus handler (vmm_io_fn).
 * @opaque: the struct virtio_mmio; @off, @write, @data, @len: as in vmm_io_fn.
 */
void mmio_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

/**
 * mmio_config_changed() - the device changed its config space: bump ConfigGeneration, set
 * InterruptStatus bit 1 and raise the interrupt (if the driver is running).
 * @m: instance.
 */
void mmio_config_changed(struct virtio_mmio *m);

#endif
