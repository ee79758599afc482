/* Runtime page tables and GDT (see rt.h): the first 4 GiB identity-mapped with 2 MiB pages
 * (RAM and the MMIO hole with the virtio-mmio, I/O APIC and LAPIC windows), and a GDT whose
 * selectors match Linux's boot ones (code 0x10, data 0x18). crt_pvh.S fills the same tables
 * in 32-bit code before paging is on; rt_paging_init() rebuilds them for the bzImage entry,
 * whose loader only promises its own identity map. */
#include "rt.h"

void rt_paging_init(void);

/* PML4, PDPT, four page directories. */
uint64_t rt_pt[6][512] __attribute__((aligned(4096)));

/* null, null, 64-bit code (0x10), data (0x18) */
const uint64_t rt_gdt[4]
    __attribute__((aligned(16))) = {0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL};

/* lgdt operand: limit, then base (packed). */
struct __attribute__((packed)) rt_gdtr {
	uint16_t limit;
	uint64_t base;
};

void rt_paging_init(void)
{
	struct rt_gdtr g = {sizeof(rt_gdt) - 1, (uintptr_t)rt_gdt};

	rt_pt[0][0] = (uintptr_t)rt_pt[1] | 3;
	for (unsigned i = 0; i < 4; i++)
		rt_pt[1][i] = (uintptr_t)rt_pt[2 + i] | 3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		rt_pt[2 + i / 512][i % 512] = (i << 21) | 0x83;
	__asm__ volatile("mov %0, %%cr3" : : "r"((uintptr_t)rt_pt[0]) : "memory");
	__asm__ volatile("lgdt %0" : : "m"(g));
}
