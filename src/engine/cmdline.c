/* The guest kernel command line every engine gives the same guest (console, reboot, name,
 * clock, TCG clock parameters, shares) and the argv builder engines share. Pure string work:
 * starts nothing, reads nothing. */
#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int engine_arg_add(struct engine_argv *out, const char *fmt, ...)
{
	if (out->argc >= ENGINE_ARGV_MAX - 1)
		return -1;
	size_t room = sizeof(out->buf) - out->used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->buf + out->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	out->argv[out->argc++] = out->buf + out->used;
	out->argv[out->argc] = NULL;
	out->used += (size_t)n + 1;
	return 0;
}

int engine_shares_cmdline(const struct engine_share *shares, unsigned n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	int w;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!n)
		return 0;
	w = snprintf(out, outlen, "sbx.shares=");
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	o = (size_t)w;
	for (unsigned i = 0; i < n; i++) {
		w = snprintf(out + o, outlen - o, "%s" ENGINE_SHARE_TAG "%u:", i ? ";" : "", i);
		if (w < 0 || (size_t)w >= outlen - o)
			return -1;
		o += (size_t)w;
		for (const unsigned char *c = (const unsigned char *)shares[i].path; *c; c++) {
			bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				     (*c >= '0' && *c <= '9') || *c == '/' || *c == '.' ||
				     *c == '_' || *c == '-';
			if (o + (plain ? 1 : 3) >= outlen)
				return -1;
			if (plain) {
				out[o++] = (char)*c;
			} else {
				out[o++] = '%';
				out[o++] = hex[*c >> 4];
				out[o++] = hex[*c & 15];
			}
		}
		w = snprintf(out + o, outlen - o, ":%s",
			     shares[i].file	  ? "rofile"
			     : shares[i].readonly ? "ro"
						  : "rw");
		if (w < 0 || (size_t)w >= outlen - o)
			return -1;
		o += (size_t)w;
	}
	return (int)o;
}

/* The fixed part of the kernel command line. Return its length or -1 if too long. */
static int base_cmdline(const struct engine_vm_spec *s, char *out, size_t outlen)
{
	int n = snprintf(out, outlen,
			 "console=ttyS0 reboot=t panic=-1 pci=off quiet sbx.name=%s sbx.time=%lld",
			 s->name, (long long)s->now);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (s->accel != ENGINE_ACCEL_KVM && s->tsc_khz > 0) {
		int m =
		    snprintf(out + n, outlen - (size_t)n, " tsc_early_khz=%ld lpj=%ld tsc=reliable",
			     s->tsc_khz, s->tsc_khz * 4);
		if (m < 0 || (size_t)m >= outlen - (size_t)n)
			return -1;
		n += m;
	}
	return n;
}

size_t engine_cmdline_room(const struct engine_vm_spec *spec)
{
	char buf[ENGINE_CMDLINE_MAX];
	struct engine_vm_spec s = *spec;
	int n;

	if (s.now < 10000000000LL)
		s.now = 9999999999LL; /* room for any clock value of the next centuries */
	n = base_cmdline(&s, buf, sizeof(buf));
	if (n < 0 || (size_t)n + 2 >= sizeof(buf))
		return 0;
	return sizeof(buf) - (size_t)n - 2; /* the separating space and the NUL */
}

int engine_guest_cmdline(const struct engine_vm_spec *s, char *out, size_t outlen)
{
	int n;

	if (s->n_shares > ENGINE_SHARES_MAX || (s->n_shares && !s->shares))
		return -1;
	n = base_cmdline(s, out, outlen);
	if (n < 0)
		return -1;
	if (!s->n_shares)
		return n;
	if ((size_t)n + 1 >= outlen)
		return -1;
	out[n++] = ' ';
	int w = engine_shares_cmdline(s->shares, s->n_shares, out + n, outlen - (size_t)n);
	if (w < 0)
		return -1;
	return n + w;
}
