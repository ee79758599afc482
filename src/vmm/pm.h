/* The ACPI power-management registers of sbx-vmm (hardware-reduced: no PM1 blocks): the FADT's
 * SLEEP_CONTROL_REG / SLEEP_STATUS_REG and its RESET_REG, as I/O ports. A poweroff (SLP_EN with
 * the _S5 SLP_TYP) or a reset write ends the VM with status 0; every other write is ignored.
 * Owns only these registers; never touches guest RAM or KVM. */
#ifndef SBX_VMM_PM_H
#define SBX_VMM_PM_H

#include "vmm/acpi.h"
#include "vmm/bus.h"

#include <stdbool.h>
#include <stdint.h>

/* Port layout (what the FADT advertises; the guest finds them there, never by number). */
#define PM_SLEEP_CTL_PORT 0x600 /* SLEEP_CONTROL_REG, 8 bits */
#define PM_SLEEP_STS_PORT 0x601 /* SLEEP_STATUS_REG, 8 bits: reads 0 (no wake events) */
#define PM_SLEEP_NPORTS	  2	/* both, mapped as one range at PM_SLEEP_CTL_PORT */
#define PM_RESET_PORT	  0xcf9 /* RESET_REG, the PC's reset control port */
#define PM_RESET_VALUE	  0x06	/* RESET_VALUE: 0xcf9's "reset CPU" | "hard reset" */
#define PM_RESET_RST_CPU  0x04	/* a write with this bit set resets (as 0xcf9 does) */

#define PM_SLP_TYP_SHIFT 2
#define PM_SLP_TYP_MASK	 0x1c

/**
 * struct pm_regs - the device's state (one struct, for snapshots later).
 * @stop: the VM's stop record, set on poweroff or reset.
 * @poweroffs: poweroff requests seen (for --stats and tests).
 * @resets: reset requests seen.
 */
struct pm_regs {
	struct vmm_stop *stop;
	unsigned poweroffs;
	unsigned resets;
};

/**
 * pm_init() - reset the registers.
 * @pm: the device.
 * @stop: where a poweroff or reset ends the VM.
 */
void pm_init(struct pm_regs *pm, struct vmm_stop *stop);

/**
 * pm_acpi_regs() - fill in the FADT's sleep control/status and reset registers of @cfg with
 * this device's ports and reset value.
 * @cfg: the ACPI config to complete.
 */
void pm_acpi_regs(struct acpi_config *cfg);

/**
 * pm_sleep_io() - a vmm_io_fn for [PM_SLEEP_CTL_PORT, + PM_SLEEP_NPORTS): byte 0 is sleep
 * control, byte 1 sleep status. A control write with ACPI_SLP_EN and SLP_TYP ==
 * ACPI_SLP_TYP_S5 ends the VM with status 0 and no message; other writes are ignored; reads
 * return 0.
 * @opaque: the struct pm_regs.
 * @off: register offset (0 or 1; wider accesses cover both in order).
 * @write: direction.
 * @data: the bytes.
 * @len: access width.
 */
void pm_sleep_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

/**
 * pm_reset_io() - a vmm_io_fn for PM_RESET_PORT: a write with PM_RESET_RST_CPU set (the FADT's
 * PM_RESET_VALUE has it) ends the VM with status 0 and no message, as KVM's reset system event
 * does; other writes are ignored; reads return 0.
 * @opaque: the struct pm_regs.
 * @off: 0.
 * @write: direction.
 * @data: the byte.
 * @len: access width (only byte 0 counts).
 */
void pm_reset_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

#endif
