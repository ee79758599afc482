/* X.509 building blocks shared by ca.c and leaf.c (see cert.h). Owns certificate
 * skeletons (serial, names, validity) and extension plumbing; never signs and never does I/O. */
#include "daemon/tls/cert.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <string.h>

/* Set a random positive 128-bit serial on @x. */
static int set_random_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	do {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return -1;
		BN_free(bn);
		bn = BN_bin2bn(raw, sizeof(raw), NULL);
		if (!bn)
			return -1;
	} while (BN_is_zero(bn));
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

X509 *tls_cert_new(const char *cn, EVP_PKEY *pub, long from_secs, long to_secs)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x)
		return NULL;
	if (X509_set_version(x, 2) != 1 || set_random_serial(x) != 0)
		goto fail;
	name = X509_get_subject_name(x);
	if (cn && X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					     (const unsigned char *)cn, -1, -1, 0) != 1)
		goto fail;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), from_secs) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), to_secs))
		goto fail;
	if (X509_set_pubkey(x, pub) != 1)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

int tls_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

EVP_PKEY *tls_ec_key_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

const char *tls_ssl_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (len == 0)
		return buf;
	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}
