/* Guest RAM as the device sees it: regions {gpa, size, host pointer, frontend address}.
 * Owns the one bounds check for guest-physical and frontend-virtual ranges (gm_ptr, gm_uva_to_gpa).
 * Never maps or unmaps memory itself; never returns a pointer to a range that spans regions. */
#ifndef SBX_VIRTIO_GUEST_MEM_H
#define SBX_VIRTIO_GUEST_MEM_H

#include <stdint.h>

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes */
	uint64_t uva;  /* the frontend's (QEMU's) virtual address of the start; 0 if none */
	void *host;    /* our pointer to the start */
};

struct guest_mem {
	unsigned nr;
	struct gm_region r[GM_MAX_REGIONS];
};

/**
 * gm_add() - append a region.
 * @m: memory map; @gpa, @size, @uva: as in struct gm_region; @host: mapped start.
 * Return: 0, or -1 if full, empty, wrapping or overlapping another region in gpa space.
 */
int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, uint64_t uva, void *host);

/**
 * gm_ptr() - host pointer for guest-physical range [@gpa, @gpa+@len).
 * Return: the pointer, or NULL unless the whole range lies inside one region (overflow-safe).
 * A zero @len is valid anywhere inside a region (or at its end).
 */
void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/**
 * gm_uva_to_gpa() - translate a frontend virtual address range to guest-physical.
 * @m: memory map; @uva: frontend address; @len: range length; @gpa: out.
 * Return: 0, or -1 unless the whole range lies inside one region.
 */
int gm_uva_to_gpa(const struct guest_mem *m, uint64_t uva, uint64_t len, uint64_t *gpa);

#endif
