/* Unit tests of sbxd's TLS interception CA (src/daemon/tls): CA creation, file modes, reload,
 * refusal of corrupt/mismatched/partial pairs (files untouched), leaf certificates verified
 * against the CA only (purpose SSL server, host/IP check), host validation, the LRU cache, and
 * real TLS handshakes in memory over a socketpair, ALPN (HTTP/1.1 only). No network, no shell. */
#include "daemon/tls/ca.h"
#include "daemon/tls/host.h"
#include "daemon/tls/leaf.h"
#include "t.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
static char errbuf[512];

/* <root>/<name> in a static buffer (one of 4 rotating). */
static const char *path(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, name);
	return buf[i];
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (st.st_mode & 07777) : (mode_t)-1;
}

/* Whole file into a static buffer ("" if unreadable). */
static const char *slurp(const char *p, char *buf, size_t len)
{
	FILE *f = fopen(p, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void spit(const char *p, const char *data, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

static struct tls_ca *load(const char *dir)
{
	struct tls_ca *ca = NULL;

	errbuf[0] = '\0';
	if (tls_ca_load_or_create(dir, &ca, errbuf, sizeof(errbuf)) != 0)
		return NULL;
	return ca;
}

TEST(ca_create_modes_and_fields)
{
	struct tls_ca *ca = load(path("a/tls"));
	const ASN1_INTEGER *serial;
	char cn[128];
	X509 *x;

	CHECK(ca != NULL);
	if (!ca)
		return;
	CHECK(tls_ca_created(ca));
	CHECK_EQ(mode_of(path("a/tls")), 0700);
	CHECK_EQ(mode_of(path("a/tls/ca.key")), 0600);
	CHECK_EQ(mode_of(path("a/tls/ca.pem")), 0644);
	CHECK(strncmp(tls_ca_pem(ca), "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	x = tls_ca_cert(ca);
	CHECK_EQ(X509_get_version(x), 2);
	CHECK_EQ(X509_check_ca(x), 1);
	CHECK_EQ(X509_get_pathlen(x), 0);
	CHECK(X509_get_extension_flags(x) & EXFLAG_SS);
	CHECK_EQ(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	CHECK(X509_get0_subject_key_id(x) != NULL);
	CHECK_EQ(X509_get_ext_by_critical(x, 1, -1) >= 0, 1);
	CHECK_EQ(EVP_PKEY_get_base_id(tls_ca_key(ca)), EVP_PKEY_EC);
	CHECK_EQ(EVP_PKEY_get_bits(tls_ca_key(ca)), 256);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	CHECK(strncmp(cn, "sbx local CA (", 14) == 0 && cn[strlen(cn) - 1] == ')');
	CHECK(strlen(cn) <= 64);
	serial = X509_get0_serialNumber(x);
	CHECK(ASN1_STRING_length(serial) >= 14 && ASN1_STRING_length(serial) <= 17);
	/* ~10 years: notAfter more than 9 years and less than 11 years away. */
	CHECK(X509_cmp_time(X509_get0_notAfter(x), &(time_t){time(NULL) + 9L * 365 * 86400}) > 0);
	CHECK(X509_cmp_time(X509_get0_notAfter(x), &(time_t){time(NULL) + 11L * 365 * 86400}) < 0);
	CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	/* No temporary files left behind. */
	CHECK(access(path("a/tls/.ca.pem.XXXXXX"), F_OK) != 0);
	tls_ca_free(ca);
}

TEST(ca_reload_same)
{
	struct tls_ca *a = load(path("b"));
	struct tls_ca *b = load(path("b"));

	CHECK(a && b);
	if (a && b) {
		CHECK(!tls_ca_created(b));
		CHECK_EQ(X509_cmp(tls_ca_cert(a), tls_ca_cert(b)), 0);
		CHECK_EQ(EVP_PKEY_eq(tls_ca_key(a), tls_ca_key(b)), 1);
		CHECK_STR(tls_ca_pem(a), tls_ca_pem(b));
	}
	tls_ca_free(a);
	tls_ca_free(b);
}

TEST(ca_corrupt_key_refused_untouched)
{
	static char before[8192], after[8192];
	struct tls_ca *a = load(path("c"));

	tls_ca_free(a);
	spit(path("c/ca.key"), "-----BEGIN PRIVATE KEY-----\nnot base64!\n", 0600);
	slurp(path("c/ca.pem"), before, sizeof(before));
	CHECK(load(path("c")) == NULL);
	CHECK(strstr(errbuf, path("c/ca.key")) != NULL);
	CHECK(strstr(errbuf, "remove") != NULL);
	CHECK_STR(slurp(path("c/ca.key"), after, sizeof(after)),
		  "-----BEGIN PRIVATE KEY-----\nnot base64!\n");
	CHECK_STR(slurp(path("c/ca.pem"), after, sizeof(after)), before);
	CHECK_EQ(mode_of(path("c/ca.key")), 0600);
}

TEST(ca_corrupt_cert_refused)
{
	struct tls_ca *a = load(path("d"));

	tls_ca_free(a);
	spit(path("d/ca.pem"), "garbage\n", 0644);
	CHECK(load(path("d")) == NULL);
	CHECK(strstr(errbuf, path("d/ca.pem")) != NULL);
	CHECK(strstr(errbuf, "not a PEM certificate") != NULL);
	CHECK(strstr(errbuf, "remove") != NULL);
}

TEST(ca_mismatched_pair_refused)
{
	static char key[8192];
	struct tls_ca *a = load(path("e1")), *b = load(path("e2"));

	tls_ca_free(a);
	tls_ca_free(b);
	spit(path("e1/ca.key"), slurp(path("e2/ca.key"), key, sizeof(key)), 0600);
	CHECK(load(path("e1")) == NULL);
	CHECK(strstr(errbuf, "does not belong") != NULL);
}

TEST(ca_partial_states)
{
	static char key[8192], key2[8192];
	struct tls_ca *a = load(path("f")), *b;

	tls_ca_free(a);
	/* ca.pem without ca.key: refused. */
	slurp(path("f/ca.key"), key, sizeof(key));
	CHECK_EQ(unlink(path("f/ca.key")), 0);
	CHECK(load(path("f")) == NULL);
	CHECK(strstr(errbuf, "missing") != NULL);
	CHECK(access(path("f/ca.key"), F_OK) != 0);
	/* ca.key alone (creation interrupted before the commit): the key is kept. */
	CHECK_EQ(unlink(path("f/ca.pem")), 0);
	spit(path("f/ca.key"), key, 0600);
	b = load(path("f"));
	CHECK(b != NULL);
	if (b)
		CHECK(tls_ca_created(b));
	CHECK_STR(slurp(path("f/ca.key"), key2, sizeof(key2)), key);
	CHECK_EQ(mode_of(path("f/ca.pem")), 0644);
	tls_ca_free(b);
	/* A key readable by others: refused. */
	CHECK_EQ(chmod(path("f/ca.key"), 0644), 0);
	CHECK(load(path("f")) == NULL);
	CHECK(strstr(errbuf, "chmod 600") != NULL);
}

/* Verify @leaf against only @ca's certificate, purpose SSL server, with host or IP check. */
static int verify(struct tls_ca *ca, X509 *leaf, const char *host, const char *ip)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int rc = -1;

	if (!st || !ctx || X509_STORE_add_cert(st, tls_ca_cert(ca)) != 1 ||
	    X509_STORE_CTX_init(ctx, st, leaf, NULL) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	vp = X509_STORE_CTX_get0_param(ctx);
	if (host)
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
	rc = X509_verify_cert(ctx);
	if (rc != 1)
		rc = -X509_STORE_CTX_get_error(ctx);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return rc;
}

/* The subjectAltName entries of @x: count, and the first one's type. */
static int san_first(X509 *x, int *type, int *len)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n;

	if (!g)
		return 0;
	n = sk_GENERAL_NAME_num(g);
	if (n > 0) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, 0);

		*type = gn->type;
		*len = ASN1_STRING_length(gn->d.ia5);
	}
	GENERAL_NAMES_free(g);
	return n;
}

TEST(leaf_verifies_against_ca)
{
	struct tls_ca *ca = load(path("g")), *other = load(path("g2"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 0) : NULL;
	SSL_CTX *sctx;
	X509 *leaf;
	char cn[128];
	int type = -1, len = -1;

	CHECK(c != NULL);
	if (!c)
		return;
	sctx = tls_leaf_for_host(c, "API.Anthropic.com.", errbuf, sizeof(errbuf));
	CHECK(sctx != NULL);
	if (!sctx)
		goto out;
	leaf = SSL_CTX_get0_certificate(sctx);
	CHECK_EQ(verify(ca, leaf, "api.anthropic.com", NULL), 1);
	CHECK_EQ(verify(ca, leaf, "evil.example.com", NULL), -X509_V_ERR_HOSTNAME_MISMATCH);
	CHECK(verify(other, leaf, "api.anthropic.com", NULL) != 1);
	CHECK_EQ(X509_check_ca(leaf), 0);
	CHECK_EQ(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	CHECK_EQ(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	CHECK(X509_get0_authority_key_id(leaf) != NULL);
	CHECK_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
				       X509_get0_subject_key_id(tls_ca_cert(ca))),
		 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
	CHECK_STR(cn, "api.anthropic.com");
	CHECK_EQ(san_first(leaf, &type, &len), 1);
	CHECK_EQ(type, GEN_DNS);
	CHECK_EQ(len, 17);
	/* notBefore in the past (1 h), notAfter ~30 days. */
	CHECK(X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){time(NULL) - 3000}) < 0);
	CHECK(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){time(NULL) + 29L * 86400}) > 0);
	CHECK(X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){time(NULL) + 31L * 86400}) < 0);
	SSL_CTX_free(sctx);
out:
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
	tls_ca_free(other);
}

TEST(leaf_ip_literal)
{
	struct tls_ca *ca = load(path("h"));
	X509 *leaf = NULL;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	int type = -1, len = -1;

	CHECK(ca && key);
	if (!ca || !key)
		goto out;
	CHECK_EQ(tls_leaf_mint(ca, key, "10.1.2.3", &leaf, errbuf, sizeof(errbuf)), 0);
	CHECK_EQ(san_first(leaf, &type, &len), 1);
	CHECK_EQ(type, GEN_IPADD);
	CHECK_EQ(len, 4);
	CHECK_EQ(verify(ca, leaf, NULL, "10.1.2.3"), 1);
	CHECK(verify(ca, leaf, NULL, "10.1.2.4") != 1);
	X509_free(leaf);
	leaf = NULL;
	CHECK_EQ(tls_leaf_mint(ca, key, "[2001:db8::1]", &leaf, errbuf, sizeof(errbuf)), 0);
	CHECK_EQ(san_first(leaf, &type, &len), 1);
	CHECK_EQ(type, GEN_IPADD);
	CHECK_EQ(len, 16);
	CHECK_EQ(verify(ca, leaf, NULL, "2001:db8::1"), 1);
out:
	X509_free(leaf);
	EVP_PKEY_free(key);
	tls_ca_free(ca);
}

TEST(host_validation)
{
	static const char *bad[] = {"",
				    ".",
				    "a..b",
				    ".a.com",
				    "-a.com",
				    "a-.com",
				    "a_b.com",
				    "*.x.com",
				    "x.com:443",
				    "a b.com",
				    "1.2.3",
				    "1.2.3.4.5",
				    "01.2.3.4",
				    "[1.2.3.4]",
				    "::g",
				    "a.com..",
				    "ex\xc3\xa4mple.com",
				    "a/b"};
	char label64[80], long254[320], long253[300];
	struct tls_host h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tls_host_parse(bad[i], &h) == 0) {
			fprintf(stderr, "accepted bad host \"%s\"\n", bad[i]);
			t_cur_failed = 1;
		}
	}
	CHECK(tls_host_parse(NULL, &h) != 0);
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	CHECK(tls_host_parse(label64, &h) != 0);
	CHECK(tls_host_parse(label64 + 1, &h) == 0); /* a 63-character label */
	/* 253 characters: 63.63.63.61 — valid; 254 refused (a trailing dot does not count). */
	memset(long253, 'b', 253);
	long253[63] = long253[127] = long253[191] = '.';
	long253[253] = '\0';
	CHECK_EQ(tls_host_parse(long253, &h), 0);
	snprintf(long254, sizeof(long254), "%s.", long253);
	CHECK_EQ(tls_host_parse(long254, &h), 0);
	CHECK_STR(h.name, long253);
	snprintf(long254, sizeof(long254), "c%s", long253);
	CHECK(tls_host_parse(long254, &h) != 0);

	CHECK_EQ(tls_host_parse("Xn--Bcher-KVA.Example.", &h), 0);
	CHECK_STR(h.name, "xn--bcher-kva.example");
	CHECK(!h.is_ip);
	CHECK_EQ(tls_host_parse("localhost", &h), 0);
	CHECK_EQ(tls_host_parse("3com.com", &h), 0);
	CHECK_EQ(tls_host_parse("::FFFF:1.2.3.4", &h), 0);
	CHECK(h.is_ip);
	CHECK_STR(h.name, "::ffff:1.2.3.4");
}

TEST(leaf_bad_host_refused_and_long_name)
{
	struct tls_ca *ca = load(path("i"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 0) : NULL;
	char name[300];
	SSL_CTX *s;

	CHECK(c != NULL);
	if (!c)
		return;
	errbuf[0] = '\0';
	CHECK(tls_leaf_for_host(c, "evil.com\r\nx", errbuf, sizeof(errbuf)) == NULL);
	CHECK(strstr(errbuf, "bad host name") != NULL);
	CHECK(tls_leaf_for_host(c, "*.example.com", errbuf, sizeof(errbuf)) == NULL);
	CHECK_EQ(tls_leaf_cache_size(c), 0);
	/* A name longer than a commonName may be: no CN, critical SAN, still verifies. */
	memset(name, 'd', 200);
	name[60] = name[120] = name[180] = '.';
	name[200] = '\0';
	s = tls_leaf_for_host(c, name, errbuf, sizeof(errbuf));
	CHECK(s != NULL);
	if (s) {
		X509 *leaf = SSL_CTX_get0_certificate(s);

		CHECK_EQ(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
		CHECK_EQ(verify(ca, leaf, name, NULL), 1);
		SSL_CTX_free(s);
	}
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
}

TEST(cache_same_object_and_lru)
{
	struct tls_ca *ca = load(path("j"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 2) : NULL;
	SSL_CTX *a1, *a2, *b1, *b2, *c1, *a3;
	SSL *ssl;

	CHECK(c != NULL);
	if (!c)
		return;
	a1 = tls_leaf_for_host(c, "a.example", errbuf, sizeof(errbuf));
	a2 = tls_leaf_for_host(c, "A.EXAMPLE.", errbuf, sizeof(errbuf));
	CHECK(a1 != NULL && a1 == a2);
	b1 = tls_leaf_for_host(c, "b.example", errbuf, sizeof(errbuf));
	CHECK(b1 != NULL && b1 != a1);
	CHECK_EQ(tls_leaf_cache_size(c), 2);
	/* Touch a, then c evicts b (least recently used); a stays. */
	a3 = tls_leaf_for_host(c, "a.example", errbuf, sizeof(errbuf));
	CHECK(a3 == a1);
	c1 = tls_leaf_for_host(c, "c.example", errbuf, sizeof(errbuf));
	CHECK(c1 != NULL);
	CHECK_EQ(tls_leaf_cache_size(c), 2);
	b2 = tls_leaf_for_host(c, "b.example", errbuf, sizeof(errbuf));
	CHECK(b2 != NULL && b2 != b1); /* minted again */
	/* The evicted b1 is still ours to use: the caller's reference keeps it alive. */
	ssl = SSL_new(b1);
	CHECK(ssl != NULL);
	SSL_free(ssl);
	SSL_CTX_free(a1);
	SSL_CTX_free(a2);
	SSL_CTX_free(a3);
	SSL_CTX_free(b1);
	SSL_CTX_free(b2);
	SSL_CTX_free(c1);
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
}

struct race {
	struct tls_leaf_cache *c;
	SSL_CTX *got;
};

static void *race_one(void *arg)
{
	struct race *r = arg;
	char e[256];

	r->got = tls_leaf_for_host(r->c, "race.example", e, sizeof(e));
	return NULL;
}

TEST(cache_threads_mint_once)
{
	struct tls_ca *ca = load(path("k"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 0) : NULL;
	struct race r[8];
	pthread_t th[8];
	int i;

	CHECK(c != NULL);
	if (!c)
		return;
	for (i = 0; i < 8; i++) {
		r[i].c = c;
		pthread_create(&th[i], NULL, race_one, &r[i]);
	}
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 8; i++) {
		CHECK(r[i].got != NULL && r[i].got == r[0].got);
		SSL_CTX_free(r[i].got);
	}
	CHECK_EQ(tls_leaf_cache_size(c), 1);
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
}

/* Drive a client and a server SSL over a non-blocking socketpair until both finish or one
 * fails. Return: 1 if both handshakes completed and "ping" crossed, 0 otherwise. */
static int handshake(SSL *cl, SSL *sv)
{
	int cdone = 0, sdone = 0, i, rc;
	char buf[8];

	for (i = 0; i < 2000 && !(cdone && sdone); i++) {
		if (!cdone) {
			rc = SSL_connect(cl);
			if (rc == 1)
				cdone = 1;
			else if (SSL_get_error(cl, rc) != SSL_ERROR_WANT_READ)
				return 0;
		}
		if (!sdone) {
			rc = SSL_accept(sv);
			if (rc == 1)
				sdone = 1;
			else if (SSL_get_error(sv, rc) != SSL_ERROR_WANT_READ)
				return 0;
		}
		poll(NULL, 0, 0);
	}
	if (!(cdone && sdone))
		return 0;
	if (SSL_write(cl, "ping", 4) != 4)
		return 0;
	for (i = 0; i < 2000; i++) {
		rc = SSL_read(sv, buf, sizeof(buf));
		if (rc == 4)
			return memcmp(buf, "ping", 4) == 0;
		if (SSL_get_error(sv, rc) != SSL_ERROR_WANT_READ)
			return 0;
	}
	return 0;
}

/* One TLS connection: server from the cache for @serve, client trusting only the CA and
 * expecting @expect, offering ALPN list @alpn (wire format, NULL: none). Return: handshake()
 * result; *verr gets the client's verify result, @proto (16 bytes, may be NULL) the protocol
 * the server selected ("" for none). */
static int tls_pair_alpn(struct tls_ca *ca, struct tls_leaf_cache *c, const char *serve,
			 const char *expect, const char *alpn, long *verr, char *proto)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX *sctx = tls_leaf_for_host(c, serve, errbuf, sizeof(errbuf));
	SSL *cl = NULL, *sv = NULL;
	int sv_pair[2] = {-1, -1}, ok = 0;

	if (!cctx || !sctx || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv_pair) != 0)
		goto out;
	X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), tls_ca_cert(ca));
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	cl = SSL_new(cctx);
	sv = SSL_new(sctx);
	if (!cl || !sv)
		goto out;
	SSL_set_tlsext_host_name(cl, expect);
	SSL_set1_host(cl, expect);
	if (alpn && SSL_set_alpn_protos(cl, (const unsigned char *)alpn, strlen(alpn)) != 0)
		goto out;
	SSL_set_fd(cl, sv_pair[0]);
	SSL_set_fd(sv, sv_pair[1]);
	ok = handshake(cl, sv);
	*verr = SSL_get_verify_result(cl);
	if (proto) {
		const unsigned char *sel = NULL;
		unsigned sel_len = 0;

		SSL_get0_alpn_selected(cl, &sel, &sel_len);
		snprintf(proto, 16, "%.*s", sel_len < 16 ? (int)sel_len : 15,
			 sel ? (const char *)sel : "");
	}
out:
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	if (sv_pair[0] >= 0) {
		close(sv_pair[0]);
		close(sv_pair[1]);
	}
	ERR_clear_error();
	return ok;
}

static int tls_pair(struct tls_ca *ca, struct tls_leaf_cache *c, const char *serve,
		    const char *expect, long *verr)
{
	return tls_pair_alpn(ca, c, serve, expect, NULL, verr, NULL);
}

TEST(tls_handshake_in_memory)
{
	struct tls_ca *ca = load(path("l"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 0) : NULL;
	long verr = -1;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(tls_pair(ca, c, "api.anthropic.com", "api.anthropic.com", &verr), 1);
	CHECK_EQ(verr, X509_V_OK);
	CHECK_EQ(tls_pair(ca, c, "api.anthropic.com", "api.openai.com", &verr), 0);
	CHECK_EQ(verr, X509_V_ERR_HOSTNAME_MISMATCH);
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
}

/* Leaf contexts speak HTTP/1.1 only: http/1.1 is selected when offered (even after h2),
 * nothing when only h2 is offered, and a client offering no ALPN still connects. */
TEST(leaf_alpn_http1_only)
{
	struct tls_ca *ca = load(path("l"));
	struct tls_leaf_cache *c = ca ? tls_leaf_cache_new(ca, 0) : NULL;
	char proto[16] = "?";
	long verr = -1;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(tls_pair_alpn(ca, c, "a.example", "a.example", "\x02h2\x08http/1.1", &verr, proto),
		 1);
	CHECK_STR(proto, "http/1.1");
	/* the same cached context again: the callback is still there */
	CHECK_EQ(tls_pair_alpn(ca, c, "a.example", "a.example", "\x08http/1.1", &verr, proto), 1);
	CHECK_STR(proto, "http/1.1");
	CHECK_EQ(tls_pair_alpn(ca, c, "a.example", "a.example", "\x02h2", &verr, proto), 1);
	CHECK_STR(proto, "");
	CHECK_EQ(tls_pair_alpn(ca, c, "a.example", "a.example", NULL, &verr, proto), 1);
	CHECK_STR(proto, "");
	CHECK_EQ(tls_leaf_cache_size(c), 1);
	tls_leaf_cache_free(c);
	tls_ca_free(ca);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/tls_ca_test.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(ca_create_modes_and_fields);
	RUN(ca_reload_same);
	RUN(ca_corrupt_key_refused_untouched);
	RUN(ca_corrupt_cert_refused);
	RUN(ca_mismatched_pair_refused);
	RUN(ca_partial_states);
	RUN(leaf_verifies_against_ca);
	RUN(leaf_ip_literal);
	RUN(host_validation);
	RUN(leaf_bad_host_refused_and_long_name);
	RUN(cache_same_object_and_lru);
	RUN(cache_threads_mint_once);
	RUN(tls_handshake_in_memory);
	RUN(leaf_alpn_http1_only);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	T_EXIT();
}
