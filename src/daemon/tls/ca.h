/* sbxd's per-install certificate authority: loads <dir>/ca.pem + <dir>/ca.key, or creates
 * them once (EC P-256, self-signed, 10 years). Never replaces an existing CA: a corrupt,
 * mismatched or expired pair is an error telling the user to remove it. */
#ifndef SBX_DAEMON_TLS_CA_H
#define SBX_DAEMON_TLS_CA_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct tls_ca;

/**
 * tls_ca_load_or_create() - the CA kept in @dir.
 * @dir:    directory holding ca.pem (certificate, 0644) and ca.key (private key, 0600);
 *          created 0700 (with parents) if missing.
 * @out:    the loaded CA on success (tls_ca_free() it).
 * @err:    on failure one line "<what failed>: <why> (<what to do>)".
 * @errlen: size of @err.
 *
 * With neither file present a new CA is made: CN "sbx local CA (<hostname> <8 hex>)",
 * basicConstraints critical CA:TRUE pathlen:0, keyUsage critical keyCertSign cRLSign,
 * subjectKeyIdentifier, valid from 1 h ago for 10 years, 128-bit random serial. Each file is
 * written to a temporary name, fsynced and renamed; the key first, so ca.pem is the commit
 * point: a ca.key alone (creation interrupted) is kept and given its certificate, never
 * replaced. A ca.pem without ca.key, an unreadable or unparsable file, a certificate that
 * is not a CA, has expired or does not belong to the key, or a key file readable by group
 * or others, is an error naming the file; nothing is modified.
 * Syscalls: mkdir, open, write, fsync, fchmod, rename, unlink, stat.
 * Return: 0, or -1 with @err set.
 */
int tls_ca_load_or_create(const char *dir, struct tls_ca **out, char *err, size_t errlen);

/**
 * tls_ca_pem() - the CA certificate as PEM text (for the guest's trust stores).
 * Return: NUL-terminated text owned by @ca.
 */
const char *tls_ca_pem(const struct tls_ca *ca);

/**
 * tls_ca_cert() - the CA certificate (borrowed; valid while @ca lives).
 */
X509 *tls_ca_cert(const struct tls_ca *ca);

/**
 * tls_ca_key() - the CA private key (borrowed; valid while @ca lives).
 */
EVP_PKEY *tls_ca_key(const struct tls_ca *ca);

/**
 * tls_ca_created() - whether tls_ca_load_or_create() made this CA's certificate just now
 * (sbxd logs it once).
 */
bool tls_ca_created(const struct tls_ca *ca);

/**
 * tls_ca_free() - release @ca (NULL is fine). Leaves minted from it hold their own
 * references and stay valid.
 */
void tls_ca_free(struct tls_ca *ca);

#endif
