/* Kernel-loading dispatch (see loader.h): ELF/PVH to boot.c, bzImage to bzimage.c. */
#include "vmm/loader.h"

#include <stdio.h>
#include <string.h>

int loader_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct loader_kernel *k,
		 char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (bz_is_bzimage(buf, len)) {
		k->kind = LOADER_BZIMAGE;
		return bz_parse(buf, len, ram_size, &k->bz, err, errlen);
	}
	if (len < 4 || memcmp(buf, "\177ELF", 4) != 0) {
		snprintf(err, errlen,
			 "not an ELF vmlinux nor a bzImage (give a PVH vmlinux or a bzImage)");
		return -1;
	}
	k->kind = LOADER_PVH;
	return boot_elf_parse(buf, len, ram_size, &k->pvh, err, errlen);
}

int loader_setup(const struct vmm_mem *mem, struct loader_kernel *k, const uint8_t *img,
		 size_t img_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		 char *err, size_t errlen)
{
	if (k->kind == LOADER_BZIMAGE) {
		struct bz_info bi;

		if (bz_setup(mem, &k->bz, img, img_len, initrd, initrd_len, cmdline, &bi, err,
			     errlen) < 0)
			return -1;
		k->initrd_gpa = bi.initrd_gpa;
	} else {
		struct boot_info pi;

		if (boot_pvh_setup(mem, &k->pvh, img, img_len, initrd, initrd_len, cmdline, &pi,
				   err, errlen) < 0)
			return -1;
		k->initrd_gpa = pi.initrd_gpa;
	}
	return 0;
}

int loader_acpi(const struct vmm_mem *mem, const struct loader_kernel *k,
		const struct acpi_config *cfg, struct acpi_layout *out, char *err, size_t errlen)
{
	if (boot_acpi_setup(mem, cfg, out, err, errlen) < 0)
		return -1;
	if (k->kind == LOADER_BZIMAGE && bz_set_rsdp(mem, out->rsdp) < 0) {
		snprintf(err, errlen, "ACPI tables: the zero page is outside RAM (raise --mem)");
		return -1;
	}
	return 0;
}

int loader_enter(struct vmm_vcpu *c, const struct vmm_mem *mem, const struct loader_kernel *k,
		 char *err, size_t errlen)
{
	if (k->kind == LOADER_BZIMAGE)
		return vmm_vcpu_set_long64(c, mem, k->bz.entry64, BZ_BOOT_PARAMS_GPA, err, errlen);
	return vmm_vcpu_set_pvh(c, k->pvh.entry, (uint32_t)BOOT_START_INFO_GPA, err, errlen);
}
