/* Unit tests of sbx-vmm's PVH boot (src/vmm/boot.c) on synthetic ELF64/ELF32 images: the load
 * plan, bad images refused with one-line reasons, and the start_info / memmap / modlist /
 * cmdline layout written into a RAM buffer, the ACPI tables placed at BOOT_ACPI_GPA with
 * start_info.rsdp_paddr pointing at them; plus the bounds-checked RAM accessor (kvm.c), the
 * I/O bus (bus.c) and the UART's registers (serial.c). */
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/serial.h"
#include "t.h"

#include "../vmmguest/guest.h"

#include <elf.h>
#include <stddef.h>
#include <unistd.h>

#define RAM (16ULL << 20)

static char err[256];
static uint8_t img[8192];

/* An ELF64 with one PT_LOAD (code at file 0x1000 -> @paddr, @filesz/@memsz) and a PT_NOTE
 * holding the PVH note with @entry (no note if @note is 0). Return: the image size. */
static size_t elf64(uint64_t paddr, uint64_t filesz, uint64_t memsz, uint32_t entry, int note)
{
	Elf64_Ehdr e = {0};
	Elf64_Phdr ph[2] = {{0}};
	uint32_t n[6] = {4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0, entry, 0};

	memset(img, 0, sizeof(img));
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	e.e_type = ET_EXEC;
	e.e_machine = EM_X86_64;
	e.e_phoff = sizeof(e);
	e.e_phentsize = sizeof(Elf64_Phdr);
	e.e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0x1000,
			     .p_paddr = paddr,
			     .p_filesz = filesz,
			     .p_memsz = memsz};
	ph[1] = (Elf64_Phdr){.p_type = note ? PT_NOTE : PT_NULL, .p_offset = 0x800, .p_filesz = 20};
	memcpy(img, &e, sizeof(e));
	memcpy(img + sizeof(e), ph, sizeof(ph));
	memcpy(n + 3, "Xen", 4);
	memcpy(img + 0x800, n, 20);
	for (size_t i = 0; i < 0x1000 && 0x1000 + i < sizeof(img); i++)
		img[0x1000 + i] = (uint8_t)(i + 1);
	return 0x1000 + (size_t)(filesz < 0x1000 ? filesz : 0x1000);
}

TEST(elf64_plan)
{
	struct boot_plan p;
	size_t len = elf64(0x200000, 0x100, 0x3000, 0x200010, 1);

	CHECK_EQ(boot_elf_parse(img, len, RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.entry, 0x200010);
	CHECK_EQ(p.nseg, 1);
	CHECK_EQ(p.seg[0].paddr, 0x200000);
	CHECK_EQ(p.seg[0].filesz, 0x100);
	CHECK_EQ(p.seg[0].memsz, 0x3000);
	CHECK_EQ(p.end, 0x203000);
}

TEST(elf32_plan)
{
	Elf32_Ehdr e = {0};
	Elf32_Phdr ph[2] = {{0}};
	uint32_t n[6] = {4, 8, XEN_ELFNOTE_PHYS32_ENTRY, 0, 0x100004, 0};
	struct boot_plan p;

	memset(img, 0, sizeof(img));
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS32;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_machine = EM_386;
	e.e_phoff = sizeof(e);
	e.e_phentsize = sizeof(Elf32_Phdr);
	e.e_phnum = 2;
	ph[0] = (Elf32_Phdr){.p_type = PT_NOTE, .p_offset = 0x100, .p_filesz = 24};
	ph[1] = (Elf32_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0x200,
			     .p_paddr = 0x100000,
			     .p_filesz = 0x10,
			     .p_memsz = 0x10};
	memcpy(img, &e, sizeof(e));
	memcpy(img + sizeof(e), ph, sizeof(ph));
	memcpy(n + 3, "Xen", 4);
	memcpy(img + 0x100, n, 24); /* an 8-byte descriptor */
	CHECK_EQ(boot_elf_parse(img, 0x210, RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.entry, 0x100004);
	CHECK_EQ(p.nseg, 1);
	CHECK_EQ(p.end, 0x100010);
}

/* Parse must fail and @want be in the message. */
static void refused(size_t len, uint64_t ram, const char *want)
{
	struct boot_plan p;

	err[0] = '\0';
	CHECK_EQ(boot_elf_parse(img, len, ram, &p, err, sizeof(err)), -1);
	if (!strstr(err, want)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want, err);
		t_cur_failed = 1;
	}
	CHECK(!strchr(err, '\n'));
}

TEST(bad_elfs_refused)
{
	size_t len;

	memcpy(img, "MZ\0\0not an elf", 15);
	refused(15, RAM, "not an ELF");
	refused(3, RAM, "not an ELF");
	len = elf64(0x200000, 0x100, 0x100, 0x200000, 0);
	refused(len, RAM, "no PVH entry");
	len = elf64(0x200000, 0x100, 0x100, 0x200000, 1);
	refused(sizeof(Elf64_Ehdr) + 10, RAM, "program headers");
	refused(0x1080, RAM, "outside the file"); /* the segment's bytes are cut off */
	len = elf64(0x200000, 0x100, 0x100, 0x300000, 1);
	refused(len, RAM, "in no PT_LOAD");
	len = elf64(0x80000, 0x100, 0x100, 0x80000, 1);
	refused(len, RAM, "outside guest RAM"); /* below 1 MiB: the boot area */
	len = elf64(0xff0000, 0x100, 0x20000, 0xff0000, 1);
	refused(len, RAM, "raise --mem");
	len = elf64(0xfffffffffffff000ULL, 0x100, 0x2000, 0, 1);
	refused(len, RAM, "outside guest RAM"); /* paddr + memsz overflows */
	len = elf64(0x200000, 0x200, 0x100, 0x200000, 1);
	refused(len, RAM, "outside the file"); /* filesz > memsz */
	len = elf64(0x200000, 0x100, 0x100, 0x200000, 1);
	img[EI_CLASS] = 7;
	refused(len, RAM, "ELF32/ELF64");
	img[EI_CLASS] = ELFCLASS64;
	img[offsetof(Elf64_Ehdr, e_machine)] = EM_ARM;
	refused(len, RAM, "not for x86");
	len = elf64(0x200000, 0x100, 0x100, 0x200000, 1);
	memset(img + 0x800, 0xff, 4); /* namesz runs past the note */
	refused(len, RAM, "malformed ELF note");
}

/* Read a little struct from the RAM buffer at @gpa. */
#define AT(mem, gpa, type) ((const type *)vmm_mem_ptr(mem, gpa, sizeof(type)))

TEST(start_info_layout)
{
	static uint8_t ram[RAM];
	struct vmm_mem mem = {ram, RAM, RAM};
	struct boot_plan p;
	struct boot_info info;
	uint8_t initrd[5000];
	size_t len = elf64(0x200000, 0x100, 0x3000, 0x200000, 1);
	const struct hvm_start_info *si;
	const struct hvm_memmap_table_entry *map;
	const struct hvm_modlist_entry *mod;

	memset(initrd, 0xab, sizeof(initrd));
	memset(ram, 0x55, sizeof(ram));
	CHECK_EQ(boot_elf_parse(img, len, RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(boot_pvh_setup(&mem, &p, img, len, initrd, sizeof(initrd), "console=ttyS0", &info,
				err, sizeof(err)),
		 0);
	si = AT(&mem, BOOT_START_INFO_GPA, struct hvm_start_info);
	CHECK_EQ(si->magic, HVM_START_MAGIC);
	CHECK_EQ(si->version, 1);
	CHECK_EQ(si->nr_modules, 1);
	CHECK_EQ(si->rsdp_paddr, 0);
	CHECK_STR((const char *)vmm_mem_ptr(&mem, si->cmdline_paddr, 14), "console=ttyS0");
	CHECK_EQ(si->memmap_entries, 3);
	map = vmm_mem_ptr(&mem, si->memmap_paddr, 3 * sizeof(*map));
	CHECK(map != NULL);
	if (!map)
		return;
	CHECK_EQ(map[0].addr, 0);
	CHECK_EQ(map[0].type, E820_RAM);
	CHECK_EQ(map[1].type, E820_RESERVED);
	CHECK_EQ(map[2].addr, 0x100000);
	CHECK_EQ(map[2].addr + map[2].size, RAM);
	mod = AT(&mem, si->modlist_paddr, struct hvm_modlist_entry);
	CHECK_EQ(mod->size, sizeof(initrd));
	CHECK_EQ(mod->paddr, info.initrd_gpa);
	CHECK_EQ(mod->paddr & 0xfff, 0);
	CHECK(mod->paddr + mod->size <= RAM && mod->paddr + mod->size > RAM - 0x1000);
	CHECK_EQ(ram[mod->paddr], 0xab);
	/* the segment: file bytes, then zeroed bss */
	CHECK_EQ(ram[0x200000], 1);
	CHECK_EQ(ram[0x2000ff], 0);
	CHECK_EQ(ram[0x200100], 0);
	CHECK_EQ(ram[0x202fff], 0);
	CHECK_EQ(ram[0x203000], 0x55);
	/* the test guests' idea of the layout matches */
	CHECK_EQ(offsetof(struct hvm_start_info, nr_modules), SI_NR_MODULES);
	CHECK_EQ(offsetof(struct hvm_start_info, modlist_paddr), SI_MODLIST_PADDR);
	CHECK_EQ(offsetof(struct hvm_start_info, cmdline_paddr), SI_CMDLINE_PADDR);
	CHECK_EQ(offsetof(struct hvm_start_info, rsdp_paddr), SI_RSDP_PADDR);
	CHECK_EQ(offsetof(struct hvm_start_info, memmap_entries), SI_MEMMAP_ENTRIES);
	CHECK_EQ(offsetof(struct hvm_modlist_entry, size), MOD_SIZE);
	CHECK_EQ(sizeof(struct hvm_start_info), 56);
	CHECK_EQ(SI_MAGIC_VALUE, HVM_START_MAGIC);
	CHECK_EQ(sizeof(struct hvm_memmap_table_entry), 24);
}

TEST(acpi_placed)
{
	static uint8_t ram[RAM];
	struct vmm_mem mem = {ram, RAM, RAM};
	struct boot_plan p;
	struct boot_info info;
	struct acpi_config cfg = {.ncpus = 2};
	struct acpi_layout at;
	size_t len = elf64(0x200000, 0x100, 0x100, 0x200000, 1);
	const uint8_t *rsdp;
	uint8_t sum = 0;

	memset(ram, 0x55, sizeof(ram));
	cfg.sleep_ctl = (struct acpi_reg){ACPI_GAS_IO, 0x600};
	cfg.sleep_sts = (struct acpi_reg){ACPI_GAS_IO, 0x601};
	CHECK_EQ(boot_elf_parse(img, len, RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(boot_pvh_setup(&mem, &p, img, len, NULL, 0, "", &info, err, sizeof(err)), 0);
	CHECK_EQ(boot_acpi_setup(&mem, &cfg, &at, err, sizeof(err)), 0);
	CHECK_EQ(AT(&mem, BOOT_START_INFO_GPA, struct hvm_start_info)->rsdp_paddr, BOOT_ACPI_GPA);
	CHECK_EQ(at.rsdp, BOOT_ACPI_GPA);
	CHECK(at.size > 0 && at.size <= BOOT_ACPI_MAX);
	/* inside the memory map's reserved hole, and nothing past the tables touched */
	CHECK(BOOT_ACPI_GPA >= BOOT_LOWMEM_END && BOOT_ACPI_GPA + BOOT_ACPI_MAX <= BOOT_KERNEL_MIN);
	CHECK_EQ(ram[BOOT_ACPI_GPA + at.size], 0x55);
	rsdp = vmm_mem_ptr(&mem, BOOT_ACPI_GPA, 20);
	CHECK(rsdp && memcmp(rsdp, "RSD PTR ", 8) == 0);
	for (int i = 0; rsdp && i < 20; i++)
		sum = (uint8_t)(sum + rsdp[i]);
	CHECK_EQ(sum, 0);
	/* a config acpi_build() refuses: one line naming the tables */
	cfg.ncpus = 0;
	CHECK_EQ(boot_acpi_setup(&mem, &cfg, &at, err, sizeof(err)), -1);
	CHECK(strncmp(err, "ACPI tables: ", 13) == 0);
	cfg.ncpus = 1;
	mem.size = mem.low = BOOT_ACPI_GPA + 0x1000; /* RAM ends inside the table area */
	CHECK_EQ(boot_acpi_setup(&mem, &cfg, &at, err, sizeof(err)), -1);
	CHECK(strstr(err, "--mem") != NULL);
}

TEST(setup_refusals)
{
	static uint8_t ram[RAM];
	struct vmm_mem mem = {ram, RAM, RAM};
	struct boot_plan p;
	struct boot_info info;
	static uint8_t big[RAM];
	static char cmd[BOOT_CMDLINE_MAX + 1];
	size_t len = elf64(0x200000, 0x100, 0x100, 0x200000, 1);

	CHECK_EQ(boot_elf_parse(img, len, RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(
	    boot_pvh_setup(&mem, &p, img, len, big, RAM - 0x100000, "", &info, err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "initrd") != NULL);
	memset(cmd, 'x', BOOT_CMDLINE_MAX);
	CHECK_EQ(boot_pvh_setup(&mem, &p, img, len, NULL, 0, cmd, &info, err, sizeof(err)), -1);
	CHECK(strstr(err, "--cmdline") != NULL);
	cmd[BOOT_CMDLINE_MAX - 1] = '\0';
	CHECK_EQ(boot_pvh_setup(&mem, &p, img, len, NULL, 0, cmd, &info, err, sizeof(err)), 0);
	CHECK_EQ(AT(&mem, BOOT_START_INFO_GPA, struct hvm_start_info)->nr_modules, 0);
	mem.size = mem.low = 0x80000; /* a plan made for more RAM than there is */
	CHECK_EQ(boot_pvh_setup(&mem, &p, img, len, NULL, 0, "", &info, err, sizeof(err)), -1);
}

TEST(mem_ptr_bounds)
{
	static uint8_t ram[0x10000];
	struct vmm_mem mem = {ram, sizeof(ram), sizeof(ram)};
	uint64_t gpa;

	CHECK(vmm_mem_ptr(&mem, 0, sizeof(ram)) == ram);
	CHECK(vmm_mem_ptr(&mem, 0xffff, 1) == ram + 0xffff);
	CHECK(vmm_mem_ptr(&mem, 0xffff, 2) == NULL);
	CHECK(vmm_mem_ptr(&mem, 0x10000, 0) != NULL);
	CHECK(vmm_mem_ptr(&mem, 0x10001, 0) == NULL);
	CHECK(vmm_mem_ptr(&mem, 1, UINT64_MAX) == NULL);
	CHECK(vmm_mem_ptr(&mem, UINT64_MAX, 2) == NULL);
	CHECK_EQ(vmm_mem_gpa(&mem, ram + 5, &gpa), 0);
	CHECK_EQ(gpa, 5);
}

static int hits;
static void count_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	hits++;
	if (!write)
		data[0] = (uint8_t)off;
}

TEST(bus_dispatch)
{
	struct vmm_bus b = {0};
	struct vmm_stop s = {0};
	uint8_t d[4] = {0};

	CHECK_EQ(vmm_bus_add(&b, 0x3f8, 8, count_io, NULL), 0);
	CHECK_EQ(vmm_bus_add(&b, 0x3fc, 8, count_io, NULL), -1); /* overlaps */
	CHECK_EQ(vmm_bus_add(&b, 0x10, 0, count_io, NULL), -1);
	CHECK(vmm_bus_access(&b, 0x3fa, false, d, 1));
	CHECK_EQ(d[0], 2);
	CHECK(!vmm_bus_access(&b, 0x3fe, false, d, 4)); /* runs past the range */
	CHECK_EQ(d[0], 0xff);
	CHECK(!vmm_bus_access(&b, 0x80, true, d, 1));
	CHECK_EQ(hits, 1);
	vmm_stop_set(&s, 16, NULL);
	vmm_stop_set(&s, 1, "later %d", 2);
	CHECK(s.stopped);
	CHECK_EQ(s.status, 16);
	CHECK_STR(s.why, "");
}

static uint8_t uart(struct serial_8250 *s, unsigned reg, int w)
{
	uint8_t d = (uint8_t)w;

	serial_io(s, reg, w >= 0, &d, 1);
	return d;
}

TEST(serial_registers)
{
	struct serial_8250 s;
	int p[2];
	char out[4] = {0};

	CHECK_EQ(pipe(p), 0);
	serial_init(&s, p[1]);
	CHECK_EQ(uart(&s, 5, -1) & 0x60, 0x60); /* LSR: THRE | TEMT */
	uart(&s, 0, 'h');
	uart(&s, 0, 'i');
	CHECK_EQ(read(p[0], out, sizeof(out)), 2);
	CHECK_STR(out, "hi");
	CHECK_EQ(s.tx_bytes, 2);
	CHECK(s.first_tx_ns != 0);
	uart(&s, 7, 0xa5); /* scratch */
	CHECK_EQ(uart(&s, 7, -1), 0xa5);
	uart(&s, 3, 0x80); /* DLAB: divisor latch */
	uart(&s, 0, 0x0c);
	uart(&s, 1, 0x00);
	CHECK_EQ(uart(&s, 0, -1), 0x0c);
	uart(&s, 3, 0x03); /* 8N1 */
	CHECK_EQ(uart(&s, 3, -1), 0x03);
	uart(&s, 1, 0xff);
	CHECK_EQ(uart(&s, 1, -1), 0x0f);	/* IER: four bits */
	uart(&s, 4, 0x1a);			/* loopback, OUT1 (RI) */
	CHECK_EQ(uart(&s, 6, -1) & 0xf0, 0x90); /* RTS -> CTS, OUT2 -> DCD */
	uart(&s, 4, 0x08);
	CHECK_EQ(uart(&s, 6, -1), 0xb0);
	uart(&s, 2, 0x07);
	CHECK_EQ(uart(&s, 2, -1), 0xc2); /* FIFOs on, THR empty (enabled above) pending */
	CHECK_EQ(uart(&s, 2, -1), 0xc1); /* that read acknowledged it: none pending */
	close(p[0]);
	close(p[1]);
}

/* RAM past 3 GiB continues at 4 GiB: the split host mapping, its bounds, the memory map. */
TEST(high_ram_split)
{
	static uint8_t host[0x3000];
	struct vmm_mem m = {host, sizeof(host), 0x2000}; /* pretend low RAM ends at 8 KiB */
	struct hvm_memmap_table_entry e[BOOT_MEMMAP_MAX];
	uint64_t gpa = 0;

	CHECK(vmm_mem_ptr(&m, 0x1fff, 1) == host + 0x1fff);
	CHECK(vmm_mem_ptr(&m, 0x1fff, 2) == NULL); /* runs into the hole */
	CHECK(vmm_mem_ptr(&m, 0x2000, 1) == NULL); /* the hole */
	CHECK(vmm_mem_ptr(&m, VMM_HIGH_RAM_BASE - 1, 1) == NULL);
	CHECK(vmm_mem_ptr(&m, VMM_HIGH_RAM_BASE, 0x1000) == host + 0x2000);
	CHECK(vmm_mem_ptr(&m, VMM_HIGH_RAM_BASE + 1, 0x1000) == NULL); /* past the end */
	CHECK(vmm_mem_ptr(&m, VMM_HIGH_RAM_BASE + 0x1000, 0) == host + 0x3000);
	CHECK(vmm_mem_ptr(&m, UINT64_MAX, 2) == NULL);
	CHECK_EQ(vmm_mem_gpa(&m, host + 0x2010, &gpa), 0);
	CHECK_EQ(gpa, VMM_HIGH_RAM_BASE + 0x10);
	CHECK_EQ(vmm_mem_gpa(&m, host + 0x10, &gpa), 0);
	CHECK_EQ(gpa, 0x10);

	m = (struct vmm_mem){host, 5ULL << 30, VMM_LOW_RAM_MAX}; /* the map only, never touched */
	CHECK_EQ(boot_memmap(&m, e), 4);
	CHECK_EQ(e[2].addr, BOOT_KERNEL_MIN);
	CHECK_EQ(e[2].size, VMM_LOW_RAM_MAX - BOOT_KERNEL_MIN);
	CHECK_EQ(e[3].addr, VMM_HIGH_RAM_BASE);
	CHECK_EQ(e[3].size, 2ULL << 30);
	CHECK_EQ(e[3].type, E820_RAM);
	m.size = m.low = 64 << 20;
	CHECK_EQ(boot_memmap(&m, e), 3);
	CHECK_EQ(e[2].size, (64 << 20) - BOOT_KERNEL_MIN);
}

struct irq_log {
	unsigned n;
	unsigned irq;
	bool level;
};

static void irq_record(void *opaque, unsigned irq, bool level)
{
	struct irq_log *l = opaque;

	l->n++;
	l->irq = irq;
	l->level = level;
}

/* The THR-empty interrupt as Linux's 8250 driver uses it: raised when enabled (THR is always
 * empty) and after each byte, lowered by the IIR read that reports it, gated by OUT2 and IER. */
TEST(serial_thre_irq)
{
	struct serial_8250 s;
	struct irq_log l = {0};

	serial_init(&s, -1);
	serial_set_irq(&s, SERIAL_COM1_IRQ, irq_record, &l);
	uart(&s, 0, 'x'); /* THRI not enabled: no interrupt */
	CHECK_EQ(l.n, 0);
	CHECK_EQ(uart(&s, 2, -1), 0x01);
	uart(&s, 4, 0x00); /* OUT2 off: the line stays low even when enabled */
	uart(&s, 1, 0x02);
	CHECK_EQ(l.n, 0);
	uart(&s, 4, 0x08); /* OUT2 on: the pending THRE now reaches the line */
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.irq, 4);
	CHECK(l.level);
	CHECK_EQ(uart(&s, 2, -1), 0x02); /* IIR: THR empty, and the read acknowledges it */
	CHECK_EQ(l.n, 2);
	CHECK(!l.level);
	CHECK_EQ(uart(&s, 2, -1), 0x01);
	uart(&s, 0, 'y'); /* a byte sent: THR empty again, a new edge */
	CHECK_EQ(l.n, 3);
	CHECK(l.level);
	uart(&s, 1, 0x00); /* disabling THRI lowers the line */
	CHECK_EQ(l.n, 4);
	CHECK(!l.level);
	CHECK_EQ(uart(&s, 2, -1), 0x01);
	uart(&s, 1, 0x02); /* the THRE test: re-enabling re-asserts it */
	CHECK_EQ(l.n, 5);
	CHECK_EQ(uart(&s, 2, -1), 0x02);
	uart(&s, 4, 0x18); /* loopback: nothing leaves, no interrupt */
	uart(&s, 0, 'z');
	CHECK(!l.level);
	CHECK_EQ(s.tx_bytes, 2);
}

int main(void)
{
	RUN(elf64_plan);
	RUN(elf32_plan);
	RUN(bad_elfs_refused);
	RUN(start_info_layout);
	RUN(acpi_placed);
	RUN(setup_refusals);
	RUN(mem_ptr_bounds);
	RUN(bus_dispatch);
	RUN(serial_registers);
	RUN(high_ram_split);
	RUN(serial_thre_irq);
	T_EXIT();
}
