/* sbx-vmm test guest on the C runtime (rt/rt.h), built as boot_info.elf (PVH) and
 * boot_info.bz (bzImage, 64-bit boot protocol): prints what it was handed — the entry, the
 * cmdline, the memory map, the initrd size, whether the RSDP checks out, the MADT's LAPIC
 * count and the virtio-mmio slots found in the DSDT — and exits with 0x20. */
#include "rt/rt.h"

int guest_main(void)
{
	const struct rt_boot *b = rt_boot();
	struct rt_virtio_slot slot[RT_VIRTIO_MAX];
	unsigned n = rt_acpi_virtio_mmio(slot, RT_VIRTIO_MAX);

	rt_printf("sbx-vmm guest: %s ok, long mode\n", b->via == RT_BOOT_PVH ? "pvh" : "bzimage");
	rt_printf("cmdline: %s\n", b->cmdline);
	rt_printf("memmap %u:", b->nmem);
	for (unsigned i = 0; i < b->nmem; i++)
		rt_printf(" %lx+%lx/%u", b->mem[i].addr, b->mem[i].size, b->mem[i].type);
	rt_printf("\ninitrd %lu\n", b->initrd_size);
	rt_printf("acpi RSD PTR %s\n", rt_acpi_rsdp_ok() ? "ok" : "bad");
	rt_printf("lapics %u\n", rt_acpi_lapics());
	rt_printf("virtio-mmio %u", n);
	for (unsigned i = 0; i < n; i++)
		rt_printf(" %x+%x@%u", slot[i].base, slot[i].len, slot[i].gsi);
	rt_printf("\n");
	return 0x20;
}
