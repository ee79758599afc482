/* Unit tests of the guest's proxy-CA trust (src/guest/ca.c): which bytes from the host pass
 * as a PEM certificate, the bundle's sbx block replaced (never duplicated) across boots with
 * everything else kept, and the trust variables in every exec's environment. */
#include "guest/gi.h"
#include "proto/ca.h"
#include "t.h"

static const char pem_a[] = "-----BEGIN CERTIFICATE-----\n"
			    "MIIBfzCCASWgAwIBAgIQAAAA\n"
			    "-----END CERTIFICATE-----\n";
static const char pem_b[] = "-----BEGIN CERTIFICATE-----\r\n"
			    "MIIBBBBBBBBBBBBBBBBBBBBB\r\n"
			    "-----END CERTIFICATE-----"; /* no final newline */
static const char sys[] = "-----BEGIN CERTIFICATE-----\nSYSTEM1\n-----END CERTIFICATE-----\n"
			  "-----BEGIN CERTIFICATE-----\nSYSTEM2\n-----END CERTIFICATE-----\n";

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(pem_check)
{
	static char big[CA_PEM_MAX + 2];
	char nul[sizeof(pem_a)];

	CHECK_EQ(gi_ca_pem_check(pem_a, strlen(pem_a)), 0);
	CHECK_EQ(gi_ca_pem_check(pem_b, strlen(pem_b)), 0);
	CHECK_EQ(gi_ca_pem_check("", 0), -1);
	CHECK_EQ(gi_ca_pem_check(pem_a, 10), -1);		  /* cut in the BEGIN line */
	CHECK_EQ(gi_ca_pem_check(pem_a, strlen(pem_a) - 10), -1); /* no END line */
	CHECK_EQ(gi_ca_pem_check(pem_a + 1, strlen(pem_a) - 1), -1);
	CHECK_EQ(gi_ca_pem_check("-----BEGIN PRIVATE KEY-----\nx\n-----END CERTIFICATE-----\n", 52),
		 -1);
	CHECK_EQ(gi_ca_pem_check("HTTP/1.1 200 OK\r\n\r\n", 19), -1);
	memcpy(nul, pem_a, sizeof(pem_a));
	nul[30] = 0;
	CHECK_EQ(gi_ca_pem_check(nul, strlen(pem_a)), -1);
	nul[30] = (char)0xc3; /* not ASCII */
	CHECK_EQ(gi_ca_pem_check(nul, strlen(pem_a)), -1);
	memset(big, 'A', sizeof(big));
	memcpy(big, pem_a, strlen(pem_a));
	memcpy(big + CA_PEM_MAX - 26, "-----END CERTIFICATE-----\n", 26);
	CHECK_EQ(gi_ca_pem_check(big, CA_PEM_MAX), 0);
	CHECK_EQ(gi_ca_pem_check(big, CA_PEM_MAX + 1), -1);
}

TEST(bundle_first_boot)
{
	static char out[4096];
	size_t n = gi_ca_bundle_merge(sys, strlen(sys), pem_a, strlen(pem_a), out, sizeof(out));

	CHECK(n > strlen(sys) + strlen(pem_a));
	out[n] = 0;
	CHECK(strncmp(out, sys, strlen(sys)) == 0); /* the system's certificates untouched */
	CHECK_EQ(count(out, "# BEGIN sbx proxy CA"), 1);
	CHECK_EQ(count(out, "# END sbx proxy CA\n"), 1);
	CHECK(strstr(out, pem_a) != NULL);
	CHECK(out[n - 1] == '\n');
	/* an empty or absent bundle gets just the block */
	n = gi_ca_bundle_merge("", 0, pem_a, strlen(pem_a), out, sizeof(out));
	out[n] = 0;
	CHECK(strncmp(out, "# BEGIN sbx proxy CA", 20) == 0);
	/* a bundle without a final newline does not glue its last line to the block */
	n = gi_ca_bundle_merge("X", 1, pem_a, strlen(pem_a), out, sizeof(out));
	out[n] = 0;
	CHECK(strncmp(out, "X\n# BEGIN sbx proxy CA", 22) == 0);
}

TEST(bundle_replaced_across_boots)
{
	static char b1[4096], b2[4096], b3[4096];
	size_t n1, n2, n3;

	n1 = gi_ca_bundle_merge(sys, strlen(sys), pem_a, strlen(pem_a), b1, sizeof(b1));
	n2 = gi_ca_bundle_merge(b1, n1, pem_a, strlen(pem_a), b2, sizeof(b2));
	CHECK_EQ(n2, n1);
	CHECK(memcmp(b1, b2, n1) == 0); /* same CA again: byte-identical, idempotent */
	n3 = gi_ca_bundle_merge(b2, n2, pem_b, strlen(pem_b), b3, sizeof(b3));
	b3[n3] = 0;
	CHECK_EQ(count(b3, "# BEGIN sbx proxy CA"), 1);
	CHECK(strstr(b3, "MIIBfzCC") == NULL); /* the old CA is gone */
	CHECK(strstr(b3, "MIIBBBBB") != NULL);
	CHECK(strncmp(b3, sys, strlen(sys)) == 0);
	CHECK(strstr(b3, "-----END CERTIFICATE-----\n# END sbx proxy CA\n") != NULL);
}

TEST(bundle_block_in_the_middle_and_unterminated)
{
	static char in[4096], out[4096];
	size_t n;

	/* update-ca-certificates later appended after our block: our block goes, theirs stays */
	snprintf(in, sizeof(in), "%s# BEGIN sbx proxy CA (old)\nOLD\n# END sbx proxy CA\nLATER\n",
		 sys);
	n = gi_ca_bundle_merge(in, strlen(in), pem_a, strlen(pem_a), out, sizeof(out));
	out[n] = 0;
	CHECK(strstr(out, "OLD") == NULL);
	CHECK(strstr(out, "LATER\n# BEGIN sbx proxy CA") != NULL);
	CHECK_EQ(count(out, "# BEGIN sbx proxy CA"), 1);
	/* a cut-off block of ours is dropped to the end */
	snprintf(in, sizeof(in), "%s# BEGIN sbx proxy CA\nOLD\n", sys);
	n = gi_ca_bundle_merge(in, strlen(in), pem_a, strlen(pem_a), out, sizeof(out));
	out[n] = 0;
	CHECK(strstr(out, "OLD") == NULL);
	CHECK_EQ(count(out, "# BEGIN sbx proxy CA"), 1);
	/* a look-alike line is not our marker */
	snprintf(in, sizeof(in), "# BEGIN sbx proxy CAX\nKEEP\n");
	n = gi_ca_bundle_merge(in, strlen(in), pem_a, strlen(pem_a), out, sizeof(out));
	out[n] = 0;
	CHECK(strstr(out, "KEEP") != NULL);
	/* too small an output buffer: 0, never a truncated bundle */
	CHECK_EQ(gi_ca_bundle_merge(sys, strlen(sys), pem_a, strlen(pem_a), out, strlen(sys) + 10),
		 0);
	CHECK_EQ(gi_ca_bundle_merge(sys, strlen(sys), pem_a, strlen(pem_a), out, 5), 0);
}

TEST(trust_env)
{
	static struct gi_env e;
	struct gi_user u = {.name = "agent", .home = "/home/agent", .shell = "/bin/bash"};
	const char *req[] = {"SSL_CERT_FILE=/mine.pem", NULL};
	int seen = 0;

	gi_ca_trusted = false;
	CHECK_EQ(gi_env_build(&e, &u, false, NULL), 0);
	for (size_t i = 0; e.v[i]; i++)
		CHECK(strncmp(e.v[i], "NODE_EXTRA_CA_CERTS=", 20) != 0);
	gi_ca_trusted = true;
	CHECK_EQ(gi_env_build(&e, &u, false, req), 0);
	for (size_t i = 0; e.v[i]; i++) {
		seen += strcmp(e.v[i], "NODE_EXTRA_CA_CERTS=" CA_GUEST_CERT) == 0;
		seen += strcmp(e.v[i], "REQUESTS_CA_BUNDLE=" CA_GUEST_BUNDLE) == 0;
		seen += strcmp(e.v[i], "CURL_CA_BUNDLE=" CA_GUEST_BUNDLE) == 0;
		seen += strcmp(e.v[i], "GIT_SSL_CAINFO=" CA_GUEST_BUNDLE) == 0;
		seen += strcmp(e.v[i], "SSL_CERT_FILE=/mine.pem") == 0; /* the request wins */
		CHECK(strcmp(e.v[i], "SSL_CERT_FILE=" CA_GUEST_BUNDLE) != 0);
		seen += strcmp(e.v[i], "HTTPS_PROXY=" GI_PROXY_URL) == 0;
	}
	CHECK_EQ(seen, 6);
	gi_ca_trusted = false;
}

int main(void)
{
	RUN(pem_check);
	RUN(bundle_first_boot);
	RUN(bundle_replaced_across_boots);
	RUN(bundle_block_in_the_middle_and_unterminated);
	RUN(trust_env);
	T_EXIT();
}
