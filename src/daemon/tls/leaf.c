/* Leaf minting and the host -> SSL_CTX cache (see leaf.h). Owns the shared leaf key and the
 * cache's lock; never touches files and never trusts a host name it has not validated. */
#include "daemon/tls/leaf.h"

#include "daemon/tls/cert.h"
#include "daemon/tls/host.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <pthread.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_VALID_SECS (30L * 24 * 3600)
#define LEAF_BACKDATE	3600L
#define CN_MAX		64 /* X.520 ub-common-name */

struct leaf_entry {
	char host[TLS_HOST_MAX + 1];
	SSL_CTX *ctx;  /* one reference owned by the cache */
	uint64_t used; /* LRU tick of the last lookup */
};

struct tls_leaf_cache {
	pthread_mutex_t lock;
	const struct tls_ca *ca;
	EVP_PKEY *key; /* shared by every leaf of this cache */
	struct leaf_entry *e;
	size_t n, max;
	uint64_t tick;
};

/* Add subjectAltName DNS:name or IP:addr for @h; critical when the subject is empty. */
static int add_san(X509 *x, const struct tls_host *h, int critical)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	int ok = 0;

	if (!gens || !gn)
		goto out;
	if (h->is_ip) {
		ASN1_OCTET_STRING *ip = ASN1_OCTET_STRING_new();
		int len = h->addr.family == AF_INET ? 4 : 16;

		if (!ip || ASN1_OCTET_STRING_set(ip, h->addr.a, len) != 1) {
			ASN1_OCTET_STRING_free(ip);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	} else {
		ASN1_IA5STRING *dns = ASN1_IA5STRING_new();

		if (!dns || ASN1_STRING_set(dns, h->name, -1) != 1) {
			ASN1_IA5STRING_free(dns);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	}
	if (sk_GENERAL_NAME_push(gens, gn) <= 0)
		goto out;
	gn = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical, X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

int tls_leaf_mint(const struct tls_ca *ca, EVP_PKEY *key, const char *host, X509 **out, char *err,
		  size_t errlen)
{
	struct tls_host h;
	X509 *cacert = tls_ca_cert(ca);
	char ebuf[160];
	int long_name;
	X509 *x;

	*out = NULL;
	if (tls_host_parse(host, &h) != 0) {
		snprintf(err, errlen, "bad host name \"%.80s\"", host ? host : "");
		return -1;
	}
	long_name = strlen(h.name) > CN_MAX;
	x = tls_cert_new(long_name ? NULL : h.name, key, -LEAF_BACKDATE, LEAF_VALID_SECS);
	if (!x || X509_set_issuer_name(x, X509_get_subject_name(cacert)) != 1 ||
	    add_san(x, &h, long_name) != 0 ||
	    tls_cert_add_ext(x, cacert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_cert_add_ext(x, cacert, NID_key_usage, "critical,digitalSignature") != 0 ||
	    tls_cert_add_ext(x, cacert, NID_ext_key_usage, "serverAuth") != 0 ||
	    tls_cert_add_ext(x, cacert, NID_subject_key_identifier, "hash") != 0 ||
	    tls_cert_add_ext(x, cacert, NID_authority_key_identifier, "keyid:always") != 0 ||
	    X509_sign(x, tls_ca_key(ca), EVP_sha256()) <= 0) {
		snprintf(err, errlen, "cannot mint a certificate for %s: %s", h.name,
			 tls_ssl_error(ebuf, sizeof(ebuf)));
		X509_free(x);
		return -1;
	}
	*out = x;
	return 0;
}

static const unsigned char alpn_h1[] = "\x08http/1.1";

/* Server side ALPN: http/1.1 if offered, else no ALPN at all (never h2). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, alpn_h1, sizeof(alpn_h1) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A server context presenting @x with @key, speaking HTTP/1.1 only (see alpn_select()). */
static SSL_CTX *server_ctx(X509 *x, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_leaf_cache *tls_leaf_cache_new(const struct tls_ca *ca, size_t max)
{
	struct tls_leaf_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ca = ca;
	c->max = max ? max : TLS_LEAF_CACHE_MAX;
	c->e = calloc(c->max, sizeof(*c->e));
	c->key = tls_ec_key_new();
	if (!c->e || !c->key || pthread_mutex_init(&c->lock, NULL) != 0) {
		EVP_PKEY_free(c->key);
		free(c->e);
		free(c);
		return NULL;
	}
	return c;
}

/* The slot for a new entry: a free one, or the least recently used (its context dropped). */
static struct leaf_entry *take_slot(struct tls_leaf_cache *c)
{
	struct leaf_entry *lru;
	size_t i;

	if (c->n < c->max)
		return &c->e[c->n++];
	lru = &c->e[0];
	for (i = 1; i < c->n; i++)
		if (c->e[i].used < lru->used)
			lru = &c->e[i];
	SSL_CTX_free(lru->ctx);
	lru->ctx = NULL;
	return lru;
}

SSL_CTX *tls_leaf_for_host(struct tls_leaf_cache *c, const char *host, char *err, size_t errlen)
{
	struct leaf_entry *slot;
	struct tls_host h;
	SSL_CTX *ctx = NULL;
	char ebuf[160];
	X509 *x;
	size_t i;

	if (tls_host_parse(host, &h) != 0) {
		snprintf(err, errlen, "bad host name \"%.80s\"", host ? host : "");
		return NULL;
	}
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].host, h.name) == 0) {
			c->e[i].used = ++c->tick;
			ctx = c->e[i].ctx;
			goto found;
		}
	}
	if (tls_leaf_mint(c->ca, c->key, h.name, &x, err, errlen) != 0)
		goto out;
	ctx = server_ctx(x, c->key);
	X509_free(x);
	if (!ctx) {
		snprintf(err, errlen, "cannot set up TLS for %s: %s", h.name,
			 tls_ssl_error(ebuf, sizeof(ebuf)));
		goto out;
	}
	slot = take_slot(c);
	memcpy(slot->host, h.name, sizeof(slot->host));
	slot->ctx = ctx;
	slot->used = ++c->tick;
found:
	SSL_CTX_up_ref(ctx);
out:
	pthread_mutex_unlock(&c->lock);
	return ctx;
}

size_t tls_leaf_cache_size(struct tls_leaf_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void tls_leaf_cache_free(struct tls_leaf_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		SSL_CTX_free(c->e[i].ctx);
	pthread_mutex_destroy(&c->lock);
	EVP_PKEY_free(c->key);
	free(c->e);
	free(c);
}
