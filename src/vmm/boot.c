/* PVH direct boot (see boot.h): the ELF parser (pure, fuzzed: every length and offset from the
 * file is checked before use) and the writer of the boot data, which touches guest RAM only
 * through vmm_mem_ptr(). */
#include "vmm/boot.h"

#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A program header, whichever the ELF class. */
struct phdr {
	uint32_t type;
	uint64_t off, filesz, paddr, memsz;
};

/* The ELF header fields we need, whichever the class. */
struct ehdr {
	bool is64;
	uint64_t phoff;
	uint16_t phentsize, phnum;
};

/* Whether [off, off + n) lies inside [0, len). */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static int ehdr_read(const uint8_t *buf, size_t len, struct ehdr *h, char *err, size_t errlen)
{
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "not an ELF file (give the vmlinux, not a bzImage)");
		return -1;
	}
	if (buf[EI_DATA] != ELFDATA2LSB ||
	    (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64)) {
		snprintf(err, errlen, "not a little-endian ELF32/ELF64 (give an x86 vmlinux)");
		return -1;
	}
	h->is64 = buf[EI_CLASS] == ELFCLASS64;
	if (h->is64) {
		Elf64_Ehdr e;

		if (len < sizeof(e))
			goto short_file;
		memcpy(&e, buf, sizeof(e));
		if (e.e_machine != EM_X86_64)
			goto wrong_machine;
		h->phoff = e.e_phoff;
		h->phentsize = e.e_phentsize;
		h->phnum = e.e_phnum;
		if (h->phentsize < sizeof(Elf64_Phdr))
			goto bad_phdrs;
	} else {
		Elf32_Ehdr e;

		if (len < sizeof(e))
			goto short_file;
		memcpy(&e, buf, sizeof(e));
		if (e.e_machine != EM_386 && e.e_machine != EM_X86_64)
			goto wrong_machine;
		h->phoff = e.e_phoff;
		h->phentsize = e.e_phentsize;
		h->phnum = e.e_phnum;
		if (h->phentsize < sizeof(Elf32_Phdr))
			goto bad_phdrs;
	}
	if (h->phnum == 0 || !in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, len))
		goto bad_phdrs;
	return 0;
short_file:
	snprintf(err, errlen,
		 "ELF header truncated (the file is damaged; rebuild or re-extract it)");
	return -1;
wrong_machine:
	snprintf(err, errlen, "ELF is not for x86 (give an x86_64 vmlinux)");
	return -1;
bad_phdrs:
	snprintf(
	    err, errlen,
	    "ELF program headers missing or outside the file (the file is damaged; rebuild it)");
	return -1;
}

static void phdr_read(const uint8_t *buf, const struct ehdr *h, unsigned i, struct phdr *p)
{
	const uint8_t *at = buf + h->phoff + (uint64_t)i * h->phentsize;

	if (h->is64) {
		Elf64_Phdr q;

		memcpy(&q, at, sizeof(q));
		*p = (struct phdr){q.p_type, q.p_offset, q.p_filesz, q.p_paddr, q.p_memsz};
	} else {
		Elf32_Phdr q;

		memcpy(&q, at, sizeof(q));
		*p = (struct phdr){q.p_type, q.p_offset, q.p_filesz, q.p_paddr, q.p_memsz};
	}
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Walk the notes of one PT_NOTE (its bytes already checked inside the file) for Xen's
 * PHYS32_ENTRY. Return: 1 found (*entry set), 0 not there, -1 malformed. */
static int find_pvh_note(const uint8_t *n, uint64_t size, uint32_t *entry)
{
	uint64_t pos = 0;

	while (size - pos >= 12) {
		uint32_t namesz = rd32(n + pos), descsz = rd32(n + pos + 4),
			 type = rd32(n + pos + 8);
		uint64_t name_al = ((uint64_t)namesz + 3) & ~3ULL,
			 desc_al = ((uint64_t)descsz + 3) & ~3ULL;
		const uint8_t *name = n + pos + 12, *desc = name + name_al;

		if (name_al > size - pos - 12 || desc_al > size - pos - 12 - name_al)
			return -1;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(name, "Xen", 4) == 0) {
			if (descsz != 4 && descsz != 8)
				return -1;
			if (descsz == 8 && rd32(desc + 4) != 0)
				return -1;
			*entry = rd32(desc);
			return 1;
		}
		pos += 12 + name_al + desc_al;
	}
	return 0;
}

/* Check one PT_LOAD against the file and RAM and add it to the plan. */
static int add_load(const struct phdr *p, size_t len, uint64_t ram_size, struct boot_plan *plan,
		    char *err, size_t errlen)
{
	if (p->memsz == 0)
		return 0;
	if (p->filesz > p->memsz || !in_file(p->off, p->filesz, len)) {
		snprintf(err, errlen,
			 "a PT_LOAD segment lies outside the file (the file is damaged)");
		return -1;
	}
	if (p->paddr < BOOT_KERNEL_MIN || p->paddr > ram_size || p->memsz > ram_size - p->paddr) {
		snprintf(
		    err, errlen,
		    "a PT_LOAD segment at 0x%llx+0x%llx is outside guest RAM [1 MiB, %llu MiB) "
		    "(raise --mem or check the kernel's load address)",
		    (unsigned long long)p->paddr, (unsigned long long)p->memsz,
		    (unsigned long long)(ram_size >> 20));
		return -1;
	}
	if (plan->nseg == BOOT_SEG_MAX) {
		snprintf(err, errlen, "more than %d PT_LOAD segments (not a kernel image)",
			 BOOT_SEG_MAX);
		return -1;
	}
	plan->seg[plan->nseg++] = (struct boot_seg){p->off, p->filesz, p->paddr, p->memsz};
	if (p->paddr + p->memsz > plan->end)
		plan->end = p->paddr + p->memsz;
	return 0;
}

int boot_elf_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct boot_plan *plan,
		   char *err, size_t errlen)
{
	struct ehdr h;
	int note = 0;
	bool entry_loaded = false;

	memset(plan, 0, sizeof(*plan));
	if (ehdr_read(buf, len, &h, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < h.phnum && note == 0; i++) {
		struct phdr p;

		phdr_read(buf, &h, i, &p);
		if (p.type != PT_NOTE)
			continue;
		if (!in_file(p.off, p.filesz, len)) {
			snprintf(err, errlen,
				 "a PT_NOTE lies outside the file (the file is damaged)");
			return -1;
		}
		note = find_pvh_note(buf + p.off, p.filesz, &plan->entry);
		if (note < 0) {
			snprintf(err, errlen, "malformed ELF note (the file is damaged)");
			return -1;
		}
	}
	if (note == 0) {
		snprintf(err, errlen,
			 "no PVH entry: no ELF note Xen/PHYS32_ENTRY (give a vmlinux "
			 "built with CONFIG_PVH)");
		return -1;
	}
	for (unsigned i = 0; i < h.phnum; i++) {
		struct phdr p;

		phdr_read(buf, &h, i, &p);
		if (p.type == PT_LOAD && add_load(&p, len, ram_size, plan, err, errlen) < 0)
			return -1;
	}
	for (unsigned i = 0; i < plan->nseg; i++)
		if (plan->entry >= plan->seg[i].paddr &&
		    plan->entry - plan->seg[i].paddr < plan->seg[i].memsz)
			entry_loaded = true;
	if (!entry_loaded) {
		snprintf(err, errlen,
			 "the PVH entry 0x%x is in no PT_LOAD segment (the file is damaged)",
			 plan->entry);
		return -1;
	}
	return 0;
}

uint32_t boot_memmap(const struct vmm_mem *mem, struct hvm_memmap_table_entry e[BOOT_MEMMAP_MAX])
{
	e[0] = (struct hvm_memmap_table_entry){0, BOOT_LOWMEM_END, E820_RAM, 0};
	e[1] = (struct hvm_memmap_table_entry){BOOT_LOWMEM_END, BOOT_KERNEL_MIN - BOOT_LOWMEM_END,
					       E820_RESERVED, 0};
	e[2] = (struct hvm_memmap_table_entry){BOOT_KERNEL_MIN, mem->low - BOOT_KERNEL_MIN,
					       E820_RAM, 0};
	if (mem->size <= mem->low)
		return 3;
	e[3] =
	    (struct hvm_memmap_table_entry){VMM_HIGH_RAM_BASE, mem->size - mem->low, E820_RAM, 0};
	return 4;
}

static int load_segments(const struct vmm_mem *mem, const struct boot_plan *plan,
			 const uint8_t *elf, size_t elf_len, char *err, size_t errlen)
{
	for (unsigned i = 0; i < plan->nseg; i++) {
		const struct boot_seg *s = &plan->seg[i];
		uint8_t *dst = vmm_mem_ptr(mem, s->paddr, s->memsz);

		if (!dst || !in_file(s->off, s->filesz, elf_len) || s->filesz > s->memsz) {
			snprintf(err, errlen,
				 "kernel: a segment does not fit in %llu MiB of RAM "
				 "(raise --mem)",
				 (unsigned long long)(mem->size >> 20));
			return -1;
		}
		memcpy(dst, elf + s->off, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

/* Place the initrd page-aligned at the top of RAM, above the kernel. */
static int load_initrd(const struct vmm_mem *mem, const struct boot_plan *plan,
		       const uint8_t *initrd, size_t len, struct boot_info *info, char *err,
		       size_t errlen)
{
	uint64_t kend = (plan->end + 0xfff) & ~0xfffULL, at;
	uint8_t *dst;

	if (len > mem->low || ((mem->low - len) & ~0xfffULL) < kend) {
		snprintf(err, errlen,
			 "initrd: %zu bytes do not fit between the kernel and the top of %llu MiB "
			 "of RAM (raise --mem)",
			 len, (unsigned long long)(mem->low >> 20));
		return -1;
	}
	at = (mem->low - len) & ~0xfffULL;
	dst = vmm_mem_ptr(mem, at, len);
	if (!dst) {
		snprintf(err, errlen, "initrd: outside RAM (raise --mem)");
		return -1;
	}
	memcpy(dst, initrd, len);
	info->initrd_gpa = at;
	return 0;
}

int boot_pvh_setup(const struct vmm_mem *mem, const struct boot_plan *plan, const uint8_t *elf,
		   size_t elf_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		   struct boot_info *info, char *err, size_t errlen)
{
	struct hvm_start_info si = {0};
	struct hvm_memmap_table_entry map[BOOT_MEMMAP_MAX];
	struct hvm_modlist_entry mod = {0};
	size_t clen = strlen(cmdline) + 1;
	void *p_si = vmm_mem_ptr(mem, BOOT_START_INFO_GPA, sizeof(si));
	void *p_mod = vmm_mem_ptr(mem, BOOT_MODLIST_GPA, sizeof(mod));
	void *p_map = vmm_mem_ptr(mem, BOOT_MEMMAP_GPA, sizeof(map));
	void *p_cmd = vmm_mem_ptr(mem, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX);

	memset(info, 0, sizeof(*info));
	if (!p_si || !p_mod || !p_map || !p_cmd || mem->low <= BOOT_KERNEL_MIN) {
		snprintf(err, errlen, "guest RAM: %llu MiB is too small to boot (raise --mem)",
			 (unsigned long long)(mem->size >> 20));
		return -1;
	}
	if (clen > BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "--cmdline: %zu bytes, at most %d (shorten it)", clen - 1,
			 BOOT_CMDLINE_MAX - 1);
		return -1;
	}
	if (load_segments(mem, plan, elf, elf_len, err, errlen) < 0)
		return -1;
	if (initrd_len && load_initrd(mem, plan, initrd, initrd_len, info, err, errlen) < 0)
		return -1;
	memcpy(p_cmd, cmdline, clen);
	info->memmap_entries = boot_memmap(mem, map);
	memcpy(p_map, map, info->memmap_entries * sizeof(map[0]));
	si.magic = HVM_START_MAGIC;
	si.version = 1;
	si.cmdline_paddr = BOOT_CMDLINE_GPA;
	si.memmap_paddr = BOOT_MEMMAP_GPA;
	si.memmap_entries = info->memmap_entries;
	if (initrd_len) {
		mod.paddr = info->initrd_gpa;
		mod.size = initrd_len;
		memcpy(p_mod, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_MODLIST_GPA;
	}
	memcpy(p_si, &si, sizeof(si));
	return 0;
}

int boot_acpi_setup(const struct vmm_mem *mem, const struct acpi_config *cfg,
		    struct acpi_layout *out, char *err, size_t errlen)
{
	uint8_t *area = vmm_mem_ptr(mem, BOOT_ACPI_GPA, BOOT_ACPI_MAX);
	uint8_t *p_rsdp =
	    vmm_mem_ptr(mem, BOOT_START_INFO_GPA + offsetof(struct hvm_start_info, rsdp_paddr),
			sizeof(uint64_t));
	char why[256];

	if (!area || !p_rsdp) {
		snprintf(err, errlen, "ACPI tables: guest RAM too small (raise --mem)");
		return -1;
	}
	if (acpi_build(cfg, area, BOOT_ACPI_MAX, BOOT_ACPI_GPA, out, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "ACPI tables: %s", why);
		return -1;
	}
	memcpy(p_rsdp, &out->rsdp, sizeof(out->rsdp));
	return 0;
}
