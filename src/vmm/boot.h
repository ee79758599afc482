/* Direct kernel boot through the PVH entry: parse an ELF (64- or 32-bit) into a load plan,
 * then write its segments, the cmdline, the initrd, the E820 memory map and struct
 * hvm_start_info, and the ACPI tables acpi.c builds, into guest RAM. Parsing is pure (a buffer in,
 * a plan out). Owns the guest's low boot area below 1 MiB; never touches KVM (the caller sets EBX =
 * BOOT_START_INFO_GPA). */
#ifndef SBX_VMM_BOOT_H
#define SBX_VMM_BOOT_H

#include "vmm/acpi.h"
#include "vmm/kvm.h"

#include <stddef.h>
#include <stdint.h>

/* Fixed guest-physical layout of the boot data (all below the kernel's 1 MiB floor). */
#define BOOT_START_INFO_GPA 0x6000ULL
#define BOOT_MODLIST_GPA    0x6100ULL
#define BOOT_MEMMAP_GPA	    0x7000ULL
#define BOOT_CMDLINE_GPA    0x20000ULL
#define BOOT_CMDLINE_MAX    4096	/* bytes, including the NUL */
#define BOOT_ACPI_GPA	    0xe0000ULL	/* ACPI tables: in the reserved [0xa0000, 1 MiB) */
#define BOOT_ACPI_MAX	    0x20000ULL	/* up to 1 MiB */
#define BOOT_KERNEL_MIN	    0x100000ULL /* PT_LOAD segments start at or above 1 MiB */
#define BOOT_LOWMEM_END	    0xa0000ULL	/* RAM below the VGA hole */
#define BOOT_SEG_MAX	    16
#define BOOT_MEMMAP_MAX	    8

/* struct hvm_start_info and friends (Xen's public/arch-x86/hvm/start_info.h, version 1). */
#define HVM_START_MAGIC		 0x336ec578U
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define E820_RAM		 1
#define E820_RESERVED		 2

/**
 * struct hvm_start_info - what EBX points at on PVH entry.
 * @magic: HVM_START_MAGIC.
 * @version: 1 (has the memory map).
 * @flags: 0.
 * @nr_modules: 1 with an initrd, else 0.
 * @modlist_paddr: the struct hvm_modlist_entry array.
 * @cmdline_paddr: NUL-terminated command line.
 * @rsdp_paddr: ACPI RSDP (set by boot_acpi_setup(), else 0).
 * @memmap_paddr: the struct hvm_memmap_table_entry array.
 * @memmap_entries: its length.
 * @reserved: 0.
 */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

/**
 * struct hvm_modlist_entry - one module (the initrd).
 * @paddr: where it is.
 * @size: its bytes.
 * @cmdline_paddr: 0.
 * @reserved: 0.
 */
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/**
 * struct hvm_memmap_table_entry - one E820 range.
 * @addr: start.
 * @size: bytes.
 * @type: E820_RAM, E820_RESERVED, ...
 * @reserved: 0.
 */
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/**
 * struct boot_seg - one PT_LOAD segment: file bytes [@off, @off + @filesz) go to guest
 * [@paddr, @paddr + @filesz); the rest up to @memsz is zeroed.
 * @off: file offset.
 * @filesz: bytes from the file.
 * @paddr: guest-physical destination.
 * @memsz: bytes in memory (>= @filesz).
 */
struct boot_seg {
	uint64_t off;
	uint64_t filesz;
	uint64_t paddr;
	uint64_t memsz;
};

/**
 * struct boot_plan - a parsed kernel.
 * @entry: the 32-bit PVH entry (guest-physical).
 * @nseg: segments in @seg.
 * @seg: the PT_LOAD segments with memsz > 0.
 * @end: the first byte above every segment.
 */
struct boot_plan {
	uint32_t entry;
	unsigned nseg;
	struct boot_seg seg[BOOT_SEG_MAX];
	uint64_t end;
};

/**
 * boot_elf_parse() - check an ELF image and plan its loading.
 * @buf: the whole file.
 * @len: its size.
 * @ram_size: guest RAM; every segment must lie in [BOOT_KERNEL_MIN, @ram_size).
 * @plan: filled in on success.
 * @err: on failure, "<why> (<what to do>)" (the caller names the file).
 * @errlen: size of @err.
 *
 * Accepts ELF32 (EM_386) and ELF64 (EM_X86_64), little-endian, with a PT_NOTE holding the
 * note "Xen" type XEN_ELFNOTE_PHYS32_ENTRY; at most BOOT_SEG_MAX non-empty PT_LOADs, each
 * inside the file and inside RAM; the entry inside one of them.
 *
 * Return: 0, or -1 with @err set.
 */
int boot_elf_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct boot_plan *plan,
		   char *err, size_t errlen);

/**
 * struct boot_info - where boot_pvh_setup() put things.
 * @initrd_gpa: the initrd's address (0 without one).
 * @memmap_entries: entries of the memory map.
 */
struct boot_info {
	uint64_t initrd_gpa;
	uint32_t memmap_entries;
};

/**
 * boot_memmap() - the guest's memory map (the same for PVH's memmap and a bzImage's e820):
 * RAM below 640 KiB, the [0xA0000, 1 MiB) hole reserved, RAM from 1 MiB to the top of low RAM,
 * and the RAM above 4 GiB when there is some.
 * @mem: guest RAM.
 * @e: filled with the entries.
 *
 * Return: entries written (3 or 4).
 */
uint32_t boot_memmap(const struct vmm_mem *mem, struct hvm_memmap_table_entry e[BOOT_MEMMAP_MAX]);

/**
 * boot_pvh_setup() - load a planned kernel and write the PVH boot data into guest RAM.
 * @mem: guest RAM.
 * @plan: from boot_elf_parse() on @elf with the same RAM size.
 * @elf: the kernel file.
 * @elf_len: its size.
 * @initrd: the initrd bytes, or NULL.
 * @initrd_len: its size (0: no module).
 * @cmdline: the kernel command line (may be empty).
 * @info: filled in.
 * @err: on failure, "<what failed>: <why> (<what to do>)".
 * @errlen: size of @err.
 *
 * The initrd goes page-aligned as high as it fits below the top of RAM, above the kernel.
 * start_info goes at BOOT_START_INFO_GPA: enter the kernel with EBX = that.
 *
 * Return: 0, or -1 with @err set (command line too long, initrd does not fit, RAM too small).
 */
int boot_pvh_setup(const struct vmm_mem *mem, const struct boot_plan *plan, const uint8_t *elf,
		   size_t elf_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		   struct boot_info *info, char *err, size_t errlen);

/**
 * boot_acpi_setup() - build the ACPI tables for @cfg at BOOT_ACPI_GPA in guest RAM and point
 * start_info.rsdp_paddr at their RSDP.
 * @mem: guest RAM, where boot_pvh_setup() has already written start_info.
 * @cfg: what the tables describe.
 * @out: where each table went (filled in on success).
 * @err: on failure, "ACPI tables: <why> (<what to do>)".
 * @errlen: size of @err.
 *
 * Call after boot_pvh_setup(): it patches the start_info that one wrote.
 *
 * Return: 0, or -1 with @err set.
 */
int boot_acpi_setup(const struct vmm_mem *mem, const struct acpi_config *cfg,
		    struct acpi_layout *out, char *err, size_t errlen);

#endif
