/* The C runtime of sbx-vmm's freestanding test guests (64-bit long mode, no libc): entered
 * through PVH (crt_pvh.S switches to long mode) or the Linux 64-bit boot protocol of a
 * bzImage (crt_bz.S), it calls the guest's guest_main() and exits with its return value
 * through the debug-exit port. Gives serial output, port and MMIO access, the boot data
 * behind either entry, and ACPI lookups. Must stay tiny: guests run under PVM's instruction
 * emulator (~1 M instructions/s). Never allocates; never touches a device it was not asked to.
 *
 * A guest is tests/vmmguest/NAME.c defining `int guest_main(void)`; the Makefile builds
 * build/vmmguest/NAME.elf (PVH) and build/vmmguest/NAME.bz (bzImage) from it. */
#ifndef SBX_TESTS_VMMGUEST_RT_H
#define SBX_TESTS_VMMGUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_COM1	      0x3f8
#define RT_DEBUG_EXIT 0x501
#define RT_MEM_MAX    16 /* memory-map entries rt_boot() keeps */
#define RT_VIRTIO_MAX 32 /* virtio-mmio slots rt_acpi_virtio_mmio() can return */

/* How the guest was entered (the first argument crt_*.S hands rt_start()). */
#define RT_BOOT_PVH   0 /* EBX was struct hvm_start_info */
#define RT_BOOT_LINUX 1 /* RSI was struct boot_params (the zero page) */

/**
 * guest_main() - the test guest's body, written by each guest.
 *
 * Return: the exit status the VMM reports (0..255).
 */
int guest_main(void);

/**
 * rt_start() - called by crt_*.S in long mode on the runtime's stack: reads the boot data,
 * runs guest_main() and exits with its value.
 * @via: RT_BOOT_PVH or RT_BOOT_LINUX.
 * @boot: the start_info or boot_params address.
 */
_Noreturn void rt_start(unsigned via, uint64_t boot);

/**
 * rt_outb() - write a byte to an I/O port.
 * @port: the port.
 * @v: the byte.
 */
static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

/**
 * rt_inb() - read a byte from an I/O port.
 * @port: the port.
 *
 * Return: the byte.
 */
static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/**
 * rt_mmio_read32() - one 32-bit MMIO load (identity-mapped below 4 GiB).
 * @addr: guest-physical address, 4-byte aligned.
 *
 * Return: the value.
 */
static inline uint32_t rt_mmio_read32(uint64_t addr)
{
	return *(volatile const uint32_t *)(uintptr_t)addr;
}

/**
 * rt_mmio_write32() - one 32-bit MMIO store.
 * @addr: guest-physical address, 4-byte aligned.
 * @v: the value.
 */
static inline void rt_mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

/**
 * rt_putc() - one byte to COM1.
 * @c: the byte.
 */
void rt_putc(char c);

/**
 * rt_puts() - a NUL-terminated string to COM1 (no newline added).
 * @s: the string.
 */
void rt_puts(const char *s);

/**
 * rt_printf() - formatted output to COM1: %s %c %d %u %x %lu %lx %p and %%; nothing else
 * (no widths or flags).
 * @fmt: the format.
 */
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * rt_exit() - end the VM with @code as sbx-vmm's exit status (debug-exit port 0x501).
 * @code: 0..255.
 */
_Noreturn void rt_exit(unsigned code);

/**
 * struct rt_mem_range - one memory-map (E820) entry.
 * @addr: start.
 * @size: bytes.
 * @type: 1 RAM, 2 reserved, ...
 */
struct rt_mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/**
 * struct rt_boot - what the VMM handed over, whichever the entry.
 * @via: RT_BOOT_PVH or RT_BOOT_LINUX.
 * @cmdline: the kernel command line ("" if none).
 * @nmem: entries in @mem (at most RT_MEM_MAX kept).
 * @mem: the memory map.
 * @initrd_addr: the initrd (0: none).
 * @initrd_size: its bytes.
 * @rsdp: the ACPI RSDP's address (0: none given).
 */
struct rt_boot {
	unsigned via;
	const char *cmdline;
	unsigned nmem;
	struct rt_mem_range mem[RT_MEM_MAX];
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t rsdp;
};

/**
 * rt_boot() - the boot data read at start.
 *
 * Return: the runtime's copy (valid for the whole run).
 */
const struct rt_boot *rt_boot(void);

/**
 * rt_acpi_rsdp_ok() - whether rt_boot()->rsdp points at an RSDP with a good signature and
 * checksums (the 20-byte one, and the 36-byte one for revision 2+).
 *
 * Return: true if so.
 */
bool rt_acpi_rsdp_ok(void);

/**
 * rt_acpi_table() - find a table through RSDP -> XSDT (checksum of each table checked).
 * @sig: its four-character signature ("APIC", "FACP", ...; "DSDT" through the FADT).
 *
 * Return: the table's header address, or NULL.
 */
const uint8_t *rt_acpi_table(const char *sig);

/**
 * rt_acpi_lapics() - count the enabled processor local APICs (and x2APICs) in the MADT.
 *
 * Return: the count (0 without a MADT).
 */
unsigned rt_acpi_lapics(void);

/**
 * struct rt_virtio_slot - one virtio-mmio device from the DSDT.
 * @base: its MMIO window (Memory32Fixed).
 * @len: the window's bytes.
 * @gsi: its interrupt (Extended Interrupt).
 */
struct rt_virtio_slot {
	uint32_t base;
	uint32_t len;
	uint32_t gsi;
};

/**
 * rt_aml_virtio_scan() - find the virtio-mmio devices in DSDT bytes: each "LNRO0005" _HID
 * followed (before the next one) by a Memory32Fixed and an Extended Interrupt descriptor.
 * Pure (no global state): the host unit test runs it on sbx-vmm's own tables.
 * @aml: the DSDT (header included).
 * @len: its length.
 * @out: the slots, in DSDT order.
 * @max: room in @out.
 *
 * Return: slots written.
 */
unsigned rt_aml_virtio_scan(const uint8_t *aml, size_t len, struct rt_virtio_slot *out,
			    unsigned max);

/**
 * rt_acpi_virtio_mmio() - rt_aml_virtio_scan() on the DSDT found through the FADT.
 * @out: the slots.
 * @max: room in @out.
 *
 * Return: slots written (0 without a DSDT).
 */
unsigned rt_acpi_virtio_mmio(struct rt_virtio_slot *out, unsigned max);

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
