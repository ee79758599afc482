/* Runtime ACPI lookups (see rt.h): RSDP checks, RSDP -> XSDT -> table by signature, MADT
 * LAPIC count, and the virtio-mmio devices of the DSDT. Reads tables only; the DSDT scanner
 * is pure so tests/unit/vmm_rt_acpi_test.c runs it on the host against src/vmm/acpi.c. */
#include "rt.h"

#define ACPI_HDR_LEN	36
#define RSDP_XSDT	24
#define FADT_DSDT	40
#define FADT_X_DSDT	140
#define MADT_ENTRIES	44
#define AML_MEM32_FIXED 0x86
#define AML_EXT_IRQ	0x89
#define VIRTIO_MMIO_HID "LNRO0005"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *phys(uint64_t a)
{
	return (const uint8_t *)(uintptr_t)a;
}

bool rt_acpi_rsdp_ok(void)
{
	const uint8_t *r = phys(rt_boot()->rsdp);

	if (!r || memcmp(r, "RSD PTR ", 8) != 0 || sum(r, 20) != 0)
		return false;
	return r[15] < 2 || (le32(r + 20) >= 36 && sum(r, 36) == 0);
}

/* A table header at @a whose checksum over its length is right, or NULL. */
static const uint8_t *table_at(uint64_t a)
{
	const uint8_t *t = phys(a);

	if (!t || le32(t + 4) < ACPI_HDR_LEN || le32(t + 4) > (1U << 20) ||
	    sum(t, le32(t + 4)) != 0)
		return NULL;
	return t;
}

const uint8_t *rt_acpi_table(const char *sig)
{
	const uint8_t *x, *f;

	if (!rt_acpi_rsdp_ok() || phys(rt_boot()->rsdp)[15] < 2)
		return NULL;
	x = table_at(le64(phys(rt_boot()->rsdp) + RSDP_XSDT));
	if (!x || memcmp(x, "XSDT", 4) != 0)
		return NULL;
	if (memcmp(sig, "DSDT", 4) == 0) {
		f = rt_acpi_table("FACP");
		if (!f || le32(f + 4) < FADT_X_DSDT + 8)
			return NULL;
		x = table_at(le64(f + FADT_X_DSDT) ? le64(f + FADT_X_DSDT) : le32(f + FADT_DSDT));
		return x && memcmp(x, "DSDT", 4) == 0 ? x : NULL;
	}
	for (uint32_t off = ACPI_HDR_LEN; off + 8 <= le32(x + 4); off += 8) {
		const uint8_t *t = table_at(le64(x + off));

		if (t && memcmp(t, sig, 4) == 0)
			return t;
	}
	return NULL;
}

unsigned rt_acpi_lapics(void)
{
	const uint8_t *m = rt_acpi_table("APIC");
	unsigned n = 0;

	if (!m)
		return 0;
	for (uint32_t off = MADT_ENTRIES, len = le32(m + 4); off + 2 <= len;) {
		const uint8_t *e = m + off;

		if (e[1] < 2 || e[1] > len - off)
			break;
		if (e[0] == 0 && e[1] >= 8 && (le32(e + 4) & 1)) /* LAPIC, enabled */
			n++;
		if (e[0] == 9 && e[1] >= 16 && (le32(e + 8) & 1)) /* x2APIC, enabled */
			n++;
		off += e[1];
	}
	return n;
}

/* The first occurrence of @pat in [@from, @len), or @len. */
static size_t find(const uint8_t *p, size_t from, size_t len, const void *pat, size_t n)
{
	for (size_t i = from; i + n <= len; i++)
		if (memcmp(p + i, pat, n) == 0)
			return i;
	return len;
}

unsigned rt_aml_virtio_scan(const uint8_t *aml, size_t len, struct rt_virtio_slot *out,
			    unsigned max)
{
	static const uint8_t mem32[3] = {AML_MEM32_FIXED, 9, 0};
	static const uint8_t irq[2] = {AML_EXT_IRQ, 6};
	unsigned n = 0;
	size_t at = find(aml, 0, len, VIRTIO_MMIO_HID, 8);

	while (at < len && n < max) {
		size_t next = find(aml, at + 8, len, VIRTIO_MMIO_HID, 8);
		size_t m = find(aml, at + 8, next, mem32, 3), i;

		if (m + 12 <= next) {
			i = find(aml, m + 12, next, irq, 2);
			if (i + 9 <= next && aml[i + 2] == 0 && aml[i + 4] >= 1)
				out[n++] = (struct rt_virtio_slot){
				    le32(aml + m + 4), le32(aml + m + 8), le32(aml + i + 5)};
		}
		at = next;
	}
	return n;
}

unsigned rt_acpi_virtio_mmio(struct rt_virtio_slot *out, unsigned max)
{
	const uint8_t *d = rt_acpi_table("DSDT");

	return d ? rt_aml_virtio_scan(d, le32(d + 4), out, max) : 0;
}
