/* libFuzzer target for the policy engine's parsers and matcher: input is
 * "PATTERN\nHOST\nADDR\nPORT" (missing parts are NULL). Checks: canonical format re-parses to
 * an equal pattern; ports and DNS-time matching are consistent; ** matches all; address
 * text round-trips; the list and rules-file parsers never over-read; verdicts agree. */
#include "daemon/policy/addr.h"
#include "daemon/policy/pattern.h"
#include "daemon/policy/preset.h"
#include "daemon/policy/ruleset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exact-size, NUL-terminated copy of data[from..to) so ASan sees any over-read. */
static char *part(const uint8_t *data, size_t from, size_t to)
{
	char *s = malloc(to - from + 1);

	if (!s)
		abort();
	memcpy(s, data + from, to - from);
	s[to - from] = '\0';
	return s;
}

static void check_pattern(const struct pol_pattern *p, const char *host,
			  const struct pol_addr *addr, uint16_t port)
{
	char text[POL_PATTERN_MAX], again[POL_PATTERN_MAX], err[256];
	struct pol_pattern q;
	bool m = pol_pattern_match(p, host, addr, port);

	pol_pattern_format(p, text, sizeof(text));
	if (strlen(text) >= sizeof(text) - 1)
		abort();
	if (pol_pattern_parse(text, &q, err, sizeof(err)) != 0 || !pol_pattern_equal(p, &q))
		abort();
	pol_pattern_format(&q, again, sizeof(again));
	if (strcmp(text, again) != 0)
		abort();
	if (p->kind != POL_NET) {
		for (const char *c = p->name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				abort();
		if (strlen(p->name) > POL_NAME_MAX ||
		    (p->name[0] && p->name[strlen(p->name) - 1] == '.'))
			abort();
	}
	if (p->kind == POL_ANY && p->port == 0 && !m)
		abort();
	if (m && p->port && port && port != p->port)
		abort();
	/* What matches at a known port also matches at DNS time (port 0). */
	if (m && !pol_pattern_match(p, host, addr, 0))
		abort();
	/* Matching must not depend on the case of the host or a trailing dot. */
	if (host && *host && strlen(host) < 300) {
		char up[302];
		size_t i;

		for (i = 0; host[i]; i++)
			up[i] = (host[i] >= 'a' && host[i] <= 'z') ? (char)(host[i] - 32) : host[i];
		up[i] = '\0';
		if (pol_pattern_match(p, up, addr, port) != m)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut[3], k = 0;
	char *pat, *host = NULL, *addr_text = NULL, *port_text = NULL, *all;
	struct pol_pattern p, list[8];
	struct pol_addr addr, *ap = NULL;
	uint16_t port = 0;
	char err[256];
	size_t n;

	if (size > 4096)
		return 0;
	for (size_t i = 0; i < size && k < 3; i++)
		if (data[i] == '\n')
			cut[k++] = i;
	pat = part(data, 0, k > 0 ? cut[0] : size);
	if (k > 0)
		host = part(data, cut[0] + 1, k > 1 ? cut[1] : size);
	if (k > 1)
		addr_text = part(data, cut[1] + 1, k > 2 ? cut[2] : size);
	if (k > 2)
		port_text = part(data, cut[2] + 1, size);
	if (port_text)
		port = (uint16_t)strtoul(port_text, NULL, 10);

	if (addr_text && pol_addr_parse(addr_text, &addr) == 0) {
		char t[POL_ADDR_STRLEN];
		struct pol_addr b;

		ap = &addr;
		pol_addr_format(&addr, t, sizeof(t));
		if (pol_addr_parse(t, &b) != 0 || b.family != addr.family ||
		    memcmp(b.a, addr.a, 16) != 0)
			abort();
		(void)pol_addr_blocked(&addr);
	}
	(void)pol_host_blocked(host);

	if (pol_pattern_parse(pat, &p, err, sizeof(err)) == 0) {
		struct pol_rule r[2];
		struct pol_verdict v, c;
		bool ex;

		check_pattern(&p, host, ap, port);
		memset(r, 0, sizeof(r));
		r[0].decision = POL_ALLOW;
		r[0].pat = p;
		r[1].decision = POL_DENY;
		r[1].pat = p;
		r[1].pat.port = 1; /* deny only port 1 */
		v = pol_decide(r, 2, "s", host, ap, port);
		ex = pol_explicitly_allowed(r, 2, "s", host, ap, port);
		c = pol_decide_connect(r, 2, "s", host, ap, port);
		if (v.rule < -1 || v.rule > 1 || !v.reason)
			abort();
		if ((ex || c.decision == POL_ALLOW) && v.decision != POL_ALLOW)
			abort();
		if (v.decision == POL_ALLOW && !pol_pattern_match(&p, host, ap, port))
			abort();
		if (ex && p.kind != POL_EXACT && p.kind != POL_NET)
			abort();
	} else if (!err[0]) {
		abort(); /* every failure explains itself */
	}

	if (pol_pattern_list_parse(pat, list, 8, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			check_pattern(&list[i], host, ap, port);
	} else if (n > 8 || !err[0]) {
		abort();
	}

	all = part(data, 0, size);
	{
		struct pol_pattern *v = NULL;

		if (pol_preset_parse(all, "fuzz", &v, &n, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < n; i++)
				check_pattern(&v[i], host, ap, port);
			free(v);
		} else if (v || strncmp(err, "fuzz:", 5) != 0) {
			abort();
		}
	}
	free(all);
	free(pat);
	free(host);
	free(addr_text);
	free(port_text);
	return 0;
}
