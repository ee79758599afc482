/* Shared by the sbx-vmm test guests (assembly, 32-bit, PVH entry): the ports and the
 * struct hvm_start_info offsets they use, and the PVH ELF note. Must match src/vmm/boot.h,
 * serial.h and debug_exit.h (tests/unit/vmm_boot_test.c checks the offsets). */
#ifndef SBX_TESTS_VMMGUEST_GUEST_H
#define SBX_TESTS_VMMGUEST_GUEST_H

#define COM1	       0x3f8
#define DEBUG_EXIT     0x501
#define SI_MAGIC_VALUE 0x336ec578

#define SI_MAGIC	  0
#define SI_NR_MODULES	  12
#define SI_MODLIST_PADDR  16
#define SI_CMDLINE_PADDR  24
#define SI_MEMMAP_ENTRIES 48
#define MOD_SIZE	  8

/* The note sbx-vmm (and QEMU, Firecracker, cloud-hypervisor) look for: "Xen", type 18
 * (XEN_ELFNOTE_PHYS32_ENTRY), the 32-bit entry address. */
/* clang-format off */
#define PVH_NOTE(entry)                                                                            \
	.pushsection .note.pvh, "a", @note;                                                         \
	.balign 4;                                                                                 \
	.long 4, 4, 18;                                                                            \
	.asciz "Xen";                                                                              \
	.long entry;                                                                               \
	.popsection
/* clang-format on */

#endif
