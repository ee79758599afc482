/* A bounds-checked little-endian byte writer and the few AML (ACPI Machine Language)
 * encodings sbx-vmm's DSDT needs: PkgLength, NameSeg/NameString, integers, strings, buffers,
 * packages, Scope/Device/Name/Method and resource descriptors. Pure code: never writes past
 * the writer's capacity; a write that does not fit marks the writer failed and is dropped. */
#ifndef SBX_VMM_AML_H
#define SBX_VMM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AML opcodes used here (ACPI 6.5, section 20.3). */
#define AML_ZERO      0x00
#define AML_ONE	      0x01
#define AML_NAME      0x08
#define AML_BYTE      0x0a
#define AML_WORD      0x0b
#define AML_DWORD     0x0c
#define AML_STRING    0x0d
#define AML_QWORD     0x0e
#define AML_SCOPE     0x10
#define AML_BUFFER    0x11
#define AML_PACKAGE   0x12
#define AML_METHOD    0x14
#define AML_DUAL_NAME 0x2e
#define AML_EXT	      0x5b /* prefix of OpRegion 0x80, Field 0x81, Device 0x82 */
#define AML_ROOT      0x5c
#define AML_LOCAL0    0x60
#define AML_ARG0      0x68
#define AML_STORE     0x70
#define AML_AND	      0x7b
#define AML_NOTIFY    0x86
#define AML_IF	      0xa0
#define AML_ONES      0xff

/* Largest PkgLength AML can encode (28 bits). */
#define AML_PKGLEN_MAX 0x0fffffffU
/* Nesting depth of open PkgLength scopes a writer tracks. */
#define AML_DEPTH_MAX 8

/**
 * struct aml - a writer into a caller's buffer.
 * @buf: the buffer.
 * @cap: its capacity; nothing is ever written at or past it.
 * @len: bytes written so far.
 * @failed: a write did not fit (or a scope was misused); the content is then incomplete.
 * @depth: open scopes.
 * @open: start offset of each open scope's PkgLength placeholder.
 * @buf_body: where the open Buffer's content starts.
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool failed;
	unsigned depth;
	size_t open[AML_DEPTH_MAX];
	size_t buf_body;
};

/**
 * aml_init() - start writing at @buf.
 * @w: the writer.
 * @buf: the buffer (may be NULL when @cap is 0).
 * @cap: its capacity.
 */
void aml_init(struct aml *w, uint8_t *buf, size_t cap);

/**
 * aml_bytes() - append raw bytes.
 * @w: the writer.
 * @p: the bytes.
 * @n: how many.
 */
void aml_bytes(struct aml *w, const void *p, size_t n);

/**
 * aml_zeros() - append @n zero bytes.
 * @w: the writer.
 * @n: how many.
 */
void aml_zeros(struct aml *w, size_t n);

/**
 * aml_u8() - append one byte; aml_u16(), aml_u32(), aml_u64(): little-endian values.
 * @w: the writer.
 * @v: the value.
 */
void aml_u8(struct aml *w, uint8_t v);
void aml_u16(struct aml *w, uint16_t v);
void aml_u32(struct aml *w, uint32_t v);
void aml_u64(struct aml *w, uint64_t v);

/**
 * aml_align() - append zero bytes up to a multiple of @a (a power of two).
 * @w: the writer.
 * @a: the alignment.
 */
void aml_align(struct aml *w, size_t a);

/**
 * aml_pkglen_size() - bytes the PkgLength encoding takes for a body of @body bytes.
 * @body: bytes after the PkgLength that it covers.
 *
 * Return: 1..4, or 0 if the total exceeds AML_PKGLEN_MAX.
 */
unsigned aml_pkglen_size(size_t body);

/**
 * aml_pkg_open() - open a PkgLength scope: everything written until aml_pkg_close() is
 * counted in it (the PkgLength itself included, as AML wants).
 * @w: the writer.
 */
void aml_pkg_open(struct aml *w);

/**
 * aml_pkg_close() - close the innermost scope: encode its PkgLength in the fewest bytes,
 * moving the body up if it needs more than the one reserved.
 * @w: the writer.
 */
void aml_pkg_close(struct aml *w);

/**
 * aml_nameseg() - append a NameSeg: 1-4 chars of [A-Z0-9_], padded with '_'.
 * @w: the writer.
 * @name: the name (marks the writer failed if invalid).
 */
void aml_nameseg(struct aml *w, const char *name);

/**
 * aml_namestring() - append a NameString: "NAME", "\\", "\\NAME" or "\\NAM1.NAM2".
 * @w: the writer.
 * @path: the path (up to two segments, optionally rooted).
 */
void aml_namestring(struct aml *w, const char *path);

/**
 * aml_int() - append an integer in its shortest form (Zero, One, Ones, Byte..QWord).
 * @w: the writer.
 * @v: the value.
 */
void aml_int(struct aml *w, uint64_t v);

/**
 * aml_string() - append a String (ASCII, NUL-terminated).
 * @w: the writer.
 * @s: the text.
 */
void aml_string(struct aml *w, const char *s);

/**
 * aml_name_open() - begin Name(@name, <object>): the caller appends the object.
 * @w: the writer.
 * @name: the NameString.
 */
void aml_name_open(struct aml *w, const char *name);

/**
 * aml_name_int() - Name(@name, integer).
 * @w: the writer.
 * @name: the name.
 * @v: the value.
 */
void aml_name_int(struct aml *w, const char *name, uint64_t v);

/**
 * aml_name_string() - Name(@name, "string").
 * @w: the writer.
 * @name: the name.
 * @s: the string.
 */
void aml_name_string(struct aml *w, const char *name, const char *s);

/**
 * aml_scope_open() - Scope(@path) { ...; aml_pkg_close() ends it.
 * @w: the writer.
 * @path: the NameString.
 */
void aml_scope_open(struct aml *w, const char *path);

/**
 * aml_device_open() - Device(@name) { ...; aml_pkg_close() ends it.
 * @w: the writer.
 * @name: the NameString.
 */
void aml_device_open(struct aml *w, const char *name);

/**
 * aml_method_open() - Method(@name, @nargs, Serialized or not) { ...; aml_pkg_close() ends it.
 * @w: the writer.
 * @name: the NameString.
 * @nargs: 0..7.
 * @serialized: the method is serialized.
 */
void aml_method_open(struct aml *w, const char *name, unsigned nargs, bool serialized);

/**
 * aml_package_open() - Package(@n) { ...; the caller appends @n elements, then
 * aml_pkg_close().
 * @w: the writer.
 * @n: the element count (at most 255).
 */
void aml_package_open(struct aml *w, unsigned n);

/**
 * aml_buffer_open() - Buffer() { ...; aml_buffer_close() writes the size and ends it.
 * @w: the writer.
 *
 * The bytes appended until aml_buffer_close() are the buffer's content. Buffers do not nest.
 */
void aml_buffer_open(struct aml *w);

/**
 * aml_buffer_close() - insert the Buffer's size (shortest integer) and close its PkgLength.
 * @w: the writer.
 */
void aml_buffer_close(struct aml *w);

/* Resource descriptors (ACPI 6.5, section 6.4). */
#define AML_RES_MEM32_FIXED 0x86
#define AML_RES_EXT_IRQ	    0x89
#define AML_RES_END	    0x79
#define AML_IRQ_CONSUMER    0x01
#define AML_IRQ_EDGE	    0x02
#define AML_IRQ_ACTIVE_LOW  0x04
#define AML_IRQ_SHARED	    0x08

/**
 * aml_res_mem32_fixed() - Memory32Fixed(ReadWrite or ReadOnly, @base, @size).
 * @w: the writer.
 * @base: the address.
 * @size: the length.
 * @rw: ReadWrite.
 */
void aml_res_mem32_fixed(struct aml *w, uint32_t base, uint32_t size, bool rw);

/**
 * aml_res_ext_irq() - Interrupt(ResourceConsumer, ...) { @gsi }: one extended interrupt.
 * @w: the writer.
 * @flags: AML_IRQ_* (AML_IRQ_CONSUMER is always added).
 * @gsi: the interrupt.
 */
void aml_res_ext_irq(struct aml *w, uint8_t flags, uint32_t gsi);

/**
 * aml_res_end() - the End Tag closing a resource template (checksum 0: "treat as valid").
 * @w: the writer.
 */
void aml_res_end(struct aml *w);

/**
 * acpi_checksum() - the byte that makes @n bytes at @p sum to zero (with the current
 * checksum byte counted as zero by the caller).
 * @p: the bytes.
 * @n: how many.
 *
 * Return: 0 - sum of the bytes, mod 256.
 */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
