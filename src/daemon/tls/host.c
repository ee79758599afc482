/* Validation of host names for leaf certificates (see host.h). Owns the one LDH check the
 * TLS code applies to guest-supplied names. Never resolves and never allocates. */
#include "daemon/tls/host.h"

#include <stdio.h>
#include <string.h>

/* Whether @c may appear in an LDH label. */
static bool ldh_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Check the lowercase, dot-stripped name in @s (length @n) label by label. */
static int ldh_name_ok(const char *s, size_t n)
{
	size_t start = 0, i;
	bool all_digits = true;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!ldh_char(s[i]))
				return -1;
			if (s[i] < '0' || s[i] > '9')
				all_digits = false;
			continue;
		}
		/* A label ends at s[i] ('.' or the end). */
		if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-')
			return -1;
		if (i < n)
			all_digits = true;
		start = i + 1;
	}
	return all_digits ? -1 : 0;
}

int tls_host_parse(const char *in, struct tls_host *out)
{
	size_t n, i;

	if (!in)
		return -1;
	memset(out, 0, sizeof(*out));
	if (pol_addr_parse(in, &out->addr) == 0) {
		out->is_ip = true;
		pol_addr_format(&out->addr, out->name, sizeof(out->name));
		return 0;
	}
	n = strlen(in);
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > TLS_HOST_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		char c = in[i];

		out->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out->name[n] = '\0';
	if (ldh_name_ok(out->name, n) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}
