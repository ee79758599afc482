/* The kernel-loading front of sbx-vmm: tell a PVH ELF from a bzImage by its bytes, then hand
 * each to its loader (boot.c or bzimage.c), point it at the ACPI tables and set the boot
 * vCPU's entry state (vmm_vcpu_set_pvh() or vmm_vcpu_set_long64()). Owns only the dispatch;
 * never parses a format itself. */
#ifndef SBX_VMM_LOADER_H
#define SBX_VMM_LOADER_H

#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/bzimage.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#include <stddef.h>
#include <stdint.h>

/**
 * enum loader_kind - the kernel format.
 * @LOADER_PVH: an ELF vmlinux entered through PVH (32-bit).
 * @LOADER_BZIMAGE: a bzImage entered through the 64-bit boot protocol.
 */
enum loader_kind { LOADER_PVH, LOADER_BZIMAGE };

/**
 * struct loader_kernel - a parsed kernel.
 * @kind: its format.
 * @pvh: the plan when @kind is LOADER_PVH.
 * @bz: the plan when @kind is LOADER_BZIMAGE.
 * @initrd_gpa: where loader_setup() put the initrd (0: none).
 */
struct loader_kernel {
	enum loader_kind kind;
	struct boot_plan pvh;
	struct bz_plan bz;
	uint64_t initrd_gpa;
};

/**
 * loader_parse() - detect and parse a kernel image.
 * @buf: the whole file.
 * @len: its size.
 * @ram_size: guest RAM.
 * @k: filled in on success.
 * @err: on failure, "<why> (<what to do>)" (the caller names --kernel and the file).
 * @errlen: size of @err.
 *
 * A file with the boot flag and "HdrS" is a bzImage, anything else must be a PVH ELF.
 *
 * Return: 0, or -1 with @err set.
 */
int loader_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct loader_kernel *k,
		 char *err, size_t errlen);

/**
 * loader_setup() - load @k, the initrd and the command line and write the boot data.
 * @mem: guest RAM.
 * @k: from loader_parse() with the same RAM size.
 * @img: the kernel file.
 * @img_len: its size.
 * @initrd: the initrd bytes, or NULL.
 * @initrd_len: its size.
 * @cmdline: the kernel command line.
 * @err: on failure, one line.
 * @errlen: size of @err.
 *
 * Return: 0, or -1 with @err set.
 */
int loader_setup(const struct vmm_mem *mem, struct loader_kernel *k, const uint8_t *img,
		 size_t img_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		 char *err, size_t errlen);

/**
 * loader_acpi() - build the ACPI tables (boot_acpi_setup()) and tell the kernel their RSDP
 * (start_info.rsdp_paddr, or boot_params.acpi_rsdp_addr for a bzImage).
 * @mem: guest RAM, after loader_setup().
 * @k: the kernel.
 * @cfg: what the tables describe.
 * @out: where each table went.
 * @err: on failure, one line.
 * @errlen: size of @err.
 *
 * Return: 0, or -1 with @err set.
 */
int loader_acpi(const struct vmm_mem *mem, const struct loader_kernel *k,
		const struct acpi_config *cfg, struct acpi_layout *out, char *err, size_t errlen);

/**
 * loader_enter() - set the boot vCPU's entry state for @k.
 * @c: the boot vCPU.
 * @mem: guest RAM (the 64-bit entry's page tables go there).
 * @k: the kernel.
 * @err: on failure, one line.
 * @errlen: size of @err.
 *
 * Syscalls: those of vmm_vcpu_set_pvh() / vmm_vcpu_set_long64().
 *
 * Return: 0, or -1 with @err set.
 */
int loader_enter(struct vmm_vcpu *c, const struct vmm_mem *mem, const struct loader_kernel *k,
		 char *err, size_t errlen);

#endif
