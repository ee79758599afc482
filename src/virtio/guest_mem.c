/* Bounds-checked guest address translation (see guest_mem.h).
 * Owns range checks only; never dereferences guest memory. */
#include "virtio/guest_mem.h"

#include <stddef.h>

static int in_range(uint64_t start, uint64_t size, uint64_t a, uint64_t len)
{
	/* a >= start, and a + len <= start + size without overflow */
	if (a < start)
		return 0;
	if (a - start > size)
		return 0;
	return len <= size - (a - start);
}

int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, uint64_t uva, void *host)
{
	unsigned i;

	if (m->nr >= GM_MAX_REGIONS || size == 0 || !host || gpa + size < gpa)
		return -1;
	for (i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->r[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -1;
	}
	m->r[m->nr++] = (struct gm_region){.gpa = gpa, .size = size, .uva = uva, .host = host};
	return 0;
}

void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->r[i];
		if (in_range(r->gpa, r->size, gpa, len))
			return (char *)r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_uva_to_gpa(const struct guest_mem *m, uint64_t uva, uint64_t len, uint64_t *gpa)
{
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->r[i];
		if (r->uva && in_range(r->uva, r->size, uva, len)) {
			*gpa = r->gpa + (uva - r->uva);
			return 0;
		}
	}
	return -1;
}
