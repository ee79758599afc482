/* ACPI tables of sbx-vmm: RSDP, XSDT, a hardware-reduced FADT, MADT and a DSDT whose AML
 * describes the virtio-mmio slots (LNRO0005 devices, as QEMU microvm does), the _S5 sleep
 * type for poweroff and a power button behind a Generic Event Device. Pure code: a config in,
 * the table bytes out into a caller's buffer; never writes past the buffer's capacity and
 * never touches KVM or guest RAM itself (the caller copies the bytes to @base_gpa). */
#ifndef SBX_VMM_ACPI_H
#define SBX_VMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_VCPUS_MAX	     254 /* xAPIC ids 0..253; the I/O APIC id stays distinct */
#define ACPI_MMIO_SLOTS_MAX  32	 /* device names VR00..VR31 */
#define ACPI_LAPIC_GPA	     0xfee00000U
#define ACPI_IOAPIC_GPA	     0xfec00000U
#define ACPI_OEM_ID	     "SBX   "
#define ACPI_OEM_TABLE_ID    "SBXVMM  "
#define ACPI_SLP_TYP_S5	     5	   /* the value _S5 names, as QEMU's GED uses */
#define ACPI_SLP_EN	     0x20  /* SLEEP_CONTROL_REG: SLP_EN, with SLP_TYP in bits 2..4 */
#define ACPI_GED_EVT_PWR_BTN 0x4   /* GED event selector bit: power button pressed */
#define ACPI_COM1_PORT	     0x3f8 /* the COM1 device's I/O base (8 ports) */
#define ACPI_COM1_GSI	     4	   /* and its interrupt, ISA IRQ 4 identity-mapped */

/* Generic Address Structure address spaces. */
#define ACPI_GAS_MMIO 0
#define ACPI_GAS_IO   1

/**
 * struct acpi_reg - a register the FADT points at (a Generic Address Structure, 8 bits wide).
 * @space: ACPI_GAS_MMIO or ACPI_GAS_IO.
 * @address: its guest-physical or port address (0: absent, only allowed for the reset one).
 */
struct acpi_reg {
	uint8_t space;
	uint64_t address;
};

/**
 * struct acpi_mmio_slot - one virtio-mmio device window.
 * @base: guest-physical base, below 4 GiB (Memory32Fixed).
 * @size: window bytes (typically 0x200 or 0x1000).
 * @gsi: its I/O APIC input.
 * @edge: edge-triggered (irqfd without resample); false: level, as QEMU microvm.
 */
struct acpi_mmio_slot {
	uint32_t base;
	uint32_t size;
	uint32_t gsi;
	bool edge;
};

/**
 * struct acpi_config - what the tables describe.
 * @ncpus: vCPUs, 1..ACPI_VCPUS_MAX; LAPIC ids and processor UIDs are 0..@ncpus-1.
 * @ioapic_id: the I/O APIC's id (at ACPI_IOAPIC_GPA, GSI base 0; QEMU uses 0).
 * @irq0_to_gsi2: emit the ISA override IRQ0 -> GSI2 (QEMU's layout: the VMM then routes the
 *	PIT's GSI 0 to I/O APIC pin 2); false: identity, as KVM's default routing wires it.
 * @nslots: entries of @slot, 0..ACPI_MMIO_SLOTS_MAX.
 * @slot: the virtio-mmio devices, named VR00.. in this order with _UID = index.
 * @sleep_ctl: the FADT's SLEEP_CONTROL_REG: the guest writes (SLP_TYP << 2) | ACPI_SLP_EN
 *	there to power off (SLP_TYP = ACPI_SLP_TYP_S5).
 * @sleep_sts: the FADT's SLEEP_STATUS_REG (may be the same register).
 * @reset: the FADT's RESET_REG (address 0: none, and RESET_REG_SUP stays clear).
 * @reset_value: the byte the guest writes to @reset to reboot.
 * @ged_base: MMIO address of a 4-byte Generic Event Device event register (0: no GED and no
 *	power button device); reading it returns ACPI_GED_EVT_PWR_BTN when the button was pressed.
 * @ged_gsi: the GED's interrupt (edge, active high) when @ged_base is set.
 * @rtc: a CMOS RTC exists at ports 0x70/0x71 (else the FADT says it does not).
 * @com1: describe the 8250 COM1 (PNP0501, ports 0x3f8-0x3ff, ISA IRQ 4 edge). A
 *	hardware-reduced FADT makes Linux drop the legacy PIC and its identity-mapped ISA IRQs, so
 *	without this device the legacy ttyS0 cannot get its IRQ and every tty write fails (EIO).
 */
struct acpi_config {
	unsigned ncpus;
	uint8_t ioapic_id;
	bool irq0_to_gsi2;
	unsigned nslots;
	struct acpi_mmio_slot slot[ACPI_MMIO_SLOTS_MAX];
	struct acpi_reg sleep_ctl;
	struct acpi_reg sleep_sts;
	struct acpi_reg reset;
	uint8_t reset_value;
	uint32_t ged_base;
	uint32_t ged_gsi;
	bool rtc;
	bool com1;
};

/**
 * struct acpi_layout - where acpi_build() put each table (guest-physical, and offset in the
 * buffer = address - base).
 * @size: bytes used from the start of the buffer.
 * @rsdp: the RSDP (at the base; hand this to the kernel as start_info.rsdp_paddr).
 * @xsdt: the XSDT.
 * @fadt: the FADT.
 * @madt: the MADT.
 * @dsdt: the DSDT.
 * @dsdt_len: the DSDT's length.
 */
struct acpi_layout {
	size_t size;
	uint64_t rsdp;
	uint64_t xsdt;
	uint64_t fadt;
	uint64_t madt;
	uint64_t dsdt;
	uint32_t dsdt_len;
};

/**
 * acpi_build() - write the complete table set for @cfg into @buf.
 * @cfg: what to describe.
 * @buf: the output (its bytes past what is used are left untouched).
 * @cap: its capacity; nothing is written at or past @buf + @cap.
 * @base_gpa: where the caller will copy @buf in the guest (16-byte aligned; e.g. 0xe0000,
 *	inside the reserved [0xa0000, 1 MiB) range boot.c's E820 map already has, where Linux
 *	also scans for the RSDP); every pointer between tables is computed from it.
 * @out: filled in on success.
 * @err: on failure, "<why> (<what to do>)".
 * @errlen: size of @err.
 *
 * Order: RSDP, XSDT, FADT, MADT, DSDT, each 8-byte aligned.
 *
 * Return: 0, or -1 with @err set (invalid config, or @cap too small: nothing useful written).
 */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap, uint64_t base_gpa,
	       struct acpi_layout *out, char *err, size_t errlen);

#endif
