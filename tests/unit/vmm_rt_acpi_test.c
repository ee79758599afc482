/* Unit tests of the test-guest runtime's ACPI lookups (tests/vmmguest/rt/acpi.c) run on the
 * host against the tables sbx-vmm itself builds (src/vmm/acpi.c): the tables are built with
 * their base at the buffer's host address, so the runtime's "physical" pointers work here.
 * Checks the RSDP test, table lookup by signature, the MADT LAPIC count and the virtio-mmio
 * slots scanned from the DSDT, and that damaged tables are not followed. */
#include "vmm/acpi.h"
#include "t.h"

#include "../vmmguest/rt/acpi.c"

static struct rt_boot fake = {.cmdline = ""};

const struct rt_boot *rt_boot(void)
{
	return &fake;
}

static uint8_t tables[0x8000] __attribute__((aligned(16)));
static struct acpi_layout at;

/* Build @ncpus LAPICs and @nslots virtio-mmio slots; point the fake boot data at the RSDP. */
static void build(unsigned ncpus, unsigned nslots)
{
	struct acpi_config cfg = {0};
	char err[256];

	cfg.ncpus = ncpus;
	cfg.nslots = nslots;
	for (unsigned i = 0; i < nslots; i++)
		cfg.slot[i] =
		    (struct acpi_mmio_slot){0xd0000000U + i * 0x200, 0x200, 5 + i % 16, i & 1};
	cfg.sleep_ctl = (struct acpi_reg){ACPI_GAS_IO, 0x600};
	cfg.sleep_sts = cfg.sleep_ctl;
	cfg.ged_base = 0xfea00000U;
	cfg.ged_gsi = 9;
	memset(tables, 0, sizeof(tables));
	CHECK_EQ(acpi_build(&cfg, tables, sizeof(tables), (uintptr_t)tables, &at, err, sizeof(err)),
		 0);
	fake.rsdp = at.rsdp;
}

TEST(tables_found)
{
	build(3, 0);
	CHECK(rt_acpi_rsdp_ok());
	CHECK(rt_acpi_table("FACP") == (const uint8_t *)(uintptr_t)at.fadt);
	CHECK(rt_acpi_table("APIC") == (const uint8_t *)(uintptr_t)at.madt);
	CHECK(rt_acpi_table("DSDT") == (const uint8_t *)(uintptr_t)at.dsdt);
	CHECK(rt_acpi_table("HPET") == NULL);
	CHECK_EQ(rt_acpi_lapics(), 3);
	build(17, 0);
	CHECK_EQ(rt_acpi_lapics(), 17);
}

TEST(virtio_slots)
{
	struct rt_virtio_slot s[RT_VIRTIO_MAX];
	const uint8_t *dsdt;
	size_t hid, irq;

	build(1, 0);
	CHECK_EQ(rt_acpi_virtio_mmio(s, RT_VIRTIO_MAX), 0); /* the GED's resources are not one */
	build(1, 3);
	CHECK_EQ(rt_acpi_virtio_mmio(s, RT_VIRTIO_MAX), 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(s[i].base, 0xd0000000U + i * 0x200);
		CHECK_EQ(s[i].len, 0x200);
		CHECK_EQ(s[i].gsi, 5 + i);
	}
	CHECK_EQ(rt_acpi_virtio_mmio(s, 2), 2); /* @max is respected */
	build(2, ACPI_MMIO_SLOTS_MAX);
	CHECK_EQ(rt_acpi_virtio_mmio(s, RT_VIRTIO_MAX), ACPI_MMIO_SLOTS_MAX);
	CHECK_EQ(s[31].base, 0xd0000000U + 31 * 0x200);
	CHECK_EQ(s[31].gsi, 5 + 31 % 16);
	/* a DSDT cut inside the device's resources yields nothing for that device */
	build(1, 1);
	dsdt = (const uint8_t *)(uintptr_t)at.dsdt;
	hid = find(dsdt, 0, at.dsdt_len, "LNRO0005", 8);
	CHECK(hid < at.dsdt_len);
	CHECK_EQ(rt_aml_virtio_scan(dsdt, at.dsdt_len, s, RT_VIRTIO_MAX), 1);
	CHECK_EQ(rt_aml_virtio_scan(dsdt, hid + 8, s, RT_VIRTIO_MAX), 0);
	irq = find(dsdt, hid, at.dsdt_len, "\x89\x06", 2);
	CHECK(irq < at.dsdt_len);
	CHECK_EQ(rt_aml_virtio_scan(dsdt, irq + 8, s, RT_VIRTIO_MAX), 0);
	CHECK_EQ(rt_aml_virtio_scan(dsdt, irq + 9, s, RT_VIRTIO_MAX), 1);
}

TEST(damage_not_followed)
{
	uint8_t *rsdp;

	build(2, 2);
	rsdp = (uint8_t *)(uintptr_t)at.rsdp;
	rsdp[9] ^= 1; /* the 20-byte checksum */
	CHECK(!rt_acpi_rsdp_ok());
	CHECK(rt_acpi_table("APIC") == NULL);
	CHECK_EQ(rt_acpi_lapics(), 0);
	build(2, 2);
	((uint8_t *)(uintptr_t)at.madt)[40] ^= 1; /* MADT checksum now wrong */
	CHECK(rt_acpi_table("APIC") == NULL);
	CHECK(rt_acpi_table("FACP") != NULL);
	fake.rsdp = 0;
	CHECK(!rt_acpi_rsdp_ok());
}

int main(void)
{
	RUN(tables_found);
	RUN(virtio_slots);
	RUN(damage_not_followed);
	T_EXIT();
}
