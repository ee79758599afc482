/* Port-I/O and MMIO dispatch and the VM stop record (see bus.h). Never allocates and never
 * touches guest RAM. */
#include "vmm/bus.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vmm_bus_add(struct vmm_bus *b, uint64_t base, uint64_t len, vmm_io_fn *fn, void *opaque)
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
	b->n++;
	return 0;
}

bool vmm_bus_access(const struct vmm_bus *b, uint64_t addr, bool write, uint8_t *data, uint32_t len)
{
	for (unsigned i = 0; i < b->n; i++) {
		uint64_t off = addr - b->r[i].base;

		if (addr >= b->r[i].base && off < b->r[i].len && len <= b->r[i].len - off) {
			b->r[i].fn(b->r[i].opaque, off, write, data, len);
			return true;
		}
	}
	if (!write)
		memset(data, 0xff, len);
	return false;
}

void vmm_stop_set(struct vmm_stop *s, int status, const char *fmt, ...)
{
	va_list ap;

	if (s->stopped)
		return;
	s->stopped = true;
	s->status = status;
	s->why[0] = '\0';
	if (!fmt)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}
