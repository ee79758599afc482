/* The virtio-mmio devices of sbx-vmm: one register window and one interrupt line per device
 * (the "slots" the ACPI DSDT and the virtio_mmio.device= command line describe), queue
 * notifications through ioeventfds and interrupts through irqfds (so neither bounces through a
 * vCPU thread), and the device thread whose event loop runs every device's host side.
 * Owns the slots, their eventfds, the loop and the lock shared by that thread and vCPU threads
 * touching device registers; the device code itself lives in src/virtio/. */
#ifndef SBX_VMM_DEVICES_H
#define SBX_VMM_DEVICES_H

#include "common/evloop.h"
#include "virtio/device.h"
#include "virtio/guest_mem.h"
#include "virtio/mmio.h"
#include "vmm/acpi.h"
#include "vmm/bus.h"
#include "vmm/kvm.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Device windows: slot i at VMM_VIRTIO_BASE + i * MMIO_WINDOW, in the MMIO hole above RAM.
 * 16 interrupt lines are free; slots past the 16th share them (virtio-mmio's handler is
 * IRQF_SHARED and reads its own InterruptStatus). */
#define VMM_VIRTIO_BASE	 0xd0000000ULL
#define VMM_VIRTIO_SLOTS ACPI_MMIO_SLOTS_MAX
#define VMM_VIRTIO_GSIS	 16

/**
 * struct vmm_slot - one device on the bus.
 * @mmio: its transport (registers, queues).
 * @base: window address; @gsi: interrupt line (edge, active high).
 * @name: short name for messages ("vsock", "fs:work", ...).
 * @irq_fd: eventfd bound to @gsi with KVM_IRQFD (-1: KVM_IRQ_LINE from the notifying thread).
 * @kick_fd: per queue, an eventfd KVM signals on a QueueNotify write of that index (-1: the
 *           write exits to the vCPU thread, which kicks under the lock).
 * @vm: the VM (for KVM_IRQ_LINE).
 * @devs: the owner.
 */
struct vmm_slot {
	struct virtio_mmio mmio;
	uint64_t base;
	uint32_t gsi;
	char name[40];
	int irq_fd;
	int kick_fd[MMIO_MAX_QUEUES];
	const struct vmm_vm *vm;
	struct vmm_devices *devs;
};

/**
 * struct vmm_devices - every device of one VM and the thread serving them.
 * @vm: the VM.
 * @gm: guest RAM as the device code sees it (one region).
 * @loop: the device thread's event loop (devices register their host fds on it).
 * @lock: held by the device thread while it dispatches events and by vCPU threads around
 *        register accesses: device state is never touched by two threads at once (virtio-fs
 *        workers only push replies and notify, which is thread-safe).
 * @n: slots used; @slot: the slots.
 * @wake_fd: eventfd that ends the device thread.
 * @thread, @running: the device thread.
 * @thread_init: called first on the device thread (e.g. its seccomp filter), or NULL.
 * @ioeventfds, @irqfds: whether KVM took them (stats and tests).
 */
struct vmm_devices {
	const struct vmm_vm *vm;
	struct guest_mem gm;
	struct evloop *loop;
	pthread_mutex_t lock;
	unsigned n;
	struct vmm_slot slot[VMM_VIRTIO_SLOTS];
	int wake_fd;
	pthread_t thread;
	bool running;
	int (*thread_init)(void);
	unsigned ioeventfds, irqfds;
};

/**
 * vmm_devices_init() - an empty device set for @vm, its loop and lock.
 * @d: filled in; @vm: the VM (RAM created).
 * @err: one line on failure; @errlen: its size.
 *
 * Syscalls: epoll_create1, eventfd2.
 * Return: 0, or -1 with @err set.
 */
int vmm_devices_init(struct vmm_devices *d, const struct vmm_vm *vm, char *err, size_t errlen);

/**
 * vmm_devices_add() - put @dev in the next slot and wire it: transport, irqfd, one ioeventfd
 * per queue, the window on @mmio_bus.
 * @d: the set; @dev: the device (not owned; outlives the set); @name: for messages.
 * @mmio_bus: the VM's MMIO bus.
 * @err: one line on failure; @errlen: its size.
 *
 * A KVM that refuses ioeventfds or irqfds is not an error: the slot falls back to exits and
 * KVM_IRQ_LINE. Syscalls: eventfd2, ioctl (KVM_IRQFD, KVM_IOEVENTFD), epoll_ctl.
 * Return: 0, or -1 with @err set (all slots used, no irqchip, ...).
 */
int vmm_devices_add(struct vmm_devices *d, struct virtio_dev *dev, const char *name,
		    struct vmm_bus *mmio_bus, char *err, size_t errlen);

/**
 * vmm_devices_acpi() - describe the slots in @acpi (nslots, slot[]).
 * @d: the set; @acpi: the table configuration.
 */
void vmm_devices_acpi(const struct vmm_devices *d, struct acpi_config *acpi);

/**
 * vmm_devices_cmdline() - the " virtio_mmio.device=SIZE@BASE:GSI" words for every slot.
 * @d: the set; @buf: output (NUL-terminated); @len: its size.
 *
 * Return: 0, or -1 if @buf is too small (then @buf is empty).
 */
int vmm_devices_cmdline(const struct vmm_devices *d, char *buf, size_t len);

/**
 * vmm_devices_start() - start the device thread (runs the loop until vmm_devices_stop()).
 * @d: the set; @err, @errlen: as above.
 *
 * Syscalls: clone (pthread_create). Return: 0, or -1 with @err set.
 */
int vmm_devices_start(struct vmm_devices *d, char *err, size_t errlen);

/**
 * vmm_devices_stop() - end the device thread (if started), then reset every device (in-flight
 * requests finish). The loop stays until vmm_devices_destroy(): free the devices in between
 * (they unregister their fds from it).
 * @d: the set.
 */
void vmm_devices_stop(struct vmm_devices *d);

/**
 * vmm_devices_destroy() - close the slots' eventfds, the wake eventfd and the loop.
 * @d: the set (stopped).
 */
void vmm_devices_destroy(struct vmm_devices *d);

#endif
