/* The per-install CA (see ca.h): creation, atomic writing and strict loading of ca.pem and
 * ca.key. Owns the on-disk CA files; never overwrites or deletes an existing one, and never
 * mints leaves (leaf.c does). */
#include "daemon/tls/ca.h"

#include "common/paths.h"
#include "daemon/tls/cert.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_VALID_SECS (10L * 365 * 24 * 3600 + 3 * 24 * 3600) /* ~10 years, leap days */
#define CA_BACKDATE   3600L				      /* host clocks drift */

struct tls_ca {
	X509 *cert;
	EVP_PKEY *key;
	char *pem;
	bool created;
};

struct ca_paths {
	char dir[PATH_MAX];
	char pem[PATH_MAX];
	char key[PATH_MAX];
};

/* "remove both files" advice, shared by every load error. */
#define CA_FIX "remove %s and %s to make a new CA"

/* Write @len bytes of @data to <dir>/<final> atomically: temp file, fchmod @mode, fsync,
 * rename, fsync of the directory. Syscalls: open, write, fchmod, fsync, rename, unlink. */
static int write_atomic(const char *dir, const char *final, const void *data, size_t len,
			mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, dfd;

	if (sbx_path_join(tmp, "%s/.%s.XXXXXX", dir, strrchr(final, '/') + 1) != 0) {
		snprintf(err, errlen, "%s: path too long", final);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) != 0)
		goto fail;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot write %s: %s", final, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The contents of a memory BIO as a NUL-terminated malloc'd string. */
static char *bio_strdup(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

/* PEM text of @cert (malloc'd), or NULL. */
static char *cert_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_X509(b, cert) == 1)
		s = bio_strdup(b);
	BIO_free(b);
	return s;
}

/* PEM text (PKCS#8, unencrypted) of @key (malloc'd), or NULL. */
static char *key_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
		s = bio_strdup(b);
	BIO_free(b);
	return s;
}

/* The CA's commonName: "sbx local CA (<hostname> <8 hex>)", at most 64 characters. */
static int ca_common_name(char *cn, size_t len)
{
	char host[256] = "";
	unsigned char r[4];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[40] = '\0'; /* 14 + 40 + 10 = 64, the X.520 upper bound */
	snprintf(cn, len, "sbx local CA (%s %02x%02x%02x%02x)", host, r[0], r[1], r[2], r[3]);
	return 0;
}

/* A new self-signed CA certificate for @key. */
static X509 *ca_cert_make(EVP_PKEY *key)
{
	char cn[80];
	X509 *x;

	if (ca_common_name(cn, sizeof(cn)) != 0)
		return NULL;
	x = tls_cert_new(cn, key, -CA_BACKDATE, CA_VALID_SECS);
	if (!x)
		return NULL;
	if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    tls_cert_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    tls_cert_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    tls_cert_add_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Read the private key at p->key, refusing a key readable by group or others. */
static EVP_PKEY *load_key(const struct ca_paths *p, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *key;
	FILE *f = fopen(p->key, "re");

	if (!f) {
		snprintf(err, errlen, "CA key %s: %s (" CA_FIX ")", p->key, strerror(errno), p->key,
			 p->pem);
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "CA key %s: readable by others (mode %03o) (chmod 600 %s)",
			 p->key, (unsigned)(st.st_mode & 0777), p->key);
		fclose(f);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
	fclose(f);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
		snprintf(err, errlen, "CA key %s: not a PEM EC private key (" CA_FIX ")", p->key,
			 p->key, p->pem);
		EVP_PKEY_free(key);
		ERR_clear_error();
		return NULL;
	}
	return key;
}

/* Read and check the certificate at p->pem against @key. */
static X509 *load_cert(const struct ca_paths *p, EVP_PKEY *key, char *err, size_t errlen)
{
	X509 *x;
	FILE *f = fopen(p->pem, "re");
	const char *why = NULL;

	if (!f) {
		snprintf(err, errlen, "CA certificate %s: %s (" CA_FIX ")", p->pem, strerror(errno),
			 p->key, p->pem);
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		why = "not a PEM certificate";
	else if (X509_check_ca(x) < 1)
		why = "not a CA certificate";
	else if (X509_check_private_key(x, key) != 1)
		why = "does not belong to ca.key";
	else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		why = "expired";
	if (why) {
		snprintf(err, errlen, "CA certificate %s: %s (" CA_FIX ")", p->pem, why, p->key,
			 p->pem);
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	return x;
}

void tls_ca_free(struct tls_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
	free(ca);
}

/* Make a key and write it to p->key (first half of a creation). */
static EVP_PKEY *create_key(const struct ca_paths *p, char *err, size_t errlen)
{
	char ebuf[160];
	EVP_PKEY *key = tls_ec_key_new();
	char *pem = key ? key_pem(key) : NULL;
	int rc;

	if (!pem) {
		snprintf(err, errlen, "cannot make the CA key: %s",
			 tls_ssl_error(ebuf, sizeof(ebuf)));
		EVP_PKEY_free(key);
		return NULL;
	}
	rc = write_atomic(p->dir, p->key, pem, strlen(pem), 0600, err, errlen);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (rc != 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* Make the certificate for @key and write it to p->pem (the commit point). */
static X509 *create_cert(const struct ca_paths *p, EVP_PKEY *key, char *err, size_t errlen)
{
	char ebuf[160];
	X509 *x = ca_cert_make(key);
	char *pem = x ? cert_pem(x) : NULL;
	int rc;

	if (!pem) {
		snprintf(err, errlen, "cannot make the CA certificate: %s",
			 tls_ssl_error(ebuf, sizeof(ebuf)));
		X509_free(x);
		return NULL;
	}
	rc = write_atomic(p->dir, p->pem, pem, strlen(pem), 0644, err, errlen);
	free(pem);
	if (rc != 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int tls_ca_load_or_create(const char *dir, struct tls_ca **out, char *err, size_t errlen)
{
	struct ca_paths p;
	struct tls_ca *ca;
	struct stat st;
	bool have_pem, have_key;

	*out = NULL;
	if (snprintf(p.dir, sizeof(p.dir), "%s", dir) >= (int)sizeof(p.dir) ||
	    sbx_path_join(p.pem, "%s/ca.pem", dir) != 0 ||
	    sbx_path_join(p.key, "%s/ca.key", dir) != 0) {
		snprintf(err, errlen, "CA directory %s: path too long", dir);
		return -1;
	}
	if (sbx_mkdir_p(dir, 0700) != 0) {
		snprintf(err, errlen, "cannot create CA directory %s: %s", dir, strerror(errno));
		return -1;
	}
	have_pem = lstat(p.pem, &st) == 0;
	have_key = lstat(p.key, &st) == 0;
	if (have_pem && !have_key) {
		snprintf(err, errlen, "CA key %s: missing beside %s (remove %s to make a new CA)",
			 p.key, p.pem, p.pem);
		return -1;
	}
	ca = calloc(1, sizeof(*ca));
	if (!ca) {
		snprintf(err, errlen, "CA: out of memory");
		return -1;
	}
	ca->key = have_key ? load_key(&p, err, errlen) : create_key(&p, err, errlen);
	if (!ca->key)
		goto fail;
	if (have_pem) {
		ca->cert = load_cert(&p, ca->key, err, errlen);
	} else {
		ca->cert = create_cert(&p, ca->key, err, errlen);
		ca->created = true;
	}
	if (!ca->cert)
		goto fail;
	ca->pem = cert_pem(ca->cert);
	if (!ca->pem) {
		snprintf(err, errlen, "CA: out of memory");
		goto fail;
	}
	*out = ca;
	return 0;
fail:
	tls_ca_free(ca);
	return -1;
}

const char *tls_ca_pem(const struct tls_ca *ca)
{
	return ca->pem;
}

X509 *tls_ca_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

EVP_PKEY *tls_ca_key(const struct tls_ca *ca)
{
	return ca->key;
}

bool tls_ca_created(const struct tls_ca *ca)
{
	return ca->created;
}
