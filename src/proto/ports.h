/* The port-publishing wire protocol between sbxd (host) and sbx-init's relay (guest): one
 * definition for both sides. sbxd opens one hybrid-vsock stream per published connection
 * ("CONNECT 1025\n" on <run_dir>/vsock.sock, answer "OK <n>\n"), sends the 8-byte header,
 * then (TCP) the client's bytes both ways untouched, or (UDP) one datagram per frame.
 * The guest parses the header and the frames here (fuzzed: tests/fuzz/ports_stream.c). */
#ifndef SBX_PROTO_PORTS_H
#define SBX_PROTO_PORTS_H

#include <stddef.h>
#include <stdint.h>

#define PORTS_VSOCK_PORT  1025u	       /* guest vsock port of the relay's inbound listener */
#define PORTS_HDR_MAGIC	  0x53425850u  /* "SBXP" */
#define PORTS_HDR_LEN	  8	       /* u32 magic | u8 proto | u8 reserved=0 | u16 port, BE */
#define PORTS_PROTO_TCP	  6u	       /* IPPROTO_TCP */
#define PORTS_PROTO_UDP	  17u	       /* IPPROTO_UDP */
#define PORTS_DGRAM_MAX	  65507u       /* largest UDP payload over IPv4 */
#define PORTS_UDP_IDLE_MS (120 * 1000) /* a UDP flow with no datagram either way ends */

/*
 * TCP stream: header, then bytes. The guest connects to 127.0.0.1:port (then [::1]:port when
 * refused), so servers bound to 0.0.0.0, ::, 127.0.0.1 or ::1 and ports published by
 * containers inside are all reached. If nothing answers the guest closes the stream before
 * sending a byte; sbxd then resets its client.
 * UDP stream (one per host client address): header, then datagrams both ways, each framed as
 * u16 BE length + payload (0..PORTS_DGRAM_MAX bytes). The guest sends them from one socket
 * connected to 127.0.0.1:port and frames what comes back.
 */

/**
 * ports_hdr_put() - write the header for @proto (PORTS_PROTO_*) and guest @port into @out
 * (PORTS_HDR_LEN bytes).
 */
void ports_hdr_put(uint8_t *out, uint8_t proto, uint16_t port);

/**
 * ports_hdr_parse() - decode the header at the front of @b (@n bytes).
 * Return: 1 with *@proto and *@port set; 0 when fewer than PORTS_HDR_LEN bytes are there;
 * -1 when malformed (magic, proto not TCP/UDP, reserved not 0, port 0).
 */
int ports_hdr_parse(const uint8_t *b, size_t n, uint8_t *proto, uint16_t *port);

/**
 * ports_dgram_frame() - the UDP frame at the front of @b (@n bytes).
 * Return: its total length (2 + payload) when complete, 0 when more bytes are needed, -1 when
 * its length exceeds PORTS_DGRAM_MAX.
 */
long ports_dgram_frame(const uint8_t *b, size_t n);

/**
 * ports_dgram_put_len() - write the 2-byte length prefix of a @len-byte datagram into @out.
 */
void ports_dgram_put_len(uint8_t *out, size_t len);

#endif
