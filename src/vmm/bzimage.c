/* bzImage loading (see bzimage.h): the setup-header parser (pure, fuzzed: every field read
 * from the file is bounds-checked first) and the writer of the zero page, which touches guest
 * RAM only through vmm_mem_ptr(). */
#include "vmm/bzimage.h"

#include "vmm/boot.h"

#include <stdio.h>
#include <string.h>

#define SECTOR 512

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void wr(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

bool bz_is_bzimage(const uint8_t *buf, size_t len)
{
	return len >= BP_HEADER + 4 && rd(buf + BP_BOOT_FLAG, 2) == BZ_BOOT_FLAG &&
	       rd(buf + BP_HEADER, 4) == BZ_HDRS_MAGIC;
}

/* The header fields that decide where the payload is and how long the header is. */
static int parse_layout(const uint8_t *buf, size_t len, struct bz_plan *p, char *err, size_t errlen)
{
	unsigned sects;

	if (!bz_is_bzimage(buf, len)) {
		snprintf(err, errlen,
			 "no bzImage setup header (boot flag 0xaa55 and \"HdrS\"; give a bzImage)");
		return -1;
	}
	if (len < BP_INIT_SIZE + 4) {
		snprintf(err, errlen, "setup header truncated (the file is damaged)");
		return -1;
	}
	p->version = (uint16_t)rd(buf + BP_VERSION, 2);
	if (p->version < BZ_VERSION_MIN) {
		snprintf(err, errlen,
			 "boot protocol %u.%02u, need 2.12 or later (give a newer kernel)",
			 (unsigned)p->version >> 8, (unsigned)p->version & 0xffU);
		return -1;
	}
	p->hdr_end = 0x202U + buf[0x201];
	if (buf[0x200] != 0xeb || p->hdr_end < BP_INIT_SIZE + 4) {
		snprintf(err, errlen,
			 "setup header too short for protocol 2.12 (the file is damaged)");
		return -1;
	}
	if (p->hdr_end > BZ_SETUP_HDR_END)
		p->hdr_end = BZ_SETUP_HDR_END;
	if (len < p->hdr_end) {
		snprintf(err, errlen, "setup header truncated (the file is damaged)");
		return -1;
	}
	sects = buf[BP_SETUP_SECTS] ? buf[BP_SETUP_SECTS] : 4;
	p->payload_off = (uint64_t)(sects + 1) * SECTOR;
	if (p->payload_off >= len) {
		snprintf(err, errlen,
			 "setup_sects %u puts the kernel past the end of the file (the file is "
			 "damaged)",
			 sects);
		return -1;
	}
	p->payload_len = len - p->payload_off;
	return 0;
}

/* Where the payload goes and how much room it needs. */
static int parse_placement(const uint8_t *buf, uint64_t ram_size, struct bz_plan *p, char *err,
			   size_t errlen)
{
	uint64_t align = rd(buf + BP_KERNEL_ALIGNMENT, 4);

	if (!(rd(buf + BP_XLOADFLAGS, 2) & BZ_XLF_KERNEL_64)) {
		snprintf(err, errlen,
			 "no 64-bit entry (XLF_KERNEL_64 clear; give an x86_64 kernel)");
		return -1;
	}
	if (!(buf[BP_LOADFLAGS] & BZ_LOADED_HIGH)) {
		snprintf(err, errlen,
			 "not a bzImage (LOADED_HIGH clear: a zImage; give a bzImage)");
		return -1;
	}
	p->load_addr = rd(buf + BP_PREF_ADDRESS, 8);
	if (p->load_addr < BOOT_KERNEL_MIN || p->load_addr >= ram_size) {
		snprintf(err, errlen,
			 "pref_address 0x%llx is outside guest RAM [1 MiB, %llu MiB) (raise --mem "
			 "or check the kernel)",
			 (unsigned long long)p->load_addr, (unsigned long long)(ram_size >> 20));
		return -1;
	}
	if (buf[BP_RELOCATABLE] &&
	    (align == 0 || (align & (align - 1)) != 0 || (p->load_addr & (align - 1)) != 0)) {
		snprintf(err, errlen,
			 "kernel_alignment 0x%llx is not a power of two dividing pref_address "
			 "(the file is damaged)",
			 (unsigned long long)align);
		return -1;
	}
	p->init_size = rd(buf + BP_INIT_SIZE, 4);
	if (p->init_size < p->payload_len) {
		snprintf(err, errlen,
			 "init_size 0x%llx is smaller than the kernel's 0x%llx bytes (the file is "
			 "damaged)",
			 (unsigned long long)p->init_size, (unsigned long long)p->payload_len);
		return -1;
	}
	if (p->init_size > ram_size - p->load_addr) {
		snprintf(err, errlen,
			 "the kernel needs %llu MiB from 0x%llx (init_size), more than %llu MiB "
			 "of RAM (raise --mem)",
			 (unsigned long long)((p->init_size + 0xfffff) >> 20),
			 (unsigned long long)p->load_addr, (unsigned long long)(ram_size >> 20));
		return -1;
	}
	p->entry64 = p->load_addr + 0x200;
	p->cmdline_max = (uint32_t)rd(buf + BP_CMDLINE_SIZE, 4);
	p->initrd_max = (uint32_t)rd(buf + BP_INITRD_ADDR_MAX, 4);
	return 0;
}

int bz_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct bz_plan *plan, char *err,
	     size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	if (parse_layout(buf, len, plan, err, errlen) < 0 ||
	    parse_placement(buf, ram_size, plan, err, errlen) < 0) {
		memset(plan, 0, sizeof(*plan));
		return -1;
	}
	return 0;
}

/* boot.c's PVH memory map, packed as boot_params.e820_table. Return: entries written. */
static uint32_t e820_build(uint8_t *zp, const struct vmm_mem *mem)
{
	struct hvm_memmap_table_entry map[BOOT_MEMMAP_MAX];
	uint32_t n = boot_memmap(mem, map);

	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * BP_E820_ENTRY_LEN;

		wr(e, 8, map[i].addr);
		wr(e + 8, 8, map[i].size);
		wr(e + 16, 4, map[i].type);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	return n;
}

/* Place the initrd page-aligned as high as the kernel allows, above its init_size. */
static int load_initrd(const struct vmm_mem *mem, const struct bz_plan *plan, uint8_t *zp,
		       const uint8_t *initrd, size_t len, struct bz_info *info, char *err,
		       size_t errlen)
{
	uint64_t top = mem->low, kend = (plan->load_addr + plan->init_size + 0xfff) & ~0xfffULL;
	uint64_t at;
	uint8_t *dst;

	if ((uint64_t)plan->initrd_max + 1 < top)
		top = (uint64_t)plan->initrd_max + 1;
	if (len > top || ((top - len) & ~0xfffULL) < kend) {
		snprintf(err, errlen,
			 "initrd: %zu bytes do not fit between the kernel and 0x%llx (top of RAM "
			 "or the kernel's initrd_addr_max) (raise --mem)",
			 len, (unsigned long long)top);
		return -1;
	}
	at = (top - len) & ~0xfffULL;
	dst = vmm_mem_ptr(mem, at, len);
	if (!dst) {
		snprintf(err, errlen, "initrd: outside RAM (raise --mem)");
		return -1;
	}
	memcpy(dst, initrd, len);
	wr(zp + BP_RAMDISK_IMAGE, 4, at);
	wr(zp + BP_RAMDISK_SIZE, 4, len);
	wr(zp + BP_EXT_RAMDISK_IMAGE, 4, at >> 32);
	wr(zp + BP_EXT_RAMDISK_SIZE, 4, (uint64_t)len >> 32);
	info->initrd_gpa = at;
	return 0;
}

int bz_setup(const struct vmm_mem *mem, const struct bz_plan *plan, const uint8_t *img,
	     size_t img_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
	     struct bz_info *info, char *err, size_t errlen)
{
	size_t clen = strlen(cmdline) + 1;
	uint8_t *zp = vmm_mem_ptr(mem, BZ_BOOT_PARAMS_GPA, BZ_BOOT_PARAMS_LEN);
	uint8_t *p_cmd = vmm_mem_ptr(mem, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX);
	uint8_t *dst = vmm_mem_ptr(mem, plan->load_addr, plan->init_size);

	memset(info, 0, sizeof(*info));
	if (!zp || !p_cmd || !dst || plan->payload_len > plan->init_size ||
	    plan->payload_off > img_len || plan->payload_len > img_len - plan->payload_off ||
	    plan->hdr_end > img_len || plan->hdr_end > BZ_SETUP_HDR_END) {
		snprintf(err, errlen,
			 "--kernel: the bzImage does not fit in %llu MiB of RAM (raise --mem)",
			 (unsigned long long)(mem->size >> 20));
		return -1;
	}
	if (clen > BOOT_CMDLINE_MAX || clen - 1 > plan->cmdline_max) {
		snprintf(err, errlen,
			 "--cmdline: %zu bytes, the kernel takes at most %u (shorten it)", clen - 1,
			 plan->cmdline_max < BOOT_CMDLINE_MAX - 1 ? plan->cmdline_max
								  : BOOT_CMDLINE_MAX - 1);
		return -1;
	}
	memset(zp, 0, BZ_BOOT_PARAMS_LEN);
	memcpy(zp + BZ_SETUP_HDR_OFF, img + BZ_SETUP_HDR_OFF, plan->hdr_end - BZ_SETUP_HDR_OFF);
	memcpy(dst, img + plan->payload_off, plan->payload_len);
	if (initrd_len && load_initrd(mem, plan, zp, initrd, initrd_len, info, err, errlen) < 0)
		return -1;
	memcpy(p_cmd, cmdline, clen);
	zp[BP_TYPE_OF_LOADER] = BZ_LOADER_UNDEF;
	zp[BP_LOADFLAGS] |= BZ_CAN_USE_HEAP;
	wr(zp + BP_HEAP_END_PTR, 2, 0xfe00);
	wr(zp + BP_CODE32_START, 4, plan->load_addr);
	wr(zp + BP_CMD_LINE_PTR, 4, BOOT_CMDLINE_GPA);
	info->e820_entries = e820_build(zp, mem);
	return 0;
}

int bz_set_rsdp(const struct vmm_mem *mem, uint64_t rsdp)
{
	uint8_t *p = vmm_mem_ptr(mem, BZ_BOOT_PARAMS_GPA + BP_ACPI_RSDP_ADDR, 8);

	if (!p)
		return -1;
	wr(p, 8, rsdp);
	return 0;
}
