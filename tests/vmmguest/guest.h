/* Shared by the sbx-vmm test guests (assembly, 32-bit, PVH entry): the ports and the
 * struct hvm_start_info offsets they use, and the PVH ELF note. Must match src/vmm/boot.h,
 * serial.h and debug_exit.h (tests/unit/vmm_boot_test.c checks the offsets); the ACPI offsets
 * are the specification's (ACPI 6.5 chapter 5), which src/vmm/acpi.c writes. */
#ifndef SBX_TESTS_VMMGUEST_GUEST_H
#define SBX_TESTS_VMMGUEST_GUEST_H

#define COM1	       0x3f8
#define DEBUG_EXIT     0x501
#define SI_MAGIC_VALUE 0x336ec578

#define SI_MAGIC	  0
#define SI_NR_MODULES	  12
#define SI_MODLIST_PADDR  16
#define SI_CMDLINE_PADDR  24
#define SI_RSDP_PADDR	  32
#define SI_MEMMAP_ENTRIES 48
#define MOD_SIZE	  8

/* ACPI: the RSDP, the common table header, the FADT's SLEEP_CONTROL_REG and a Generic Address
 * Structure; signatures as little-endian dwords. */
#define RSDP_SIG_LO	   0x20445352 /* "RSD " */
#define RSDP_SIG_HI	   0x20525450 /* "PTR " */
#define RSDP_CSUM_LEN	   20	      /* the ACPI 1.0 part the first checksum covers */
#define RSDP_REVISION	   15
#define RSDP_XSDT	   24
#define ACPI_LENGTH	   4
#define ACPI_HDR_LEN	   36
#define SIG_XSDT	   0x54445358 /* "XSDT" */
#define SIG_FACP	   0x50434146 /* "FACP" (the FADT) */
#define FADT_SLEEP_CTL	   244
#define GAS_SPACE	   0
#define GAS_ADDR	   4
#define GAS_LEN		   12
#define GAS_SPACE_IO	   1
#define ACPI_SLP_TYP_S5_EN ((5 << 2) | (1 << 5)) /* SLP_TYP = _S5's 5, SLP_EN */

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
