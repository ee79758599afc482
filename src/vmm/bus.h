/* The I/O buses of sbx-vmm: port I/O and MMIO ranges mapped to device handlers, and the stop
 * record through which a device or the vCPU loop ends the VM with a status.
 * Owns dispatch only; never interprets an access (that is each device's job). */
#ifndef SBX_VMM_BUS_H
#define SBX_VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Ranges a bus holds at most (a fixed table: no allocation on the exit path). */
#define VMM_BUS_MAX 16

/**
 * typedef vmm_io_fn - a device's access handler.
 * @opaque: the device.
 * @off: offset of the access inside the device's range.
 * @write: true for a guest write (@data holds @len bytes), false for a read (fill @data).
 * @data: the bytes, little-endian.
 * @len: 1, 2, 4 or 8.
 */
typedef void vmm_io_fn(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

/**
 * struct vmm_bus - one address space of device ranges (port I/O or MMIO).
 * @n: ranges in use.
 * @r: the ranges: base, length, handler, device, and the lock held around the handler (NULL:
 *     the device needs none, e.g. it only sets the stop record).
 *
 * vCPU threads dispatch concurrently: the table is filled before they start and never changes.
 */
struct vmm_bus {
	unsigned n;
	struct {
		uint64_t base;
		uint64_t len;
		vmm_io_fn *fn;
		void *opaque;
		pthread_mutex_t *lock;
	} r[VMM_BUS_MAX];
};

/**
 * struct vmm_stop - why and with which status the VM ends; any thread may set it.
 * @claimed: taken (atomically) by the first vmm_stop_set(); later calls do nothing.
 * @stopped: set (atomically, after @status and @why) once the record is complete; vCPU loops
 *           return when they see it.
 * @status: the process's exit status.
 * @why: one line for stderr, empty when the guest ended normally and said so itself.
 * @wake_fd: an eventfd written once the record is complete (-1: none), so the thread that
 *           waits for the end (main) wakes without polling.
 */
struct vmm_stop {
	bool claimed;
	bool stopped;
	int status;
	char why[192];
	int wake_fd;
};

/**
 * vmm_bus_add() - map [@base, @base + @len) to @fn(@opaque, ...).
 * @b: the bus.
 * @base: first address.
 * @len: bytes (> 0).
 * @fn: the handler.
 * @opaque: passed to @fn.
 *
 * Return: 0, or -1 if the bus is full, @len is 0 or the range overlaps one already mapped.
 */
int vmm_bus_add(struct vmm_bus *b, uint64_t base, uint64_t len, vmm_io_fn *fn, void *opaque);

/**
 * vmm_bus_add_locked() - vmm_bus_add() whose handler runs with @lock held (devices whose state
 * another vCPU or the device thread also touches).
 * @b, @base, @len, @fn, @opaque: as vmm_bus_add().
 * @lock: held around every call of @fn.
 *
 * Return: as vmm_bus_add().
 */
int vmm_bus_add_locked(struct vmm_bus *b, uint64_t base, uint64_t len, vmm_io_fn *fn, void *opaque,
		       pthread_mutex_t *lock);

/**
 * vmm_bus_access() - dispatch one guest access.
 * @b: the bus.
 * @addr: the address accessed.
 * @write: direction.
 * @data: bytes written, or filled for a read.
 * @len: access width.
 *
 * An access that no range (wholly) covers reads as all ones and writes are dropped, as on a
 * PC with nothing at that address.
 *
 * Return: true if a device handled it.
 */
bool vmm_bus_access(const struct vmm_bus *b, uint64_t addr, bool write, uint8_t *data,
		    uint32_t len);

/**
 * vmm_stop_init() - a fresh, running stop record.
 * @s: the record.
 * @wake_fd: eventfd to write when the VM stops, or -1.
 */
void vmm_stop_init(struct vmm_stop *s, int wake_fd);

/**
 * vmm_stopped() - has the VM stopped? (an atomic read, for loops on any thread)
 * @s: the record.
 *
 * Return: true once a vmm_stop_set() completed.
 */
bool vmm_stopped(const struct vmm_stop *s);

/**
 * vmm_stop_set() - end the VM with @status; the first call wins (thread-safe). Syscalls: write
 * (the wake eventfd).
 * @s: the stop record.
 * @status: exit status.
 * @fmt: printf format of the one-line reason, or NULL for none.
 */
void vmm_stop_set(struct vmm_stop *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
