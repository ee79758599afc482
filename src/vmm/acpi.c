/* The ACPI table set of sbx-vmm (see acpi.h): layouts from ACPI 6.5 chapter 5, the DSDT's
 * shape from QEMU microvm (LNRO0005 virtio-mmio devices, GED + PNP0C0C power button, _S5).
 * All bytes go through the bounds-checked writer of aml.c; pointers between tables and the
 * checksums are patched in only once everything fitted. */
#include "vmm/acpi.h"

#include "vmm/aml.h"

#include <stdio.h>
#include <string.h>

#define HDR_LEN	    36 /* the common System Description Table header */
#define RSDP_LEN    36
#define FADT_LEN    276 /* ACPI 6.x */
#define IOAPIC_PINS 24	/* KVM's in-kernel I/O APIC */

/* FADT flags and IA-PC boot architecture flags. */
#define FADT_PWR_BUTTON	     (1U << 4)
#define FADT_SLP_BUTTON	     (1U << 5)
#define FADT_RESET_REG_SUP   (1U << 10)
#define FADT_HW_REDUCED	     (1U << 20)
#define IAPC_VGA_NOT_PRESENT (1U << 2)
#define IAPC_MSI_NOT_SUPP    (1U << 3)
#define IAPC_NO_ASPM	     (1U << 4)
#define IAPC_NO_CMOS_RTC     (1U << 5)

/* Offsets of the fields patched after writing. */
#define HDR_LENGTH   4
#define HDR_CHECKSUM 9
#define RSDP_CSUM    8
#define RSDP_XSDT    24
#define RSDP_XCSUM   32
#define FADT_X_DSDT  140

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Start a table: the header with length and checksum left 0. Return: its offset. */
static size_t table_begin(struct aml *w, const char *sig, uint8_t rev)
{
	size_t at;

	aml_align(w, 8);
	at = w->len;
	aml_bytes(w, sig, 4);
	aml_u32(w, 0);
	aml_u8(w, rev);
	aml_u8(w, 0);
	aml_bytes(w, ACPI_OEM_ID, 6);
	aml_bytes(w, ACPI_OEM_TABLE_ID, 8);
	aml_u32(w, 1);		 /* OEM revision */
	aml_bytes(w, "SBX ", 4); /* creator id */
	aml_u32(w, 1);		 /* creator revision */
	return at;
}

/* Patch a finished table's length and checksum (only once everything fitted). */
static void table_end(uint8_t *buf, size_t at, size_t end)
{
	put32(buf + at + HDR_LENGTH, (uint32_t)(end - at));
	buf[at + HDR_CHECKSUM] = 0;
	buf[at + HDR_CHECKSUM] = acpi_checksum(buf + at, end - at);
}

/* A Generic Address Structure for an 8-bit register. */
static void gas8(struct aml *w, const struct acpi_reg *r)
{
	aml_u8(w, r->space);
	aml_u8(w, r->address ? 8 : 0); /* bit width */
	aml_u8(w, 0);		       /* bit offset */
	aml_u8(w, r->address ? 1 : 0); /* access size: byte */
	aml_u64(w, r->address);
}

static void write_rsdp(struct aml *w)
{
	aml_bytes(w, "RSD PTR ", 8);
	aml_u8(w, 0); /* checksum of the first 20 bytes */
	aml_bytes(w, ACPI_OEM_ID, 6);
	aml_u8(w, 2);  /* revision: ACPI 2.0+, has the XSDT */
	aml_u32(w, 0); /* no RSDT */
	aml_u32(w, RSDP_LEN);
	aml_u64(w, 0); /* XSDT address, patched */
	aml_u8(w, 0);  /* extended checksum */
	aml_zeros(w, 3);
}

static void write_fadt(struct aml *w, const struct acpi_config *cfg)
{
	static const struct acpi_reg none;
	uint32_t flags = FADT_HW_REDUCED | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	uint16_t iapc = IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPP | IAPC_NO_ASPM;

	if (cfg->reset.address)
		flags |= FADT_RESET_REG_SUP;
	if (!cfg->rtc)
		iapc |= IAPC_NO_CMOS_RTC;
	aml_u32(w, 0);		/* FIRMWARE_CTRL: no FACS in a hardware-reduced machine */
	aml_u32(w, 0);		/* DSDT: the 64-bit X_DSDT is used */
	aml_zeros(w, 1);	/* reserved */
	aml_u8(w, 0);		/* preferred PM profile: unspecified */
	aml_u16(w, 0);		/* SCI_INT: none */
	aml_zeros(w, 88 - 48);	/* SMI_CMD .. GPE1_BLK: no fixed hardware */
	aml_zeros(w, 109 - 88); /* block lengths, latencies, alarms, century */
	aml_u16(w, iapc);
	aml_zeros(w, 1);
	aml_u32(w, flags);
	gas8(w, cfg->reset.address ? &cfg->reset : &none);
	aml_u8(w, cfg->reset.address ? cfg->reset_value : 0);
	aml_u16(w, 0);	      /* ARM boot flags */
	aml_u8(w, 5);	      /* FADT minor version: 6.5 */
	aml_u64(w, 0);	      /* X_FIRMWARE_CTRL */
	aml_u64(w, 0);	      /* X_DSDT, patched */
	aml_zeros(w, 8 * 12); /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	gas8(w, &cfg->sleep_ctl);
	gas8(w, &cfg->sleep_sts);
	aml_u64(w, 0); /* hypervisor vendor identity */
}

static void write_madt(struct aml *w, const struct acpi_config *cfg)
{
	aml_u32(w, ACPI_LAPIC_GPA);
	aml_u32(w, 1); /* PCAT_COMPAT: the 8259s exist (and Linux masks them) */
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		aml_u8(w, 0); /* Processor Local APIC */
		aml_u8(w, 8);
		aml_u8(w, (uint8_t)i); /* ACPI processor UID */
		aml_u8(w, (uint8_t)i); /* APIC id */
		aml_u32(w, 1);	       /* enabled */
	}
	aml_u8(w, 1); /* I/O APIC */
	aml_u8(w, 12);
	aml_u8(w, cfg->ioapic_id);
	aml_u8(w, 0);
	aml_u32(w, ACPI_IOAPIC_GPA);
	aml_u32(w, 0); /* GSI base */
	if (cfg->irq0_to_gsi2) {
		aml_u8(w, 2); /* Interrupt Source Override */
		aml_u8(w, 10);
		aml_u8(w, 0); /* bus: ISA */
		aml_u8(w, 0); /* IRQ 0 (the PIT) */
		aml_u32(w, 2);
		aml_u16(w, 0); /* conforms to the bus */
	}
	aml_u8(w, 4); /* Local APIC NMI: LINT1 of every processor */
	aml_u8(w, 6);
	aml_u8(w, 0xff);
	aml_u16(w, 0);
	aml_u8(w, 1);
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CCA 1, _CRS { Memory32Fixed, Interrupt } } */
static void dsdt_virtio(struct aml *w, unsigned i, const struct acpi_mmio_slot *s)
{
	char name[8];

	snprintf(name, sizeof(name), "VR%02u", i % 100);
	aml_device_open(w, name);
	aml_name_string(w, "_HID", "LNRO0005");
	aml_name_int(w, "_UID", i);
	aml_name_int(w, "_CCA", 1);
	aml_name_open(w, "_CRS");
	aml_buffer_open(w);
	aml_res_mem32_fixed(w, s->base, s->size, true);
	aml_res_ext_irq(w, s->edge ? AML_IRQ_EDGE : 0, s->gsi);
	aml_res_end(w);
	aml_buffer_close(w);
	aml_pkg_close(w);
}

/* The power button (PNP0C0C) and the Generic Event Device (ACPI0013) whose _EVT notifies it:
 * Method (_EVT, 1, Serialized) { Local0 = ESEL; If (Local0 & 4) { Notify (PWRB, 0x80) } } */
static void dsdt_power_button(struct aml *w, const struct acpi_config *cfg)
{
	aml_device_open(w, "PWRB");
	aml_name_string(w, "_HID", "PNP0C0C");
	aml_name_int(w, "_UID", 0);
	aml_pkg_close(w);

	aml_device_open(w, "GED");
	aml_name_string(w, "_HID", "ACPI0013");
	aml_name_int(w, "_UID", 0);
	aml_name_open(w, "_CRS");
	aml_buffer_open(w);
	aml_res_ext_irq(w, AML_IRQ_EDGE, cfg->ged_gsi);
	aml_res_end(w);
	aml_buffer_close(w);
	aml_u8(w, AML_EXT); /* OperationRegion (EREG, SystemMemory, base, 4) */
	aml_u8(w, 0x80);
	aml_nameseg(w, "EREG");
	aml_u8(w, 0x00);
	aml_int(w, cfg->ged_base);
	aml_int(w, 4);
	aml_u8(w, AML_EXT); /* Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 } */
	aml_u8(w, 0x81);
	aml_pkg_open(w);
	aml_nameseg(w, "EREG");
	aml_u8(w, 0x43);
	aml_nameseg(w, "ESEL");
	aml_u8(w, 32);
	aml_pkg_close(w);
	aml_method_open(w, "_EVT", 1, true);
	aml_u8(w, AML_STORE);
	aml_nameseg(w, "ESEL");
	aml_u8(w, AML_LOCAL0);
	aml_u8(w, AML_IF);
	aml_pkg_open(w);
	aml_u8(w, AML_AND);
	aml_u8(w, AML_LOCAL0);
	aml_int(w, ACPI_GED_EVT_PWR_BTN);
	aml_u8(w, 0); /* no target */
	aml_u8(w, AML_NOTIFY);
	aml_namestring(w, "\\_SB.PWRB");
	aml_int(w, 0x80);
	aml_pkg_close(w);
	aml_pkg_close(w);
	aml_pkg_close(w);
}

/* Device (COM1) { _HID "PNP0501", _UID 0, _CRS { IO (Decode16, 0x3f8, 0x3f8, 1, 8),
 * Interrupt (Edge, ActiveHigh) { 4 } } }: what QEMU microvm describes, so the 8250 PNP driver
 * maps ISA IRQ 4 through the I/O APIC. */
static void dsdt_com1(struct aml *w)
{
	aml_device_open(w, "COM1");
	aml_name_string(w, "_HID", "PNP0501");
	aml_name_int(w, "_UID", 0);
	aml_name_open(w, "_CRS");
	aml_buffer_open(w);
	aml_u8(w, 0x47); /* small resource: I/O port descriptor, 7 bytes */
	aml_u8(w, 1);	 /* decodes 16 address bits */
	aml_u16(w, ACPI_COM1_PORT);
	aml_u16(w, ACPI_COM1_PORT);
	aml_u8(w, 1); /* alignment */
	aml_u8(w, 8); /* length */
	aml_res_ext_irq(w, AML_IRQ_EDGE, ACPI_COM1_GSI);
	aml_res_end(w);
	aml_buffer_close(w);
	aml_pkg_close(w);
}

static void write_dsdt_body(struct aml *w, const struct acpi_config *cfg)
{
	aml_scope_open(w, "\\_SB");
	if (cfg->com1)
		dsdt_com1(w);
	if (cfg->ged_base)
		dsdt_power_button(w, cfg);
	for (unsigned i = 0; i < cfg->nslots; i++)
		dsdt_virtio(w, i, &cfg->slot[i]);
	aml_pkg_close(w);
	/* Name (\_S5, Package (4) { S5, 0, 0, 0 }): the SLP_TYP for poweroff. */
	aml_name_open(w, "\\_S5");
	aml_package_open(w, 4);
	aml_int(w, ACPI_SLP_TYP_S5);
	aml_int(w, 0);
	aml_int(w, 0);
	aml_int(w, 0);
	aml_pkg_close(w);
}

static bool reg_ok(const struct acpi_reg *r, bool optional)
{
	if (r->address == 0)
		return optional;
	if (r->space == ACPI_GAS_IO)
		return r->address <= 0xffff;
	return r->space == ACPI_GAS_MMIO;
}

static int check_config(const struct acpi_config *cfg, uint64_t base_gpa, char *err, size_t errlen)
{
	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_VCPUS_MAX) {
		snprintf(err, errlen, "%u vCPUs: ACPI tables take 1..%d (lower --cpus)", cfg->ncpus,
			 ACPI_VCPUS_MAX);
		return -1;
	}
	if (cfg->nslots > ACPI_MMIO_SLOTS_MAX) {
		snprintf(err, errlen, "%u virtio-mmio slots: at most %d (use fewer devices)",
			 cfg->nslots, ACPI_MMIO_SLOTS_MAX);
		return -1;
	}
	for (unsigned i = 0; i < cfg->nslots; i++) {
		const struct acpi_mmio_slot *s = &cfg->slot[i];

		if (s->size == 0 || s->base > UINT32_MAX - (s->size - 1) || s->gsi >= IOAPIC_PINS) {
			snprintf(err, errlen,
				 "virtio-mmio slot %u: window 0x%x+0x%x or GSI %u invalid "
				 "(a bug in the device layout)",
				 i, s->base, s->size, s->gsi);
			return -1;
		}
	}
	if (!reg_ok(&cfg->sleep_ctl, false) || !reg_ok(&cfg->sleep_sts, false) ||
	    !reg_ok(&cfg->reset, true) || (cfg->ged_base && cfg->ged_gsi >= IOAPIC_PINS)) {
		snprintf(err, errlen,
			 "sleep/reset/GED register missing or out of range (a bug in the "
			 "VMM's layout)");
		return -1;
	}
	if (base_gpa & 15) {
		snprintf(err, errlen, "table base 0x%llx is not 16-byte aligned (a bug)",
			 (unsigned long long)base_gpa);
		return -1;
	}
	return 0;
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap, uint64_t base_gpa,
	       struct acpi_layout *out, char *err, size_t errlen)
{
	struct aml w;
	size_t xsdt, fadt, madt, dsdt, xsdt_end, fadt_end, madt_end;

	memset(out, 0, sizeof(*out));
	if (check_config(cfg, base_gpa, err, errlen) < 0)
		return -1;
	aml_init(&w, buf, cap);
	write_rsdp(&w);
	xsdt = table_begin(&w, "XSDT", 1);
	aml_u64(&w, 0); /* FADT, patched */
	aml_u64(&w, 0); /* MADT, patched */
	xsdt_end = w.len;
	fadt = table_begin(&w, "FACP", 6);
	write_fadt(&w, cfg);
	fadt_end = w.len;
	madt = table_begin(&w, "APIC", 5);
	write_madt(&w, cfg);
	madt_end = w.len;
	dsdt = table_begin(&w, "DSDT", 2);
	write_dsdt_body(&w, cfg);
	if (w.failed || w.depth != 0 || fadt_end - fadt != FADT_LEN) {
		snprintf(err, errlen, "ACPI tables do not fit in %zu bytes (give a larger area)",
			 cap);
		return -1;
	}
	put64(buf + xsdt + HDR_LEN, base_gpa + fadt);
	put64(buf + xsdt + HDR_LEN + 8, base_gpa + madt);
	put64(buf + fadt + FADT_X_DSDT, base_gpa + dsdt);
	table_end(buf, xsdt, xsdt_end);
	table_end(buf, fadt, fadt_end);
	table_end(buf, madt, madt_end);
	table_end(buf, dsdt, w.len);
	put64(buf + RSDP_XSDT, base_gpa + xsdt);
	buf[RSDP_CSUM] = acpi_checksum(buf, 20);
	buf[RSDP_XCSUM] = acpi_checksum(buf, RSDP_LEN);
	*out = (struct acpi_layout){
	    w.len,	     base_gpa,	      base_gpa + xsdt,	       base_gpa + fadt,
	    base_gpa + madt, base_gpa + dsdt, (uint32_t)(w.len - dsdt)};
	return 0;
}
