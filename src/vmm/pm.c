/* ACPI sleep and reset registers (see pm.h). Never allocates; a bad guest write is ignored,
 * never an error of the VMM. */
#include "vmm/pm.h"

#include <string.h>

void pm_init(struct pm_regs *pm, struct vmm_stop *stop)
{
	*pm = (struct pm_regs){.stop = stop};
}

void pm_acpi_regs(struct acpi_config *cfg)
{
	cfg->sleep_ctl = (struct acpi_reg){ACPI_GAS_IO, PM_SLEEP_CTL_PORT};
	cfg->sleep_sts = (struct acpi_reg){ACPI_GAS_IO, PM_SLEEP_STS_PORT};
	cfg->reset = (struct acpi_reg){ACPI_GAS_IO, PM_RESET_PORT};
	cfg->reset_value = PM_RESET_VALUE;
}

/* One byte written to the sleep control register. */
static void sleep_ctl_write(struct pm_regs *pm, uint8_t v)
{
	unsigned typ = (v & PM_SLP_TYP_MASK) >> PM_SLP_TYP_SHIFT;

	if (!(v & ACPI_SLP_EN) || typ != ACPI_SLP_TYP_S5)
		return;
	pm->poweroffs++;
	vmm_stop_set(pm->stop, 0, NULL);
}

void pm_sleep_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	struct pm_regs *pm = opaque;

	if (!write) {
		memset(data, 0, len);
		return;
	}
	/* Status writes (WAK_STS clears) have nothing to clear: there are no wake events. */
	for (uint32_t i = 0; i < len; i++)
		if (off + i == 0)
			sleep_ctl_write(pm, data[i]);
}

void pm_reset_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	struct pm_regs *pm = opaque;

	if (!write) {
		memset(data, 0, len);
		return;
	}
	if (!(data[0] & PM_RESET_RST_CPU))
		return;
	pm->resets++;
	vmm_stop_set(pm->stop, 0, NULL);
}
