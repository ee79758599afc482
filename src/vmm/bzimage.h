/* Direct kernel boot of a bzImage through Linux's 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): parse the setup header into a plan (pure, bounds-checked,
 * fuzzed), then load the protected-mode payload, the cmdline and the initrd and write the zero
 * page (struct boot_params: e820, cmd_line_ptr, ramdisk, acpi_rsdp_addr, the image's header).
 * Owns BZ_BOOT_PARAMS_GPA; never touches KVM (the caller enters at plan.entry64 with
 * RSI = BZ_BOOT_PARAMS_GPA through vmm_vcpu_set_long64()). */
#ifndef SBX_VMM_BZIMAGE_H
#define SBX_VMM_BZIMAGE_H

#include "vmm/kvm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BZ_BOOT_PARAMS_GPA 0x8000ULL /* the zero page: beside boot.c's PVH data, below 1 MiB */
#define BZ_BOOT_PARAMS_LEN 4096
#define BZ_SETUP_HDR_OFF   0x1f1       /* struct setup_header inside the file and the zero page */
#define BZ_SETUP_HDR_END   0x26c       /* its end for protocol 2.15 */
#define BZ_VERSION_MIN	   0x020c      /* 2.12: xloadflags, the 64-bit entry */
#define BZ_HDRS_MAGIC	   0x53726448U /* "HdrS" */
#define BZ_BOOT_FLAG	   0xaa55
#define BZ_XLF_KERNEL_64   0x1	/* xloadflags: has the 64-bit entry at load address + 0x200 */
#define BZ_LOADED_HIGH	   0x1	/* loadflags: protected-mode code at 1 MiB or above */
#define BZ_CAN_USE_HEAP	   0x80 /* loadflags: heap_end_ptr is valid */
#define BZ_LOADER_UNDEF	   0xff /* type_of_loader: a loader without an assigned id */
#define BZ_E820_MAX	   128	/* boot_params.e820_table entries */

/* Zero-page (struct boot_params) offsets this loader writes. */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_E820_TABLE	     0x2d0 /* 20-byte packed entries: u64 addr, u64 size, u32 type */
#define BP_E820_ENTRY_LEN    20
/* setup_header offsets, counted from the start of the file / zero page. */
#define BP_SETUP_SECTS	    0x1f1
#define BP_BOOT_FLAG	    0x1fe
#define BP_HEADER	    0x202
#define BP_VERSION	    0x206
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS	    0x211
#define BP_CODE32_START	    0x214
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE	    0x21c
#define BP_HEAP_END_PTR	    0x224
#define BP_CMD_LINE_PTR	    0x228
#define BP_INITRD_ADDR_MAX  0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE	    0x234
#define BP_XLOADFLAGS	    0x236
#define BP_CMDLINE_SIZE	    0x238
#define BP_PREF_ADDRESS	    0x258
#define BP_INIT_SIZE	    0x260

/**
 * struct bz_plan - a parsed bzImage.
 * @version: the boot protocol version (>= BZ_VERSION_MIN).
 * @hdr_end: bytes of the file copied into the zero page from BZ_SETUP_HDR_OFF's start: the
 *	setup header as long as the image's jump at 0x200 says it is (at most BZ_SETUP_HDR_END).
 * @payload_off: file offset of the protected-mode kernel ((setup_sects + 1) * 512).
 * @payload_len: its bytes (the rest of the file).
 * @load_addr: where it goes in guest RAM (pref_address, or 1 MiB).
 * @init_size: bytes the kernel needs from @load_addr (>= @payload_len).
 * @entry64: the 64-bit entry, @load_addr + 0x200.
 * @cmdline_max: longest command line the kernel takes, without the NUL.
 * @initrd_max: highest byte address an initrd may use (initrd_addr_max).
 */
struct bz_plan {
	uint16_t version;
	uint32_t hdr_end;
	uint64_t payload_off;
	uint64_t payload_len;
	uint64_t load_addr;
	uint64_t init_size;
	uint64_t entry64;
	uint32_t cmdline_max;
	uint32_t initrd_max;
};

/**
 * bz_is_bzimage() - whether @buf looks like a bzImage (boot flag 0xaa55 and "HdrS").
 * @buf: the file.
 * @len: its size.
 *
 * Return: true if it has the magics (bz_parse() still checks everything else).
 */
bool bz_is_bzimage(const uint8_t *buf, size_t len);

/**
 * bz_parse() - check a bzImage's setup header and plan its loading.
 * @buf: the whole file.
 * @len: its size.
 * @ram_size: guest RAM; [@load_addr, @load_addr + init_size) must fit.
 * @plan: filled in on success.
 * @err: on failure, "<why> (<what to do>)" (the caller names --kernel and the file).
 * @errlen: size of @err.
 *
 * Refuses: a file shorter than its setup, no boot flag or "HdrS", protocol < 2.12, no
 * XLF_KERNEL_64, a payload outside the file, LOADED_HIGH clear, a relocatable kernel whose
 * pref_address is not aligned to a power-of-two kernel_alignment, pref_address below 1 MiB,
 * init_size smaller than the payload or not fitting in RAM.
 *
 * Return: 0, or -1 with @err set.
 */
int bz_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct bz_plan *plan, char *err,
	     size_t errlen);

/**
 * struct bz_info - where bz_setup() put things.
 * @initrd_gpa: the initrd (0 without one).
 * @e820_entries: entries of boot_params.e820_table.
 */
struct bz_info {
	uint64_t initrd_gpa;
	uint32_t e820_entries;
};

/**
 * bz_setup() - load a planned bzImage and write the zero page at BZ_BOOT_PARAMS_GPA.
 * @mem: guest RAM.
 * @plan: from bz_parse() on @img with the same RAM size.
 * @img: the file.
 * @img_len: its size.
 * @initrd: the initrd bytes, or NULL.
 * @initrd_len: its size (0: none).
 * @cmdline: the kernel command line (may be empty), written at BOOT_CMDLINE_GPA.
 * @info: filled in.
 * @err: on failure, "<what failed>: <why> (<what to do>)".
 * @errlen: size of @err.
 *
 * The e820 map is boot.c's PVH map (RAM, the [0xa0000, 1 MiB) hole, RAM to the top); the
 * initrd goes page-aligned as high as it fits below min(top of RAM, initrd_addr_max + 1),
 * above the kernel's init_size.
 *
 * Return: 0, or -1 with @err set.
 */
int bz_setup(const struct vmm_mem *mem, const struct bz_plan *plan, const uint8_t *img,
	     size_t img_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
	     struct bz_info *info, char *err, size_t errlen);

/**
 * bz_set_rsdp() - write the RSDP's address into the zero page (acpi_rsdp_addr).
 * @mem: guest RAM, where bz_setup() wrote the zero page.
 * @rsdp: the RSDP's guest-physical address.
 *
 * Return: 0, or -1 if the zero page is outside RAM.
 */
int bz_set_rsdp(const struct vmm_mem *mem, uint64_t rsdp);

#endif
