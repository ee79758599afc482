/* The first bytes of a TLS connection as sbxd's egress proxy sees them from a guest (CONNECT
 * tunnels, transparent 443): find the server name (SNI) in the ClientHello. The one parser of
 * those bytes; pure code, no I/O, no allocation, never reads past len. It reads only the
 * ClientHello: bytes after it (in its last record or beyond) are the caller's to relay.
 */
#ifndef SBX_DAEMON_PROXY_TLS_HELLO_H
#define SBX_DAEMON_PROXY_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define TLS_SNI_MAX	      253u   /* longest name returned (without its NUL) */
#define TLS_HELLO_MAX	      16384u /* ClientHello handshake message, 4-byte header included */
#define TLS_HELLO_RECORDS_MAX 5u     /* records it may span */
/* Bytes that are always enough for an answer other than 0 (need more). */
#define TLS_HELLO_NEED_MAX (TLS_HELLO_MAX + 5u * TLS_HELLO_RECORDS_MAX)

/**
 * tls_hello_sni() - find the SNI host_name in the ClientHello at the start of @buf.
 * @buf: the bytes received so far on the stream
 * @len: how many
 * @sni: gets the name, lowercased, without a trailing dot, NUL-terminated; "" unless 1
 * @cap: its size; TLS_SNI_MAX + 1 always suffices
 *
 * Walks the record headers (type 22, version 0x0301..0x0304, length 1..16384; the hello may
 * span up to TLS_HELLO_RECORDS_MAX records, each of type 22), the handshake header (type 1,
 * length <= TLS_HELLO_MAX - 4), legacy_version (0x0301..0x0304), random, session_id (<= 32),
 * cipher_suites (even, >= 2), compression_methods (>= 1) and the extensions (each
 * length-checked; the block must end exactly with the hello). The server_name extension must
 * appear at most once and, if present, hold exactly one host_name that is a DNS name as
 * http_host_norm() accepts it (letters, digits, '-', '_', '.'); an IP literal is refused.
 * Errors come as soon as the bytes seen prove them; at most TLS_HELLO_NEED_MAX bytes are
 * needed for a final answer.
 *
 * Return: 1 SNI found, 2 a valid ClientHello without SNI, 0 need more bytes, -1 not a TLS
 * ClientHello or malformed (or the name does not fit @cap).
 */
int tls_hello_sni(const uint8_t *buf, size_t len, char *sni, size_t cap);

#endif
