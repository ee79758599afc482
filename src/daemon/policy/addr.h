/* Policy addresses: struct pol_addr (IPv4/IPv6), strict parse and canonical format, CIDR
 * containment, and the blocked ranges and cloud-metadata names sbxd refuses at connect time.
 * Pure functions: no I/O, no allocation, no resolving — a name is never looked up here. */
#ifndef SBX_DAEMON_POLICY_ADDR_H
#define SBX_DAEMON_POLICY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big enough for any pol_addr_format() output ("ffff:...:255.255.255.255" is 45 + NUL). */
#define POL_ADDR_STRLEN 46

/**
 * struct pol_addr - one IP address.
 * @family: AF_INET (address in a[0..3], a[4..15] zero) or AF_INET6.
 * @a:      the address bytes, network order.
 */
struct pol_addr {
	int family;
	uint8_t a[16];
};

/**
 * pol_addr_parse() - parse a numeric IPv4 or IPv6 address.
 * @s: "1.2.3.4" (strict dotted quad: no octal, no short forms), "::1" or "[::1]".
 * @a: filled on success.
 *
 * Never resolves names. An IPv4-mapped IPv6 text (::ffff:1.2.3.4) stays AF_INET6; matching
 * and blocking judge it by its IPv4 (see pol_addr_unmap()).
 * Return: 0, or -1 if @s is not exactly one address.
 */
int pol_addr_parse(const char *s, struct pol_addr *a);

/**
 * pol_addr_format() - canonical text of an address (inet_ntop form, no brackets).
 * @a: the address.
 * @out: buffer; POL_ADDR_STRLEN bytes always suffice.
 * @n: size of @out (truncated, NUL-terminated if smaller; "" if @n is 0 nothing is written).
 */
void pol_addr_format(const struct pol_addr *a, char *out, size_t n);

/**
 * pol_addr_unmap() - the IPv4 address inside an IPv4-mapped IPv6 address (::ffff:0:0/96).
 * @in: any address.
 * @out: @in itself, or the embedded IPv4 address if @in is mapped.
 */
void pol_addr_unmap(const struct pol_addr *in, struct pol_addr *out);

/**
 * pol_addr_bits() - number of bits of an address family (32 or 128).
 * @a: the address.
 * Return: 32 for AF_INET, 128 otherwise.
 */
unsigned pol_addr_bits(const struct pol_addr *a);

/**
 * pol_cidr_contains() - whether @net/@prefix contains @a.
 * @net: network address (bits beyond @prefix are ignored).
 * @prefix: 0..32 for AF_INET, 0..128 for AF_INET6.
 * @a: the address; a mapped IPv6 address is compared as its IPv4.
 * Return: true if same family (after unmapping) and the first @prefix bits agree.
 */
bool pol_cidr_contains(const struct pol_addr *net, unsigned prefix, const struct pol_addr *a);

/**
 * pol_addr_blocked() - whether an address lies in a range sbxd never connects to by default.
 * @a: the real, resolved address (NULL: not blocked).
 *
 * The ranges: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
 * 198.18/15 (the synthetic pool), 224/4, 240/4 (incl. 255.255.255.255); ::/96 (unspecified,
 * loopback, IPv4-compatible), fc00::/7, fe80::/10, ff00::/8, 64:ff9b:1::/48; and IPv6 forms
 * that carry an IPv4 address — ::ffff:0:0/96, 64:ff9b::/96 (NAT64), 2002::/16 (6to4) — judged
 * by that IPv4 address.
 * Return: NULL if not blocked, else a static text naming the range ("10.0.0.0/8 (private)").
 */
const char *pol_addr_blocked(const struct pol_addr *a);

/**
 * pol_addr_blocked_range() - the blocked range holding @a, as a network and prefix.
 * @a: the address.
 * @net: filled with the range's network (family as judged: a mapped address gives AF_INET).
 * @prefix: filled with its prefix length.
 * Return: true if @a is blocked (then @net/@prefix are set), false otherwise.
 */
bool pol_addr_blocked_range(const struct pol_addr *a, struct pol_addr *net, unsigned *prefix);

/**
 * pol_host_blocked() - whether a host name must never be connected to by default.
 * @host: a name as the client sent it (any case, trailing dot allowed), or NULL.
 *
 * True for cloud metadata names (metadata.google.internal, instance-data, ...) and for a
 * host that is itself an IP literal in a blocked range.
 * Return: true if blocked.
 */
bool pol_host_blocked(const char *host);

#endif
