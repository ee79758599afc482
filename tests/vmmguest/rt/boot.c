/* Runtime boot data (see rt.h): reads struct hvm_start_info (PVH) or struct boot_params (the
 * 64-bit boot protocol's zero page) once at start into one struct rt_boot, so a guest never
 * knows which entry it came through. Offsets: Xen's start_info.h version 1, Linux's
 * Documentation/arch/x86/zero-page.rst; sbx-vmm's src/vmm/boot.h and bzimage.h write them. */
#include "rt.h"

void rt_boot_init(unsigned via, uint64_t boot);

#define SI_MAGIC_VALUE	  0x336ec578U
#define SI_NR_MODULES	  12
#define SI_MODLIST_PADDR  16
#define SI_CMDLINE_PADDR  24
#define SI_RSDP_PADDR	  32
#define SI_MEMMAP_PADDR	  40
#define SI_MEMMAP_ENTRIES 48
#define SI_MEMMAP_LEN	  24

#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE	     0x21c
#define BP_CMD_LINE_PTR	     0x228
#define BP_E820_TABLE	     0x2d0
#define BP_E820_LEN	     20

static struct rt_boot boot_data = {.cmdline = ""};

static uint64_t rd(uint64_t addr, unsigned n)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)addr;
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void add_range(uint64_t addr, uint64_t size, uint32_t type)
{
	if (boot_data.nmem < RT_MEM_MAX)
		boot_data.mem[boot_data.nmem] = (struct rt_mem_range){addr, size, type};
	boot_data.nmem++;
}

static void from_pvh(uint64_t si)
{
	uint64_t map = rd(si + SI_MEMMAP_PADDR, 8), cmd = rd(si + SI_CMDLINE_PADDR, 8);
	uint32_t n = (uint32_t)rd(si + SI_MEMMAP_ENTRIES, 4);

	if (rd(si, 4) != SI_MAGIC_VALUE) {
		rt_puts("rt: bad hvm_start_info magic\n");
		rt_exit(0x7f);
	}
	if (cmd)
		boot_data.cmdline = (const char *)(uintptr_t)cmd;
	boot_data.rsdp = rd(si + SI_RSDP_PADDR, 8);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = map + (uint64_t)i * SI_MEMMAP_LEN;

		add_range(rd(e, 8), rd(e + 8, 8), (uint32_t)rd(e + 16, 4));
	}
	if (rd(si + SI_NR_MODULES, 4)) {
		uint64_t mod = rd(si + SI_MODLIST_PADDR, 8);

		boot_data.initrd_addr = rd(mod, 8);
		boot_data.initrd_size = rd(mod + 8, 8);
	}
}

static void from_boot_params(uint64_t bp)
{
	uint64_t cmd = rd(bp + BP_CMD_LINE_PTR, 4) | rd(bp + BP_EXT_CMD_LINE_PTR, 4) << 32;
	unsigned n = (unsigned)rd(bp + BP_E820_ENTRIES, 1);

	if (cmd)
		boot_data.cmdline = (const char *)(uintptr_t)cmd;
	boot_data.rsdp = rd(bp + BP_ACPI_RSDP_ADDR, 8);
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = bp + BP_E820_TABLE + (uint64_t)i * BP_E820_LEN;

		add_range(rd(e, 8), rd(e + 8, 8), (uint32_t)rd(e + 16, 4));
	}
	boot_data.initrd_size = rd(bp + BP_RAMDISK_SIZE, 4) | rd(bp + BP_EXT_RAMDISK_SIZE, 4) << 32;
	if (boot_data.initrd_size)
		boot_data.initrd_addr =
		    rd(bp + BP_RAMDISK_IMAGE, 4) | rd(bp + BP_EXT_RAMDISK_IMAGE, 4) << 32;
}

void rt_boot_init(unsigned via, uint64_t boot)
{
	boot_data.via = via;
	if (via == RT_BOOT_LINUX)
		from_boot_params(boot);
	else
		from_pvh(boot);
	if (boot_data.nmem > RT_MEM_MAX)
		boot_data.nmem = RT_MEM_MAX;
}

const struct rt_boot *rt_boot(void)
{
	return &boot_data;
}
