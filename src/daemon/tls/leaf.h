/* Leaf certificates for the hosts sbxd terminates TLS for, minted by the per-install CA, and
 * a small thread-safe LRU cache of ready server SSL_CTXs (one per host) so each host is
 * minted once. Host names are guest input: validated (host.h) before anything is minted. */
#ifndef SBX_DAEMON_TLS_LEAF_H
#define SBX_DAEMON_TLS_LEAF_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "daemon/tls/ca.h"

#define TLS_LEAF_CACHE_MAX 256 /* default number of hosts kept */

struct tls_leaf_cache;

/**
 * tls_leaf_mint() - a new leaf certificate for @host signed by @ca.
 * @ca:   the CA.
 * @key:  the leaf's key (its public half goes into the certificate).
 * @host: a host name or IP literal; validated with tls_host_parse().
 * @out:  the certificate on success (X509_free() it).
 * @err:  one line on failure ("bad host name \"a..b\"").
 * @errlen: size of @err.
 *
 * The certificate: subject CN @host (canonical), subjectAltName DNS:@host or IP:@host,
 * basicConstraints critical CA:FALSE, keyUsage critical digitalSignature, extendedKeyUsage
 * serverAuth, subject and authority key identifiers, valid from 1 h ago for 30 days,
 * 128-bit random serial, ECDSA-SHA256.
 * Return: 0, or -1 with @err set.
 */
int tls_leaf_mint(const struct tls_ca *ca, EVP_PKEY *key, const char *host, X509 **out, char *err,
		  size_t errlen);

/**
 * tls_leaf_cache_new() - a cache of server contexts for leaves of @ca.
 * @ca:  the CA; must outlive the cache.
 * @max: hosts kept (least recently used dropped first); 0 means TLS_LEAF_CACHE_MAX.
 *
 * Makes the one EC P-256 key every leaf of this cache shares.
 * Return: the cache, or NULL on failure.
 */
struct tls_leaf_cache *tls_leaf_cache_new(const struct tls_ca *ca, size_t max);

/**
 * tls_leaf_for_host() - a server SSL_CTX presenting a leaf for @host.
 * @c:    the cache.
 * @host: the name (SNI or CONNECT host, any case, trailing dot allowed) or IP literal.
 * @err:  one line on failure.
 * @errlen: size of @err.
 *
 * Looks up the canonical host; mints and caches a leaf on a miss (under the cache's lock, so
 * concurrent callers for one host mint once). The context is TLS_server_method(), TLS 1.2
 * minimum, HTTP/1.1 only: ALPN selects "http/1.1" when the client offers it and otherwise
 * answers no protocol (never h2), so clients fall back to HTTP/1.1. Set once at creation.
 * Reference counting: the returned SSL_CTX carries a reference for the caller, who must
 * SSL_CTX_free() it when done (an SSL made with SSL_new() holds its own, so freeing right
 * after SSL_new() is fine). Eviction only drops the cache's reference, so a context in use
 * is never freed under its user.
 * Return: the context, or NULL with @err set (bad host name, or OpenSSL failure).
 */
SSL_CTX *tls_leaf_for_host(struct tls_leaf_cache *c, const char *host, char *err, size_t errlen);

/**
 * tls_leaf_cache_size() - number of hosts currently cached.
 */
size_t tls_leaf_cache_size(struct tls_leaf_cache *c);

/**
 * tls_leaf_cache_free() - drop the cache's references and free it (NULL is fine). Contexts
 * still held by callers stay valid until they free them.
 */
void tls_leaf_cache_free(struct tls_leaf_cache *c);

#endif
