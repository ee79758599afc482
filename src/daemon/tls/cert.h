/* Shared X.509 building blocks for the CA and its leaves: a fresh v3 certificate with a
 * random serial and a validity window, and adding an extension by its OpenSSL text form.
 * Never signs, never touches files. */
#ifndef SBX_DAEMON_TLS_CERT_H
#define SBX_DAEMON_TLS_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/**
 * tls_cert_new() - an unsigned X.509 v3 certificate.
 * @cn:        subject commonName (UTF-8, at most 64 characters), or NULL for an empty
 *             subject.
 * @pub:       the subject's key (its public half goes into the certificate).
 * @from_secs: notBefore, seconds relative to now (negative: in the past).
 * @to_secs:   notAfter, seconds relative to now.
 *
 * The serial is 128 random bits (RAND_bytes), never zero. The issuer name is left to the
 * caller (X509_set_issuer_name()).
 * Return: the certificate (X509_free() it), or NULL on failure.
 */
X509 *tls_cert_new(const char *cn, EVP_PKEY *pub, long from_secs, long to_secs);

/**
 * tls_cert_add_ext() - add one extension given as OpenSSL configuration text.
 * @x:      the certificate being built.
 * @issuer: the issuing certificate (for authorityKeyIdentifier); @x itself if self-signed.
 * @nid:    NID_basic_constraints, NID_key_usage, NID_subject_key_identifier, ...
 * @value:  e.g. "critical,CA:TRUE,pathlen:0" — a constant, never guest text.
 * Return: 0, or -1 on failure.
 */
int tls_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value);

/**
 * tls_ec_key_new() - a fresh EC P-256 key pair.
 * Return: the key (EVP_PKEY_free() it), or NULL on failure.
 */
EVP_PKEY *tls_ec_key_new(void);

/**
 * tls_ssl_error() - the oldest queued OpenSSL error as text, clearing the queue.
 * @buf: output; "unknown error" if the queue is empty.
 * @len: size of @buf.
 * Return: @buf.
 */
const char *tls_ssl_error(char *buf, size_t len);

#endif
