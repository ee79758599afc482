/* The proxy-CA handout between sbxd (host) and sbx-init (guest): which vsock port carries
 * sbxd's per-install CA certificate to the guest at boot, and the limits both sides hold.
 * One definition for both sides; the guest installs what it reads (src/guest/ca.c). */
#ifndef SBX_PROTO_CA_H
#define SBX_PROTO_CA_H

/*
 * CA_PORT: guest -> host vsock port (hybrid vsock: sbxd listens on "<vm>.vsock_1030").
 *   The host writes the CA certificate as PEM text ("-----BEGIN CERTIFICATE-----" first,
 *   at most CA_PEM_MAX bytes) and closes; the guest sends nothing. A host with no CA
 *   closes at once (zero bytes: the guest installs nothing).
 */
#define CA_PORT	   1030u
#define CA_PEM_MAX (16u << 10)

/* Where the guest keeps the CA and the bundle it is added to (Debian's layout). */
#define CA_GUEST_CERT	"/usr/local/share/ca-certificates/sbx-proxy-ca.crt"
#define CA_GUEST_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

#endif
