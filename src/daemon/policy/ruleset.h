/* A list of policy rules -> a verdict: deny wins, else the most specific allow, else
 * default deny; plus the explicit-allow test that opens a blocked address or name.
 * Pure: the caller owns the rules (from the store); nothing here allocates or does I/O. */
#ifndef SBX_DAEMON_POLICY_RULESET_H
#define SBX_DAEMON_POLICY_RULESET_H

#include "daemon/policy/pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** enum pol_decision - what a rule or a verdict says. */
enum pol_decision { POL_DENY, POL_ALLOW };

/**
 * struct pol_rule - one rule.
 * @id:       its id in the store (only reported back, never interpreted).
 * @decision: allow or deny.
 * @pat:      the resource pattern.
 * @scope:    "" = global (all sandboxes), else the one sandbox's name.
 * @origin:   "user" or "preset" (only reported back).
 */
struct pol_rule {
	int64_t id;
	enum pol_decision decision;
	struct pol_pattern pat;
	char scope[64];
	char origin[16];
};

/**
 * struct pol_verdict - a decision and what made it.
 * @decision: allow or deny.
 * @rule:     index into the rule array of the rule that decided, or -1 (default deny, or a
 *            blocked address/name refused by pol_decide_connect()).
 * @reason:   static text: "denied by rule", "allowed by rule", "no rule allows it (default
 *            deny)", or the blocked range or "cloud metadata name" for a connect-time refusal.
 */
struct pol_verdict {
	enum pol_decision decision;
	int rule;
	const char *reason;
};

/**
 * pol_decide() - the policy verdict for a lookup or a connection.
 * @r: rules.
 * @n: number of rules (at most INT_MAX are looked at).
 * @sandbox: the sandbox's name; rules with this scope or the global scope apply (NULL: only
 *           global rules).
 * @host, @addr, @port: as for pol_pattern_match() (port 0 = unknown, at DNS time).
 *
 * If any applicable DENY rule matches: deny, naming the first such rule. Else if any
 * applicable ALLOW rule matches: allow, naming the most specific (pol_pattern_specificity();
 * the first on a tie). Else deny by default (rule -1).
 * Return: the verdict. Blocked addresses are NOT judged here; see pol_decide_connect().
 */
struct pol_verdict pol_decide(const struct pol_rule *r, size_t n, const char *sandbox,
			      const char *host, const struct pol_addr *addr, uint16_t port);

/**
 * pol_explicitly_allowed() - whether the rules name this destination on purpose.
 * @r, @n, @sandbox, @host, @addr, @port: as for pol_decide().
 *
 * True only if no applicable DENY rule matches and an applicable ALLOW rule matches by an
 * exact host name (with or without port) or by an IP literal/CIDR containing the address —
 * never through "*.x", "**.x" or "**". A CIDR counts only if it lies inside the blocked range
 * holding the address (10.0.0.0/8 or 10.1.2.3 opens 10.1.2.3; 0.0.0.0/0 does not), so a
 * catch-all network is not mistaken for an explicit exception.
 * Return: true if explicitly allowed.
 */
bool pol_explicitly_allowed(const struct pol_rule *r, size_t n, const char *sandbox,
			    const char *host, const struct pol_addr *addr, uint16_t port);

/**
 * pol_decide_connect() - the verdict at connect time, on the REAL resolved address.
 * @r, @n, @sandbox, @host, @addr, @port: as for pol_decide(); @addr is what sbxd is about to
 *        connect to (NULL only if it has none yet).
 *
 * pol_decide(); then, if it allows but pol_addr_blocked(@addr) or pol_host_blocked(@host),
 * deny (rule -1, reason naming the range or "cloud metadata name") unless
 * pol_explicitly_allowed(). This is what defeats DNS rebinding to private addresses.
 * Return: the verdict.
 */
struct pol_verdict pol_decide_connect(const struct pol_rule *r, size_t n, const char *sandbox,
				      const char *host, const struct pol_addr *addr, uint16_t port);

#endif
