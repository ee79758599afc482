/* AML and table byte writer (see aml.h). Every byte goes through room(): a write that does
 * not fit in the capacity marks the writer failed and writes nothing, so a too-small buffer
 * is an error the caller sees, never an overflow. */
#include "vmm/aml.h"

#include <string.h>

void aml_init(struct aml *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = buf ? cap : 0;
}

/* Whether @n more bytes fit; marks the writer failed if not. */
static bool room(struct aml *w, size_t n)
{
	if (w->failed || n > w->cap - w->len) {
		w->failed = true;
		return false;
	}
	return true;
}

void aml_bytes(struct aml *w, const void *p, size_t n)
{
	if (!room(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void aml_zeros(struct aml *w, size_t n)
{
	if (!room(w, n))
		return;
	memset(w->buf + w->len, 0, n);
	w->len += n;
}

void aml_u8(struct aml *w, uint8_t v)
{
	aml_bytes(w, &v, 1);
}

void aml_u16(struct aml *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	aml_bytes(w, b, sizeof(b));
}

void aml_u32(struct aml *w, uint32_t v)
{
	aml_u16(w, (uint16_t)v);
	aml_u16(w, (uint16_t)(v >> 16));
}

void aml_u64(struct aml *w, uint64_t v)
{
	aml_u32(w, (uint32_t)v);
	aml_u32(w, (uint32_t)(v >> 32));
}

void aml_align(struct aml *w, size_t a)
{
	aml_zeros(w, (a - (w->len & (a - 1))) & (a - 1));
}

/* Insert @n bytes of @p at offset @at (<= len), moving what follows up. */
static void insert(struct aml *w, size_t at, const uint8_t *p, size_t n)
{
	if (!room(w, n) || at > w->len) {
		w->failed = true;
		return;
	}
	memmove(w->buf + at + n, w->buf + at, w->len - at);
	memcpy(w->buf + at, p, n);
	w->len += n;
}

unsigned aml_pkglen_size(size_t body)
{
	if (body + 1 <= 0x3f)
		return 1;
	if (body + 2 <= 0xfff)
		return 2;
	if (body + 3 <= 0xfffff)
		return 3;
	if (body <= AML_PKGLEN_MAX - 4)
		return 4;
	return 0;
}

void aml_pkg_open(struct aml *w)
{
	if (w->depth == AML_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	w->open[w->depth++] = w->len;
	aml_u8(w, 0); /* placeholder for the PkgLength's lead byte */
}

void aml_pkg_close(struct aml *w)
{
	size_t start, body, total;
	unsigned n;
	uint8_t more[3];

	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	start = w->open[--w->depth];
	if (w->failed)
		return;
	body = w->len - start - 1;
	n = aml_pkglen_size(body);
	if (n == 0) {
		w->failed = true;
		return;
	}
	total = body + n;
	if (n == 1) {
		w->buf[start] = (uint8_t)total;
		return;
	}
	for (unsigned i = 0; i < n - 1; i++)
		more[i] = (uint8_t)(total >> (4 + 8 * i));
	insert(w, start + 1, more, n - 1);
	if (!w->failed)
		w->buf[start] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
}

/* Whether @c may appear in a NameSeg (leading digits are refused by the caller). */
static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Append the NameSeg in @s[0..@n) padded with '_'. */
static void nameseg_n(struct aml *w, const char *s, size_t n)
{
	char seg[4] = {'_', '_', '_', '_'};

	if (n == 0 || n > 4 || (s[0] >= '0' && s[0] <= '9')) {
		w->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			w->failed = true;
			return;
		}
		seg[i] = s[i];
	}
	aml_bytes(w, seg, sizeof(seg));
}

void aml_nameseg(struct aml *w, const char *name)
{
	nameseg_n(w, name, strlen(name));
}

void aml_namestring(struct aml *w, const char *path)
{
	const char *dot;

	if (path[0] == '\\') {
		aml_u8(w, AML_ROOT);
		path++;
		if (!*path) {
			aml_u8(w, 0); /* NullName: the root itself */
			return;
		}
	}
	dot = strchr(path, '.');
	if (!dot) {
		aml_nameseg(w, path);
		return;
	}
	if (strchr(dot + 1, '.')) {
		w->failed = true; /* more than two segments: not needed here */
		return;
	}
	aml_u8(w, AML_DUAL_NAME);
	nameseg_n(w, path, (size_t)(dot - path));
	aml_nameseg(w, dot + 1);
}

void aml_int(struct aml *w, uint64_t v)
{
	if (v == 0) {
		aml_u8(w, AML_ZERO);
	} else if (v == 1) {
		aml_u8(w, AML_ONE);
	} else if (v <= UINT8_MAX) {
		aml_u8(w, AML_BYTE);
		aml_u8(w, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		aml_u8(w, AML_WORD);
		aml_u16(w, (uint16_t)v);
	} else if (v <= UINT32_MAX) {
		aml_u8(w, AML_DWORD);
		aml_u32(w, (uint32_t)v);
	} else {
		aml_u8(w, AML_QWORD);
		aml_u64(w, v);
	}
}

void aml_string(struct aml *w, const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x01 || (unsigned char)*c > 0x7f)
			w->failed = true;
	aml_u8(w, AML_STRING);
	aml_bytes(w, s, strlen(s) + 1);
}

void aml_name_open(struct aml *w, const char *name)
{
	aml_u8(w, AML_NAME);
	aml_namestring(w, name);
}

void aml_name_int(struct aml *w, const char *name, uint64_t v)
{
	aml_name_open(w, name);
	aml_int(w, v);
}

void aml_name_string(struct aml *w, const char *name, const char *s)
{
	aml_name_open(w, name);
	aml_string(w, s);
}

void aml_scope_open(struct aml *w, const char *path)
{
	aml_u8(w, AML_SCOPE);
	aml_pkg_open(w);
	aml_namestring(w, path);
}

void aml_device_open(struct aml *w, const char *name)
{
	aml_u8(w, AML_EXT);
	aml_u8(w, 0x82);
	aml_pkg_open(w);
	aml_namestring(w, name);
}

void aml_method_open(struct aml *w, const char *name, unsigned nargs, bool serialized)
{
	if (nargs > 7)
		w->failed = true;
	aml_u8(w, AML_METHOD);
	aml_pkg_open(w);
	aml_namestring(w, name);
	aml_u8(w, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
}

void aml_package_open(struct aml *w, unsigned n)
{
	if (n > UINT8_MAX)
		w->failed = true;
	aml_u8(w, AML_PACKAGE);
	aml_pkg_open(w);
	aml_u8(w, (uint8_t)n);
}

void aml_buffer_open(struct aml *w)
{
	aml_u8(w, AML_BUFFER);
	aml_pkg_open(w);
	w->buf_body = w->len;
}

void aml_buffer_close(struct aml *w)
{
	struct aml size;
	uint8_t enc[9];

	if (!w->failed && w->buf_body <= w->len) {
		aml_init(&size, enc, sizeof(enc));
		aml_int(&size, w->len - w->buf_body);
		insert(w, w->buf_body, enc, size.len);
	}
	aml_pkg_close(w);
}

void aml_res_mem32_fixed(struct aml *w, uint32_t base, uint32_t size, bool rw)
{
	aml_u8(w, AML_RES_MEM32_FIXED);
	aml_u16(w, 9); /* bytes after the length field */
	aml_u8(w, rw ? 1 : 0);
	aml_u32(w, base);
	aml_u32(w, size);
}

void aml_res_ext_irq(struct aml *w, uint8_t flags, uint32_t gsi)
{
	aml_u8(w, AML_RES_EXT_IRQ);
	aml_u16(w, 6); /* flags, count, one DWORD; no resource source */
	aml_u8(w, flags | AML_IRQ_CONSUMER);
	aml_u8(w, 1);
	aml_u32(w, gsi);
}

void aml_res_end(struct aml *w)
{
	aml_u8(w, AML_RES_END);
	aml_u8(w, 0);
}

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0 - sum);
}
