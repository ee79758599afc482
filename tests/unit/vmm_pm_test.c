/* Unit tests of sbx-vmm's ACPI sleep and reset registers (src/vmm/pm.c) on the port bus, the
 * way a guest reaches them: S5 poweroff and the reset value end the VM with status 0 and no
 * message; other sleep types, writes without SLP_EN, status writes and resets without RST_CPU
 * are ignored; reads return 0; and the FADT registers pm_acpi_regs() fills in are these. */
#include "vmm/acpi.h"
#include "vmm/bus.h"
#include "vmm/pm.h"
#include "t.h"

static struct vmm_bus pio;
static struct vmm_stop stop;
static struct pm_regs pm;

static void setup(void)
{
	memset(&pio, 0, sizeof(pio));
	vmm_stop_init(&stop, -1);
	pm_init(&pm, &stop);
	CHECK_EQ(vmm_bus_add(&pio, PM_SLEEP_CTL_PORT, PM_SLEEP_NPORTS, pm_sleep_io, &pm), 0);
	CHECK_EQ(vmm_bus_add(&pio, PM_RESET_PORT, 1, pm_reset_io, &pm), 0);
}

static void outb(uint16_t port, uint8_t v)
{
	vmm_bus_access(&pio, port, true, &v, 1);
}

TEST(poweroff_s5)
{
	setup();
	/* what Linux's acpi_hw_extended_sleep() writes: WAK_STS clear, then SLP_TYP | SLP_EN */
	outb(PM_SLEEP_STS_PORT, 0x80);
	CHECK(!stop.stopped);
	outb(PM_SLEEP_CTL_PORT, (ACPI_SLP_TYP_S5 << 2) | ACPI_SLP_EN);
	CHECK(stop.stopped);
	CHECK_EQ(stop.status, 0);
	CHECK_STR(stop.why, "");
	CHECK_EQ(pm.poweroffs, 1);
	CHECK_EQ(pm.resets, 0);
}

TEST(bad_sleep_writes_ignored)
{
	setup();
	for (unsigned typ = 0; typ < 8; typ++)
		if (typ != ACPI_SLP_TYP_S5)
			outb(PM_SLEEP_CTL_PORT, (uint8_t)((typ << 2) | ACPI_SLP_EN));
	outb(PM_SLEEP_CTL_PORT, ACPI_SLP_TYP_S5 << 2);		       /* SLP_TYP without SLP_EN */
	outb(PM_SLEEP_STS_PORT, (ACPI_SLP_TYP_S5 << 2) | ACPI_SLP_EN); /* the status register */
	CHECK(!stop.stopped);
	CHECK_EQ(pm.poweroffs, 0);
	/* a 16-bit write covering both registers: byte 0 is the control register */
	{
		uint8_t w[2] = {(ACPI_SLP_TYP_S5 << 2) | ACPI_SLP_EN, 0};

		vmm_bus_access(&pio, PM_SLEEP_CTL_PORT, true, w, 2);
	}
	CHECK(stop.stopped);
	CHECK_EQ(stop.status, 0);
}

TEST(reset)
{
	setup();
	outb(PM_RESET_PORT, 0x02); /* Linux's reboot=pci arms with 0x02 first */
	CHECK(!stop.stopped);
	outb(PM_RESET_PORT, PM_RESET_VALUE);
	CHECK(stop.stopped);
	CHECK_EQ(stop.status, 0);
	CHECK_STR(stop.why, "");
	CHECK_EQ(pm.resets, 1);
	/* the first stop wins: a later poweroff changes nothing */
	outb(PM_SLEEP_CTL_PORT, (ACPI_SLP_TYP_S5 << 2) | ACPI_SLP_EN);
	CHECK_EQ(stop.status, 0);
}

TEST(reads_zero)
{
	uint8_t d[2] = {0xff, 0xff};

	setup();
	vmm_bus_access(&pio, PM_SLEEP_STS_PORT, false, d, 1);
	CHECK_EQ(d[0], 0);
	d[0] = 0xff;
	vmm_bus_access(&pio, PM_SLEEP_CTL_PORT, false, d, 2);
	CHECK(d[0] == 0 && d[1] == 0);
	d[0] = 0xff;
	vmm_bus_access(&pio, PM_RESET_PORT, false, d, 1);
	CHECK_EQ(d[0], 0);
	CHECK(!stop.stopped);
}

TEST(fadt_registers)
{
	struct acpi_config cfg = {0};

	pm_acpi_regs(&cfg);
	CHECK_EQ(cfg.sleep_ctl.space, ACPI_GAS_IO);
	CHECK_EQ(cfg.sleep_ctl.address, PM_SLEEP_CTL_PORT);
	CHECK_EQ(cfg.sleep_sts.space, ACPI_GAS_IO);
	CHECK_EQ(cfg.sleep_sts.address, PM_SLEEP_STS_PORT);
	CHECK_EQ(cfg.reset.space, ACPI_GAS_IO);
	CHECK_EQ(cfg.reset.address, PM_RESET_PORT);
	CHECK_EQ(cfg.reset_value, PM_RESET_VALUE);
	CHECK(PM_RESET_VALUE & PM_RESET_RST_CPU);
	CHECK_EQ(PM_SLEEP_STS_PORT, PM_SLEEP_CTL_PORT + 1);
}

int main(void)
{
	RUN(poweroff_s5);
	RUN(bad_sleep_writes_ignored);
	RUN(reset);
	RUN(reads_zero);
	RUN(fadt_registers);
	T_EXIT();
}
