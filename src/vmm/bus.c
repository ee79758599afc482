/* Port-I/O and MMIO dispatch and the VM stop record (see bus.h). Never allocates and never
 * touches guest RAM. */
#include "vmm/bus.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int vmm_bus_add(struct vmm_bus *b, uint64_t base, uint64_t len, vmm_io_fn *fn, void *opaque)
{
	return vmm_bus_add_locked(b, base, len, fn, opaque, NULL);
}

int vmm_bus_add_locked(struct vmm_bus *b, uint64_t base, uint64_t len, vmm_io_fn *fn, void *opaque,
		       pthread_mutex_t *lock)
{
	if (b->n >= VMM_BUS_MAX || len == 0 || base + len < base)
		return -1;
	for (unsigned i = 0; i < b->n; i++)
		if (base < b->r[i].base + b->r[i].len && b->r[i].base < base + len)
			return -1;
	b->r[b->n].base = base;
	b->r[b->n].len = len;
	b->r[b->n].fn = fn;
	b->r[b->n].opaque = opaque;
	b->r[b->n].lock = lock;
	b->n++;
	return 0;
}

bool vmm_bus_access(const struct vmm_bus *b, uint64_t addr, bool write, uint8_t *data, uint32_t len)
{
	for (unsigned i = 0; i < b->n; i++) {
		uint64_t off = addr - b->r[i].base;

		if (addr >= b->r[i].base && off < b->r[i].len && len <= b->r[i].len - off) {
			if (b->r[i].lock)
				pthread_mutex_lock(b->r[i].lock);
			b->r[i].fn(b->r[i].opaque, off, write, data, len);
			if (b->r[i].lock)
				pthread_mutex_unlock(b->r[i].lock);
			return true;
		}
	}
	if (!write)
		memset(data, 0xff, len);
	return false;
}

void vmm_stop_init(struct vmm_stop *s, int wake_fd)
{
	memset(s, 0, sizeof(*s));
	s->wake_fd = wake_fd;
}

bool vmm_stopped(const struct vmm_stop *s)
{
	return __atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE);
}

void vmm_stop_set(struct vmm_stop *s, int status, const char *fmt, ...)
{
	va_list ap;
	uint64_t one = 1;

	if (__atomic_exchange_n(&s->claimed, true, __ATOMIC_ACQ_REL))
		return;
	s->status = status;
	s->why[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&s->stopped, true, __ATOMIC_RELEASE);
	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* the waiter also polls vmm_stopped() */
	}
}
