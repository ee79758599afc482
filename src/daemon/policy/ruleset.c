/* Rules -> verdict: deny wins, most specific allow named, default deny; the explicit-allow
 * exception for blocked destinations. Owns the decision order only; never allocates, never
 * does I/O, never modifies the rules it is given. */
#include "daemon/policy/ruleset.h"

#include <limits.h>
#include <string.h>

static bool applies(const struct pol_rule *rule, const char *sandbox)
{
	/* A scope that fills its array without a NUL is corrupt: it applies to no sandbox. */
	if (rule->scope[0] == '\0')
		return true;
	return sandbox && strnlen(rule->scope, sizeof(rule->scope)) < sizeof(rule->scope) &&
	       strcmp(rule->scope, sandbox) == 0;
}

static size_t clamp(size_t n)
{
	return n > INT_MAX ? INT_MAX : n;
}

struct pol_verdict pol_decide(const struct pol_rule *r, size_t n, const char *sandbox,
			      const char *host, const struct pol_addr *addr, uint16_t port)
{
	struct pol_verdict v = {POL_DENY, -1, "no rule allows it (default deny)"};
	unsigned best = 0;

	n = clamp(n);
	for (size_t i = 0; i < n; i++) {
		if (!applies(&r[i], sandbox) || !pol_pattern_match(&r[i].pat, host, addr, port))
			continue;
		if (r[i].decision == POL_DENY) {
			v.decision = POL_DENY;
			v.rule = (int)i;
			v.reason = "denied by rule";
			return v;
		}
		unsigned spec = pol_pattern_specificity(&r[i].pat);

		if (v.rule < 0 || spec > best) {
			v.decision = POL_ALLOW;
			v.rule = (int)i;
			v.reason = "allowed by rule";
			best = spec;
		}
	}
	return v;
}

bool pol_explicitly_allowed(const struct pol_rule *r, size_t n, const char *sandbox,
			    const char *host, const struct pol_addr *addr, uint16_t port)
{
	struct pol_addr lit, range;
	const struct pol_addr *a = addr;
	unsigned range_prefix = 0;
	bool found = false, blocked;

	if (pol_decide(r, n, sandbox, host, addr, port).decision != POL_ALLOW)
		return false; /* a deny matches, or nothing allows it at all */
	if (!a && host && pol_addr_parse(host, &lit) == 0)
		a = &lit;
	blocked = a && pol_addr_blocked_range(a, &range, &range_prefix);
	n = clamp(n);
	for (size_t i = 0; i < n && !found; i++) {
		const struct pol_pattern *p = &r[i].pat;

		if (r[i].decision != POL_ALLOW || !applies(&r[i], sandbox) ||
		    !pol_pattern_match(p, host, addr, port))
			continue;
		if (p->kind == POL_EXACT)
			found = true;
		else if (p->kind == POL_NET && a)
			/* The rule's network must sit inside the blocked range it opens. */
			found = !blocked || (p->prefix >= range_prefix &&
					     pol_cidr_contains(&range, range_prefix, &p->net));
	}
	return found;
}

struct pol_verdict pol_decide_connect(const struct pol_rule *r, size_t n, const char *sandbox,
				      const char *host, const struct pol_addr *addr, uint16_t port)
{
	struct pol_verdict v = pol_decide(r, n, sandbox, host, addr, port);
	const char *why = NULL;
	struct pol_addr lit;

	if (v.decision != POL_ALLOW)
		return v;
	if (addr)
		why = pol_addr_blocked(addr);
	if (!why && host && pol_addr_parse(host, &lit) == 0)
		why = pol_addr_blocked(&lit);
	if (!why && pol_host_blocked(host))
		why = "cloud metadata name";
	if (why && !pol_explicitly_allowed(r, n, sandbox, host, addr, port)) {
		v.decision = POL_DENY;
		v.rule = -1;
		v.reason = why;
	}
	return v;
}
