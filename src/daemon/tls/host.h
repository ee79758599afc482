/* The host name a leaf certificate is minted for: strict validation and canonical form of a
 * name or IP literal that came from the guest (SNI, CONNECT). Pure: no I/O, no allocation,
 * never resolves a name. */
#ifndef SBX_DAEMON_TLS_HOST_H
#define SBX_DAEMON_TLS_HOST_H

#include "daemon/policy/addr.h"

#include <stdbool.h>

#define TLS_HOST_MAX 253 /* longest name, without the trailing dot */

/**
 * struct tls_host - a validated host.
 * @name:  canonical text: lowercase name without trailing dot, or the address as
 *         pol_addr_format() writes it (no brackets).
 * @is_ip: true if @addr holds an IP literal (then the certificate gets an IP SAN).
 * @addr:  the address when @is_ip.
 */
struct tls_host {
	char name[TLS_HOST_MAX + 1];
	bool is_ip;
	struct pol_addr addr;
};

/**
 * tls_host_parse() - validate and canonicalize @in.
 * @in:  "api.example.com" (any case, one trailing dot allowed), "1.2.3.4", "::1" or "[::1]".
 * @out: filled on success.
 *
 * A name must be LDH: labels of 1..63 letters, digits and '-', not starting or ending with
 * '-', 253 characters at most, and its last label not all digits (that is a malformed
 * address). No '_', no '*', no spaces, no ports.
 * Return: 0, or -1 if @in is neither a valid name nor an IP literal.
 */
int tls_host_parse(const char *in, struct tls_host *out);

#endif
