/* Published-port specs as users type them ("[[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp]",
 * Docker's -p grammar, IPv6 host addresses in brackets) and as sbx shows them
 * ("127.0.0.1:49152->3000/tcp"). The one parser, shared by the CLI and sbxd (fuzzed:
 * tests/fuzz/portspec.c). Pure: no I/O, no allocation. */
#ifndef SBX_COMMON_PORTSPEC_H
#define SBX_COMMON_PORTSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTSPEC_IP_MAX	  46 /* INET6_ADDRSTRLEN */
#define PORTSPEC_TEXT_MAX 80 /* "[v6]:65535->65535/tcp" and more */

struct port_spec {
	int family;			/* AF_INET or AF_INET6 */
	char host_ip[PORTSPEC_IP_MAX];	/* canonical text (inet_ntop); "127.0.0.1" by default */
	uint16_t host_port;		/* 0: an ephemeral port chosen when published */
	uint16_t sandbox_port;		/* 1..65535 */
	uint8_t proto;			/* PORTS_PROTO_TCP (default) or PORTS_PROTO_UDP */
	bool ip_given, host_port_given; /* what the text named (unpublish matches on them) */
};

/**
 * portspec_parse() - parse @text into @out.
 * Return: 0, or -1 with a one-line reason in @err (@errlen bytes) naming the bad part.
 */
int portspec_parse(const char *text, struct port_spec *out, char *err, size_t errlen);

/**
 * portspec_format() - "HOST_IP:HOST_PORT->SANDBOX_PORT/PROTO" ("[v6]:..." for IPv6) into
 * @out (@n bytes, PORTSPEC_TEXT_MAX is enough). Return: @out.
 */
char *portspec_format(const struct port_spec *p, char *out, size_t n);

/**
 * portspec_proto_name() - "tcp" or "udp".
 */
const char *portspec_proto_name(uint8_t proto);

/**
 * portspec_proto_parse() - "tcp" / "udp" to PORTS_PROTO_*. Return: the number, or 0.
 */
uint8_t portspec_proto_parse(const char *s);

/**
 * portspec_is_loopback() - true when @p's host address is in 127.0.0.0/8 or is ::1.
 */
bool portspec_is_loopback(const struct port_spec *p);

/**
 * portspec_set_ip() - take @ip (IPv4 or IPv6 text, no brackets) as @p's host address,
 * canonicalized. Return: 0, or -1 when it is not an address.
 */
int portspec_set_ip(struct port_spec *p, const char *ip);

#endif
