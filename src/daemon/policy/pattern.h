/* One policy resource pattern: parse (with an error naming the bad item), canonical text,
 * and matching against (host, addr, port). Pure: no I/O, no allocation, never resolves.
 * A pattern is a host form (exact, *.x, **.x, **) or an address form (IP literal, CIDR). */
#ifndef SBX_DAEMON_POLICY_PATTERN_H
#define SBX_DAEMON_POLICY_PATTERN_H

#include "daemon/policy/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POL_NAME_MAX	253 /* longest host name, without the trailing dot */
#define POL_LABEL_MAX	63
#define POL_PATTERN_MAX 300 /* longest canonical text incl. NUL ("*." name ":65535") */

/**
 * enum pol_kind - what a pattern matches.
 * @POL_ANY:   "**": every host and every address.
 * @POL_EXACT: "name": only that host name, not its subdomains.
 * @POL_ONE:   "*.name": names with exactly one more label (a.name; not b.a.name, not name).
 * @POL_SUB:   "**.name": names with one or more labels more (a.name, b.a.name; not name).
 * @POL_NET:   "1.2.3.4", "::1", "10.0.0.0/8", "fd00::/8": addresses in net/prefix.
 */
enum pol_kind { POL_ANY, POL_EXACT, POL_ONE, POL_SUB, POL_NET };

/**
 * struct pol_pattern - one parsed pattern, canonical (lowercase, no trailing dot).
 * @kind:   see enum pol_kind.
 * @port:   1..65535, or 0 = any port.
 * @name:   the name (POL_EXACT) or the suffix after "*." / "**." (POL_ONE, POL_SUB).
 * @net:    the network (POL_NET); IPv4-mapped IPv6 input is stored as IPv4.
 * @prefix: its prefix length; 32/128 for a single address.
 */
struct pol_pattern {
	enum pol_kind kind;
	uint16_t port;
	char name[POL_NAME_MAX + 1];
	struct pol_addr net;
	uint8_t prefix;
};

/**
 * pol_pattern_parse() - parse one pattern.
 * @text: "host", "*.x", "**.x", "**", each optionally ":PORT"; "1.2.3.4[:PORT]",
 *        "::1", "[::1]:PORT", "10.0.0.0/8[:PORT]", "fd00::/8", "[fd00::/8]:PORT".
 *        Leading and trailing spaces are ignored; names are case-insensitive and a trailing
 *        dot is dropped.
 * @p: filled on success.
 * @err: on failure, one line naming the item and why ("\"a..b\": empty label"); may be NULL.
 * @errlen: size of @err.
 *
 * Rejected: empty text or labels, spaces or other characters outside [a-z0-9_-] in a name,
 * a label starting or ending with '-', '*' anywhere but a leading "*." / "**." or a bare
 * "**", a name whose last label is all digits (a malformed address), names over 253 or
 * labels over 63 characters, ports outside 1..65535, prefixes beyond 32/128, and a CIDR
 * with bits set beyond its prefix (10.1.0.0/8: the message suggests 10.0.0.0/8).
 * Return: 0, or -1 with @err set.
 */
int pol_pattern_parse(const char *text, struct pol_pattern *p, char *err, size_t errlen);

/**
 * pol_pattern_list_parse() - parse "a, b:443 ,*.c" into patterns.
 * @list: items separated by commas; spaces around items allowed; no empty items.
 * @out: array of @max patterns.
 * @max: capacity of @out.
 * @n: set to the number parsed (on failure: the number before the bad item).
 * @err: on failure "item N \"text\": why" (or "too many items (max M)"); may be NULL.
 * @errlen: size of @err.
 * Return: 0, or -1 with @err set.
 */
int pol_pattern_list_parse(const char *list, struct pol_pattern *out, size_t max, size_t *n,
			   char *err, size_t errlen);

/**
 * pol_pattern_format() - canonical text of a pattern; parsing it gives an equal pattern.
 * @p: the pattern.
 * @out: buffer; POL_PATTERN_MAX bytes always suffice.
 * @n: size of @out.
 *
 * Forms: "api.x.com:443", "*.x.com", "**", "1.2.3.4:22", "::1", "[::1]:443", "10.0.0.0/8",
 * "[fd00::/8]:5432" (an IPv6 address or network with a port is bracketed).
 */
void pol_pattern_format(const struct pol_pattern *p, char *out, size_t n);

/**
 * pol_pattern_equal() - whether two parsed patterns are the same pattern.
 * @a: one pattern.
 * @b: the other.
 * Return: true if kind, port and name or network/prefix agree.
 */
bool pol_pattern_equal(const struct pol_pattern *a, const struct pol_pattern *b);

/**
 * pol_pattern_match() - whether a pattern covers a connection or a lookup.
 * @p: the pattern.
 * @host: the host name asked for (any case, trailing dot allowed), an IP literal, or NULL
 *        (a connection to a bare address).
 * @addr: the address, or NULL (a decision before resolving, e.g. at DNS time).
 * @port: the port, or 0 = unknown (DNS time): then a pattern's port does not stop a match.
 *
 * "**" matches everything. Host forms match @host by name (never an IP-literal host).
 * POL_NET matches @addr, or @host when it is an IP literal; a mapped IPv6 address is judged
 * as its IPv4. A pattern with a port matches only that port (or port 0).
 * Return: true on a match.
 */
bool pol_pattern_match(const struct pol_pattern *p, const char *host, const struct pol_addr *addr,
		       uint16_t port);

/**
 * pol_pattern_specificity() - rank used to name the most specific matching allow rule.
 * @p: the pattern.
 *
 * Classes, highest first: exact name > IP/CIDR > *.x > **.x > **; within a class a port
 * ranks above no port, then a longer suffix or prefix ranks higher.
 * Return: a number; larger is more specific.
 */
unsigned pol_pattern_specificity(const struct pol_pattern *p);

#endif
