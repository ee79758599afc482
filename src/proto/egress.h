/* The egress wire protocol between sbx-init's relay/DNS stub (guest) and sbxd (host): which
 * vsock ports carry what, and the one header a transparent connection starts with. One
 * definition for both sides; the host parses the header in src/daemon/proxy (fuzzed). */
#ifndef SBX_PROTO_EGRESS_H
#define SBX_PROTO_EGRESS_H

#include <stdint.h>

/*
 * Guest -> host vsock ports (hybrid vsock: sbxd listens on "<vm>.vsock_<port>").
 *
 * EGRESS_PORT_PROXY: one stream per guest TCP connection to the guest's explicit proxy
 *   (127.0.0.1:3128 inside, named by HTTP_PROXY/HTTPS_PROXY/ALL_PROXY). The bytes are the
 *   client's own HTTP/1.1 proxy conversation (absolute-URI requests or CONNECT), untouched.
 * EGRESS_PORT_TRANSPARENT: one stream per guest TCP connection redirected by netfilter
 *   (REDIRECT to port 3129 inside). The stream starts with struct egress_orig_dst,
 *   then carries the client's bytes untouched.
 * EGRESS_PORT_DNS: one long-lived stream per stub worker; DNS messages framed as in DNS over
 *   TCP (RFC 1035 4.2.2: a 2-byte big-endian length, then the message), answered in order.
 */
#define EGRESS_PORT_PROXY	3128u
#define EGRESS_PORT_TRANSPARENT 3129u
#define EGRESS_PORT_DNS		53u

/* Inside the guest: where the relay listens, and the addresses of the dummy interface. */
#define EGRESS_GUEST_PROXY_PORT 3128u /* 127.0.0.1, explicit proxy */
#define EGRESS_GUEST_TRANSPARENT_PORT                                                              \
	3129u /* 0.0.0.0 (containers land on their bridge), REDIRECT target */
#define EGRESS_GUEST_IFNAME "sbx0"
#define EGRESS_GUEST_ADDR   "198.18.0.1" /* on sbx0; the DNS stub listens here :53 */
#define EGRESS_GUEST_PREFIX 15		 /* 198.18.0.0/15: synthetic addresses live here */

/* First bytes of every EGRESS_PORT_TRANSPARENT stream, all integers big-endian. */
#define EGRESS_ORIG_MAGIC 0x53425854u /* "SBXT" */
struct egress_orig_dst {
	uint32_t magic;	  /* EGRESS_ORIG_MAGIC */
	uint8_t family;	  /* 4 or 6 */
	uint8_t reserved; /* 0 */
	uint16_t port;	  /* original destination port */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, rest 0; or IPv6 */
} __attribute__((packed));
#define EGRESS_ORIG_LEN 24

#endif
