/* Unit tests of sbx-vmm's ACPI tables (src/vmm/acpi.c, aml.c): for 1/2/8 vCPUs and 0/1/4
 * virtio-mmio slots, walk RSDP -> XSDT -> FADT -> DSDT and MADT checking signatures, lengths,
 * checksums and contents; parse the DSDT's AML for each LNRO0005 device's _CRS; refuse bad
 * configs and every too-small buffer without writing past it; and disassemble the tables with
 * iasl (acpica-tools), which must report no error. */
#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "t.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE	 0xe0000ULL
#define CAP	 16384
#define GED_BASE 0xfeb00000U
#define SLEEP	 0xfeb00100U

static char err[256];
static uint8_t buf[CAP];

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void config(struct acpi_config *c, unsigned ncpus, unsigned nslots)
{
	memset(c, 0, sizeof(*c));
	c->ncpus = ncpus;
	c->irq0_to_gsi2 = true;
	c->nslots = nslots;
	for (unsigned i = 0; i < nslots; i++)
		c->slot[i] = (struct acpi_mmio_slot){0xd0000000U + i * 0x1000, 0x1000, 5 + i % 16,
						     i % 2 == 1};
	c->sleep_ctl = (struct acpi_reg){ACPI_GAS_MMIO, SLEEP};
	c->sleep_sts = (struct acpi_reg){ACPI_GAS_MMIO, SLEEP + 1};
	c->reset = (struct acpi_reg){ACPI_GAS_IO, 0xcf9};
	c->reset_value = 6;
	c->ged_base = GED_BASE;
	c->ged_gsi = 9;
}

/* The table at guest address @gpa, checked: inside the buffer, signature, length, checksum,
 * 8-byte alignment, OEM id. Return: its bytes, or NULL. */
static const uint8_t *table(uint64_t gpa, size_t used, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	if (gpa < BASE || gpa - BASE + 36 > used || (gpa & 7))
		return NULL;
	t = buf + (gpa - BASE);
	len = rd32(t + 4);
	if (memcmp(t, sig, 4) != 0 || len < 36 || gpa - BASE + len > used || sum(t, len) != 0 ||
	    memcmp(t + 10, "SBX   ", 6) != 0)
		return NULL;
	return t;
}

/* A PkgLength at @p (within @end). Return: its value, with *@n the bytes it took. */
static size_t pkglen(const uint8_t *p, const uint8_t *end, size_t *n)
{
	size_t v;

	*n = 1 + (p[0] >> 6);
	if (p + *n > end)
		return 0;
	if (*n == 1)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (size_t i = 1; i < *n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* An AML integer at *@p; advances. Return: the value, or UINT64_MAX if not an integer. */
static uint64_t aml_integer(const uint8_t **p)
{
	uint8_t op = *(*p)++;
	uint64_t v = 0;
	unsigned n = op == AML_BYTE ? 1 : op == AML_WORD ? 2 : op == AML_DWORD ? 4 : 8;

	if (op == AML_ZERO || op == AML_ONE)
		return op;
	if (op != AML_BYTE && op != AML_WORD && op != AML_DWORD && op != AML_QWORD)
		return UINT64_MAX;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return v;
}

/* What a Device's Name objects said. */
struct found {
	char hid[16];
	uint64_t uid, cca;
	uint32_t base, size, gsi;
	uint8_t irq_flags;
	int crs_ok;
};

/* Parse a Device body of Name() objects (stops at anything else). */
static void parse_device(const uint8_t *p, const uint8_t *end, struct found *f)
{
	while (p + 5 < end && p[0] == AML_NAME) {
		const uint8_t *name = p + 1;

		p += 5;
		if (*p == AML_STRING) {
			size_t l = strnlen((const char *)p + 1, (size_t)(end - p - 1));

			if (memcmp(name, "_HID", 4) == 0 && l < sizeof(f->hid))
				memcpy(f->hid, p + 1, l + 1);
			p += l + 2;
		} else if (*p == AML_BUFFER) {
			size_t n, len = pkglen(p + 1, end, &n);
			const uint8_t *b = p + 1 + n, *bend = p + 1 + len;
			uint64_t bsize = aml_integer(&b);

			if (memcmp(name, "_CRS", 4) == 0 && bsize == 23 && b + 23 == bend &&
			    b[0] == AML_RES_MEM32_FIXED && b[1] == 9 && b[2] == 0 && b[3] == 1 &&
			    b[12] == AML_RES_EXT_IRQ && b[13] == 6 && b[16] == 1 &&
			    b[21] == AML_RES_END) {
				f->base = rd32(b + 4);
				f->size = rd32(b + 8);
				f->irq_flags = b[15];
				f->gsi = rd32(b + 17);
				f->crs_ok = 1;
			}
			p = bend;
		} else {
			uint64_t v = aml_integer(&p);

			if (memcmp(name, "_UID", 4) == 0)
				f->uid = v;
			if (memcmp(name, "_CCA", 4) == 0)
				f->cca = v;
		}
	}
}

/* Walk Scope(\_SB) in the DSDT body; check each VRnn against @c. Return: LNRO0005 found. */
static unsigned check_dsdt(const uint8_t *d, const struct acpi_config *c, int *pwrb)
{
	const uint8_t *p = d + 36, *end = d + rd32(d + 4), *send;
	size_t n, len;
	unsigned virtio = 0;

	CHECK(p[0] == AML_SCOPE);
	len = pkglen(p + 1, end, &n);
	send = p + 1 + len;
	CHECK(send <= end);
	p += 1 + n;
	CHECK(p[0] == AML_ROOT && memcmp(p + 1, "_SB_", 4) == 0);
	p += 5;
	while (p < send) {
		struct found f = {0};
		const uint8_t *dev_end;

		CHECK(p[0] == AML_EXT && p[1] == 0x82);
		if (p[0] != AML_EXT || p[1] != 0x82)
			break;
		len = pkglen(p + 2, send, &n);
		dev_end = p + 2 + len;
		parse_device(p + 2 + n + 4, dev_end, &f);
		if (strcmp(f.hid, "PNP0C0C") == 0)
			(*pwrb)++;
		if (strcmp(f.hid, "LNRO0005") == 0) {
			unsigned i = (unsigned)f.uid;
			char want[5];

			snprintf(want, sizeof(want), "VR%02u", i);
			CHECK(memcmp(p + 2 + n, want, 4) == 0);
			CHECK(i < c->nslots && f.crs_ok && f.cca == 1);
			if (i < c->nslots) {
				CHECK_EQ(f.base, c->slot[i].base);
				CHECK_EQ(f.size, c->slot[i].size);
				CHECK_EQ(f.gsi, c->slot[i].gsi);
				CHECK_EQ(f.irq_flags, c->slot[i].edge ? 3 : 1);
			}
			virtio++;
		}
		p = dev_end;
	}
	CHECK(p == send);
	/* Name (\_S5_, Package (4) { 5, 0, 0, 0 }) */
	CHECK(send + 13 <= end && send[0] == AML_NAME && send[1] == AML_ROOT &&
	      memcmp(send + 2, "_S5_", 4) == 0 && send[6] == AML_PACKAGE && send[8] == 4 &&
	      send[9] == AML_BYTE && send[10] == ACPI_SLP_TYP_S5);
	return virtio;
}

static void check_madt(const uint8_t *m, const struct acpi_config *c)
{
	const uint8_t *p = m + 44, *end = m + rd32(m + 4);
	unsigned lapic = 0, ioapic = 0, iso = 0;

	CHECK_EQ(rd32(m + 36), 0xfee00000U);
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == 0) {
			CHECK_EQ(p[1], 8);
			CHECK_EQ(p[2], lapic);
			CHECK_EQ(p[3], lapic);
			CHECK_EQ(rd32(p + 4), 1);
			lapic++;
		} else if (p[0] == 1) {
			CHECK_EQ(p[1], 12);
			CHECK_EQ(rd32(p + 4), 0xfec00000U);
			CHECK_EQ(rd32(p + 8), 0);
			ioapic++;
		} else if (p[0] == 2) {
			CHECK(p[1] == 10 && p[2] == 0 && p[3] == 0 && rd32(p + 4) == 2);
			iso++;
		}
		p += p[1];
	}
	CHECK(p == end);
	CHECK_EQ(lapic, c->ncpus);
	CHECK_EQ(ioapic, 1);
	CHECK_EQ(iso, 1);
}

/* Build for @ncpus/@nslots and walk everything. */
static void build_and_walk(unsigned ncpus, unsigned nslots)
{
	struct acpi_config c;
	struct acpi_layout l;
	const uint8_t *x, *f, *m, *d;
	int pwrb = 0;

	config(&c, ncpus, nslots);
	memset(buf, 0xa5, sizeof(buf));
	CHECK_EQ(acpi_build(&c, buf, sizeof(buf), BASE, &l, err, sizeof(err)), 0);
	CHECK(l.size > 0 && l.size <= CAP && l.rsdp == BASE);
	/* RSDP */
	CHECK(memcmp(buf, "RSD PTR ", 8) == 0 && buf[15] == 2 && rd32(buf + 20) == 36);
	CHECK_EQ(sum(buf, 20), 0);
	CHECK_EQ(sum(buf, 36), 0);
	CHECK(memcmp(buf + 9, "SBX   ", 6) == 0 && rd32(buf + 16) == 0);
	x = table(rd64(buf + 24), l.size, "XSDT");
	CHECK(x != NULL);
	if (!x)
		return;
	CHECK_EQ(rd32(x + 4), 36 + 16);
	f = table(rd64(x + 36), l.size, "FACP");
	m = table(rd64(x + 44), l.size, "APIC");
	CHECK(f && m);
	if (!f || !m)
		return;
	/* FADT: 6.x, hardware-reduced, sleep registers, X_DSDT */
	CHECK_EQ(rd32(f + 4), 276);
	CHECK_EQ(f[8], 6);
	CHECK(rd32(f + 112) & (1U << 20));
	CHECK_EQ(f[244], ACPI_GAS_MMIO);
	CHECK_EQ(f[245], 8);
	CHECK_EQ(rd64(f + 248), SLEEP);
	CHECK_EQ(rd64(f + 260), SLEEP + 1);
	CHECK_EQ(rd64(f + 120), 0xcf9);
	CHECK_EQ(f[128], 6);
	CHECK_EQ(rd32(f + 36), 0);
	CHECK_EQ(rd32(f + 40), 0);
	d = table(rd64(f + 140), l.size, "DSDT");
	CHECK(d != NULL && rd64(f + 140) == l.dsdt && rd32(d + 4) == l.dsdt_len);
	check_madt(m, &c);
	if (d) {
		CHECK_EQ(d[8], 2);
		CHECK_EQ(check_dsdt(d, &c, &pwrb), nslots);
		CHECK_EQ(pwrb, 1);
		CHECK(memmem(d, l.dsdt_len, "ACPI0013", 8) != NULL);
	}
	CHECK(l.dsdt + l.dsdt_len == BASE + l.size);
	for (size_t i = l.size; i < CAP; i++)
		if (buf[i] != 0xa5) {
			CHECK(!"wrote past the tables");
			break;
		}
}

TEST(tables_1cpu_0slots)
{
	build_and_walk(1, 0);
}

TEST(tables_2cpus_1slot)
{
	build_and_walk(2, 1);
}

TEST(tables_8cpus_4slots)
{
	build_and_walk(8, 4);
}

TEST(tables_max)
{
	build_and_walk(ACPI_VCPUS_MAX, ACPI_MMIO_SLOTS_MAX);
}

/* Every capacity below the full size fails without writing at or past it. */
TEST(small_buffers_refused)
{
	static uint8_t big[CAP + 64];
	struct acpi_config c;
	struct acpi_layout l;
	size_t full;

	config(&c, 8, 4);
	CHECK_EQ(acpi_build(&c, big, sizeof(big), BASE, &l, err, sizeof(err)), 0);
	full = l.size;
	for (size_t cap = 0; cap <= full; cap++) {
		memset(big, 0x5a, sizeof(big));
		int rc = acpi_build(&c, cap ? big : NULL, cap, BASE, &l, err, sizeof(err));

		CHECK_EQ(rc, cap == full ? 0 : -1);
		if (rc < 0 && cap == full - 1)
			CHECK(strstr(err, "do not fit") != NULL);
		for (size_t i = cap; i < sizeof(big); i++)
			if (big[i] != 0x5a) {
				fprintf(stderr, "cap %zu: byte %zu written\n", cap, i);
				CHECK(!"wrote past cap");
				break;
			}
	}
}

TEST(bad_configs_refused)
{
	struct acpi_config c;
	struct acpi_layout l;

	config(&c, 0, 1);
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, ACPI_VCPUS_MAX + 1, 1);
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, ACPI_MMIO_SLOTS_MAX);
	c.nslots++;
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, 1);
	c.slot[0].base = 0xfffff000U;
	c.slot[0].size = 0x2000;
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, 1);
	c.slot[0].gsi = 24;
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, 1);
	c.sleep_ctl.address = 0;
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, 1);
	c.sleep_sts = (struct acpi_reg){ACPI_GAS_IO, 0x10000};
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), -1);
	config(&c, 1, 1);
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE + 8, &l, err, sizeof(err)), -1);
	CHECK(strstr(err, "aligned") != NULL);
}

/* PkgLength: 1..4 bytes, each round-tripping, and the body moved up intact. */
TEST(aml_pkglen)
{
	static uint8_t b[70000];
	static const size_t bodies[] = {0, 61, 62, 63, 4092, 4093, 4094, 65000};
	struct aml w;

	for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
		size_t n, body = bodies[k];

		aml_init(&w, b, sizeof(b));
		aml_pkg_open(&w);
		for (size_t i = 0; i < body; i++)
			aml_u8(&w, (uint8_t)i);
		aml_pkg_close(&w);
		CHECK(!w.failed);
		CHECK_EQ(pkglen(b, b + w.len, &n), w.len);
		CHECK_EQ(n, aml_pkglen_size(body));
		CHECK(body == 0 || (b[n] == 0 && b[n + body - 1] == (uint8_t)(body - 1)));
	}
	CHECK_EQ(aml_pkglen_size(62), 1);
	CHECK_EQ(aml_pkglen_size(63), 2);
	CHECK_EQ(aml_pkglen_size(AML_PKGLEN_MAX), 0);
	aml_init(&w, b, sizeof(b));
	aml_nameseg(&w, "bad");
	CHECK(w.failed);
	aml_init(&w, b, sizeof(b));
	aml_pkg_close(&w);
	CHECK(w.failed);
}

/* Run @cmd through the shell. Return: its exit status (-1 if it did not exit). */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Whether the file at @path contains @needle. */
static int file_has(const char *path, const char *needle)
{
	static char text[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return strstr(text, needle) != NULL;
}

/* iasl disassembles every table without error, and the DSDT's source recompiles. */
TEST(iasl_disassembles)
{
	struct acpi_config c;
	struct acpi_layout l;
	char dir[] = "/tmp/sbx-acpi-XXXXXX", cmd[512], path[256];
	static const char *names[] = {"xsdt", "facp", "apic", "dsdt"};
	uint64_t at[4];

	if (sh("command -v iasl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "iasl not found: install the Debian package acpica-tools "
				"(deps/test.txt)\n");
		CHECK(!"iasl missing");
		return;
	}
	config(&c, 2, 4);
	c.com1 = true;
	CHECK_EQ(acpi_build(&c, buf, CAP, BASE, &l, err, sizeof(err)), 0);
	CHECK(mkdtemp(dir) != NULL);
	at[0] = l.rsdp == BASE ? rd64(buf + 24) : 0;
	at[1] = l.fadt;
	at[2] = l.madt;
	at[3] = l.dsdt;
	for (int i = 0; i < 4; i++) {
		const uint8_t *t = buf + (at[i] - BASE);

		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		CHECK_EQ(write_file(path, t, rd32(t + 4)), 0);
		snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, names[i],
			 names[i]);
		CHECK_EQ(sh(cmd), 0);
		snprintf(path, sizeof(path), "%s/%s.log", dir, names[i]);
		CHECK(!file_has(path, "Error") && !file_has(path, "Warning"));
		snprintf(path, sizeof(path), "%s/%s.dsl", dir, names[i]);
		CHECK(!file_has(path, "**** ") && !file_has(path, "Unknown"));
	}
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	CHECK(file_has(path, "LNRO0005"));
	CHECK(file_has(path, "Memory32Fixed (ReadWrite,\n"
			     "                    0xD0003000,         // Address Base\n"));
	CHECK(file_has(path, "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )\n"
			     "                {\n"
			     "                    0x00000005,\n"));
	CHECK(file_has(path, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"));
	/* COM1 for the 8250 PNP driver: its ports and ISA IRQ 4, edge. */
	CHECK(file_has(path, "Name (_HID, \"PNP0501\""));
	CHECK(file_has(path, "IO (Decode16,\n"
			     "                    0x03F8,             // Range Minimum\n"
			     "                    0x03F8,             // Range Maximum\n"
			     "                    0x01,               // Alignment\n"
			     "                    0x08,               // Length\n"));
	CHECK(file_has(path, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n"
			     "                {\n"
			     "                    0x00000004,\n"));
	CHECK(file_has(path, "Notify (PWRB, 0x80)") || file_has(path, "Notify (\\_SB.PWRB, 0x80)"));
	CHECK(file_has(path, "Name (\\_S5, Package (0x04)"));
	snprintf(path, sizeof(path), "%s/apic.dsl", dir);
	CHECK(file_has(path, "Local Apic ID : 01") && file_has(path, "I/O APIC"));
	snprintf(path, sizeof(path), "%s/facp.dsl", dir);
	CHECK(file_has(path, "Hardware Reduced (V5) : 1"));
	/* The disassembled DSDT compiles back with no error. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p re dsdt.dsl >re.log 2>&1", dir);
	CHECK_EQ(sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/re.log", dir);
	CHECK(file_has(path, " 0 Errors"));
	if (!t_cur_failed) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		sh(cmd);
	} else {
		fprintf(stderr, "iasl output kept in %s\n", dir);
	}
}

int main(void)
{
	RUN(tables_1cpu_0slots);
	RUN(tables_2cpus_1slot);
	RUN(tables_8cpus_4slots);
	RUN(tables_max);
	RUN(small_buffers_refused);
	RUN(bad_configs_refused);
	RUN(aml_pkglen);
	RUN(iasl_disassembles);
	T_EXIT();
}
