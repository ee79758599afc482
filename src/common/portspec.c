/* Published-port spec parsing and formatting (see portspec.h). */
#include "common/portspec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ports.h"

const char *portspec_proto_name(uint8_t proto)
{
	return proto == PORTS_PROTO_UDP ? "udp" : "tcp";
}

uint8_t portspec_proto_parse(const char *s)
{
	if (strcmp(s, "tcp") == 0)
		return PORTS_PROTO_TCP;
	if (strcmp(s, "udp") == 0)
		return PORTS_PROTO_UDP;
	return 0;
}

int portspec_set_ip(struct port_spec *p, const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1)
		p->family = AF_INET6;
	else
		return -1;
	inet_ntop(p->family, a, p->host_ip, sizeof(p->host_ip));
	return 0;
}

bool portspec_is_loopback(const struct port_spec *p)
{
	return p->family == AF_INET ? strncmp(p->host_ip, "127.", 4) == 0
				    : strcmp(p->host_ip, "::1") == 0;
}

/* A decimal port 1..65535 in [s, s+n), no sign or spaces. Return it or -1. */
static long port_num(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

int portspec_parse(const char *text, struct port_spec *out, char *err, size_t errlen)
{
	char buf[128], ip[128];
	char *slash, *colon, *rest;
	long v;

	memset(out, 0, sizeof(*out));
	out->proto = PORTS_PROTO_TCP;
	portspec_set_ip(out, "127.0.0.1");
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "port spec too long: use [[HOST_IP:]HOST_PORT:]SANDBOX_PORT");
		return -1;
	}
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen,
				 "port spec has a control character: use "
				 "[[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp]");
			return -1;
		}
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		out->proto = portspec_proto_parse(slash + 1);
		if (!out->proto) {
			snprintf(err, errlen, "port spec %s: protocol \"%s\" is not tcp or udp",
				 text, slash + 1);
			return -1;
		}
	}
	colon = strrchr(buf, ':');
	v = port_num(colon ? colon + 1 : buf, strlen(colon ? colon + 1 : buf));
	if (v < 0) {
		snprintf(err, errlen,
			 "port spec %s: sandbox port \"%s\" is not a number from 1 to 65535", text,
			 colon ? colon + 1 : buf);
		return -1;
	}
	out->sandbox_port = (uint16_t)v;
	if (!colon)
		return 0;
	*colon = '\0';
	rest = buf; /* [HOST_IP:]HOST_PORT, HOST_PORT possibly empty after an address */
	colon = rest[0] == '[' ? strchr(rest, ']') : strrchr(rest, ':');
	if (rest[0] == '[') {
		if (!colon || colon[1] != ':') {
			snprintf(err, errlen,
				 "port spec %s: write an IPv6 host address as [ADDR]:", text);
			return -1;
		}
		*colon = '\0';
		colon++; /* the ':' after ']' */
		snprintf(ip, sizeof(ip), "%s", rest + 1);
	} else if (colon) {
		*colon = '\0';
		snprintf(ip, sizeof(ip), "%s", rest);
	}
	if (colon) {
		if (portspec_set_ip(out, ip) < 0) {
			snprintf(err, errlen,
				 "port spec %s: host address \"%s\" is not an IP address", text,
				 ip);
			return -1;
		}
		out->ip_given = true;
		rest = colon + 1;
		if (!*rest)
			return 0; /* HOST_IP::SANDBOX_PORT: an ephemeral port on that address */
	}
	v = port_num(rest, strlen(rest));
	if (v < 0) {
		snprintf(err, errlen,
			 "port spec %s: host port \"%s\" is not a number from 1 to 65535", text,
			 rest);
		return -1;
	}
	out->host_port = (uint16_t)v;
	out->host_port_given = true;
	return 0;
}

char *portspec_format(const struct port_spec *p, char *out, size_t n)
{
	snprintf(out, n, p->family == AF_INET6 ? "[%s]:%u->%u/%s" : "%s:%u->%u/%s", p->host_ip,
		 (unsigned)p->host_port, (unsigned)p->sandbox_port, portspec_proto_name(p->proto));
	return out;
}
