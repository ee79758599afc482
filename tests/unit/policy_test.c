/* Unit tests for the policy engine (src/daemon/policy): pattern grammar and errors, matching
 * (each form with cases that must not match), verdicts (deny wins, scope, most specific),
 * blocked ranges and names, the explicit-allow exception, presets incl. bad files.
 * Writes only temp files under /tmp; never touches the store or the network. */
#include "daemon/policy/addr.h"
#include "daemon/policy/pattern.h"
#include "daemon/policy/preset.h"
#include "daemon/policy/ruleset.h"
#include "t.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct pol_pattern P(const char *text) {
	struct pol_pattern p;
	char err[256];

	if (pol_pattern_parse(text, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "unexpected parse error: %s\n", err);
		abort();
	}
	return p;
}

static struct pol_addr
A(const char *text) {
	struct pol_addr a;

	if (pol_addr_parse(text, &a) != 0) {
		fprintf(stderr, "bad test address %s\n", text);
		abort();
	}
	return a;
}

/* Host match at a port (0 = DNS time), no address. */
static bool
mh(const char *pat, const char *host, uint16_t port)
{
	struct pol_pattern p = P(pat);

	return pol_pattern_match(&p, host, NULL, port);
}

/* Address match (no host). */
static bool ma(const char *pat, const char *addr, uint16_t port)
{
	struct pol_pattern p = P(pat);
	struct pol_addr a = A(addr);

	return pol_pattern_match(&p, NULL, &a, port);
}

static const char *fmt(const char *text)
{
	static char out[POL_PATTERN_MAX];
	struct pol_pattern p = P(text);

	pol_pattern_format(&p, out, sizeof(out));
	return out;
}

/* Parse must fail and the message must contain @needle. */
static bool bad(const char *text, const char *needle)
{
	struct pol_pattern p;
	char err[256] = "";

	if (pol_pattern_parse(text, &p, err, sizeof(err)) == 0) {
		fprintf(stderr, "  \"%s\" parsed but should not\n", text);
		return false;
	}
	if (!strstr(err, needle)) {
		fprintf(stderr, "  \"%s\": error \"%s\" lacks \"%s\"\n", text, err, needle);
		return false;
	}
	return true;
}

TEST(addr_parse_format)
{
	struct pol_addr a;
	char buf[POL_ADDR_STRLEN];

	CHECK_EQ(pol_addr_parse("1.2.3.4", &a), 0);
	CHECK_EQ(a.family, AF_INET);
	pol_addr_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "1.2.3.4");
	CHECK_EQ(pol_addr_parse("[::1]", &a), 0);
	CHECK_EQ(a.family, AF_INET6);
	pol_addr_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "::1");
	CHECK_EQ(pol_addr_parse("FD00::AB", &a), 0);
	pol_addr_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "fd00::ab");
	/* No legacy or sloppy forms: these must never be taken as addresses. */
	CHECK_EQ(pol_addr_parse("1.2.3", &a), -1);
	CHECK_EQ(pol_addr_parse("010.0.0.1", &a), -1);
	CHECK_EQ(pol_addr_parse("0x7f.0.0.1", &a), -1);
	CHECK_EQ(pol_addr_parse("2130706433", &a), -1);
	CHECK_EQ(pol_addr_parse("1.2.3.256", &a), -1);
	CHECK_EQ(pol_addr_parse(" 1.2.3.4", &a), -1);
	CHECK_EQ(pol_addr_parse("[1.2.3.4", &a), -1);
	CHECK_EQ(pol_addr_parse("fe80::1%eth0", &a), -1);
	CHECK_EQ(pol_addr_parse("", &a), -1);
	CHECK_EQ(pol_addr_parse(NULL, &a), -1);
	CHECK_EQ(pol_addr_parse("example.com", &a), -1);
	/* A tiny buffer truncates, never overflows. */
	a = A("192.168.100.200");
	pol_addr_format(&a, buf, 4);
	CHECK_STR(buf, "192");
}

TEST(addr_cidr_contains)
{
	struct pol_addr net = A("10.0.0.0"), v6 = A("fd00::");
	struct pol_addr in = A("10.255.1.2"), out = A("11.0.0.1");
	struct pol_addr mapped = A("::ffff:10.1.2.3");

	CHECK(pol_cidr_contains(&net, 8, &in));
	CHECK(!pol_cidr_contains(&net, 8, &out));
	CHECK(pol_cidr_contains(&net, 0, &out));
	CHECK(pol_cidr_contains(&net, 8, &mapped)); /* mapped judged as its IPv4 */
	CHECK(!pol_cidr_contains(&net, 33, &in));   /* impossible prefix */
	CHECK(!pol_cidr_contains(&v6, 8, &in));	    /* family mismatch */
	struct pol_addr fd = A("fdff::1"), fe = A("fe00::1");
	CHECK(pol_cidr_contains(&v6, 8, &fd));
	CHECK(!pol_cidr_contains(&v6, 8, &fe));
	/* Non-byte prefixes: 100.64/10 holds 100.127.x, not 100.128.x. */
	struct pol_addr cg = A("100.64.0.0"), y = A("100.127.255.255"), z = A("100.128.0.0");
	CHECK(pol_cidr_contains(&cg, 10, &y));
	CHECK(!pol_cidr_contains(&cg, 10, &z));
}

TEST(blocked_ranges)
{
	static const char *const blocked[] = {
	    "0.0.0.0",
	    "0.255.255.255",
	    "10.0.0.1",
	    "10.255.255.255",
	    "100.64.0.1",
	    "100.100.100.200",
	    "100.127.255.254",
	    "127.0.0.1",
	    "127.1.2.3",
	    "169.254.169.254",
	    "172.16.0.1",
	    "172.31.255.255",
	    "192.0.0.192",
	    "192.168.1.1",
	    "198.18.0.1",
	    "198.19.255.254",
	    "224.0.0.1",
	    "239.255.255.250",
	    "240.0.0.1",
	    "255.255.255.255",
	    "::",
	    "::1",
	    "::ffff:127.0.0.1",
	    "::ffff:169.254.169.254",
	    "::ffff:10.0.0.1",
	    "fc00::1",
	    "fd00:ec2::254",
	    "fe80::1",
	    "febf::1",
	    "ff02::1",
	    "64:ff9b::a00:1",
	    "2002:a00:1::1",
	    "64:ff9b:1::1",
	    "::127.0.0.1",
	};
	static const char *const open[] = {
	    "1.1.1.1",		"8.8.8.8",	   "9.255.255.255",   "11.0.0.0",
	    "100.63.255.255",	"100.128.0.0",	   "126.255.255.255", "128.0.0.0",
	    "169.253.255.255",	"169.255.0.0",	   "172.15.255.255",  "172.32.0.0",
	    "192.0.1.1",	"192.167.255.255", "192.169.0.0",     "198.17.255.255",
	    "198.20.0.0",	"223.255.255.255", "2606:4700::1111", "::ffff:8.8.8.8",
	    "64:ff9b::808:808", "2002:808:808::1", "fec0::1",	      "::2:0:0",
	};
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		struct pol_addr a = A(blocked[i]);

		if (!pol_addr_blocked(&a))
			fprintf(stderr, "  %s should be blocked\n", blocked[i]);
		CHECK(pol_addr_blocked(&a) != NULL);
	}
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		struct pol_addr a = A(open[i]);

		if (pol_addr_blocked(&a))
			fprintf(stderr, "  %s should not be blocked (%s)\n", open[i],
				pol_addr_blocked(&a));
		CHECK(pol_addr_blocked(&a) == NULL);
	}
	CHECK(pol_addr_blocked(NULL) == NULL);
	struct pol_addr m = A("::ffff:10.9.9.9"), net;
	unsigned prefix = 0;
	CHECK(pol_addr_blocked_range(&m, &net, &prefix));
	CHECK_EQ(net.family, AF_INET);
	CHECK_EQ(prefix, 8);
	CHECK(strstr(pol_addr_blocked(&m), "10.0.0.0/8") != NULL);
	struct pol_addr pool = A("198.18.3.4");
	CHECK(strstr(pol_addr_blocked(&pool), "synthetic") != NULL);
}

TEST(blocked_names)
{
	CHECK(pol_host_blocked("metadata.google.internal"));
	CHECK(pol_host_blocked("METADATA.Google.Internal."));
	CHECK(pol_host_blocked("metadata"));
	CHECK(pol_host_blocked("metadata.goog"));
	CHECK(pol_host_blocked("instance-data"));
	CHECK(pol_host_blocked("instance-data.ec2.internal"));
	CHECK(pol_host_blocked("169.254.169.254"));
	CHECK(pol_host_blocked("[::1]"));
	CHECK(!pol_host_blocked("metadata.google.internal.example.com"));
	CHECK(!pol_host_blocked("xmetadata"));
	CHECK(!pol_host_blocked("metadat"));
	CHECK(!pol_host_blocked("api.anthropic.com"));
	CHECK(!pol_host_blocked("8.8.8.8"));
	CHECK(!pol_host_blocked(""));
	CHECK(!pol_host_blocked(NULL));
}

TEST(pattern_forms_and_format)
{
	CHECK_STR(fmt("Example.COM."), "example.com");
	CHECK_STR(fmt("  api.x.com:443 "), "api.x.com:443");
	CHECK_STR(fmt("*.X.com"), "*.x.com");
	CHECK_STR(fmt("**.x.com:8080"), "**.x.com:8080");
	CHECK_STR(fmt("**"), "**");
	CHECK_STR(fmt("**:443"), "**:443");
	CHECK_STR(fmt("1.2.3.4"), "1.2.3.4");
	CHECK_STR(fmt("1.2.3.4/32"), "1.2.3.4");
	CHECK_STR(fmt("10.0.0.0/8:5432"), "10.0.0.0/8:5432");
	CHECK_STR(fmt("::1"), "::1");
	CHECK_STR(fmt("[::1]"), "::1");
	CHECK_STR(fmt("[::1]:443"), "[::1]:443");
	CHECK_STR(fmt("FD00::/8"), "fd00::/8");
	CHECK_STR(fmt("[fd00::/8]:5432"), "[fd00::/8]:5432");
	CHECK_STR(fmt("::ffff:10.0.0.0/104"), "10.0.0.0/8");
	CHECK_STR(fmt("localhost:8080"), "localhost:8080");
	CHECK_STR(fmt("_acme.x-y.com"), "_acme.x-y.com");
	CHECK_EQ(P("a.com").kind, POL_EXACT);
	CHECK_EQ(P("*.a.com").kind, POL_ONE);
	CHECK_EQ(P("**.a.com").kind, POL_SUB);
	CHECK_EQ(P("**").kind, POL_ANY);
	CHECK_EQ(P("10.0.0.0/8").kind, POL_NET);
	CHECK_EQ(P("10.0.0.0/8").prefix, 8);
	CHECK_EQ(P("a.com:65535").port, 65535);
	CHECK_EQ(P("a.com:1").port, 1);
	/* Longest name and label accepted. */
	char name[300];
	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	CHECK_STR(fmt(name), name);
	for (int i = 0; i < 4; i++)
		memset(name + i * 64, 'b', 63), name[i * 64 + 63] = '.';
	name[253] = '\0'; /* 4 labels: 63+1+63+1+63+1+61 = 253 */
	CHECK_STR(fmt(name), name);
}

TEST(pattern_errors)
{
	char name[300];

	CHECK(bad("", "empty pattern"));
	CHECK(bad("   ", "empty pattern"));
	CHECK(bad("a..b", "empty label"));
	CHECK(bad(".a.com", "empty label"));
	CHECK(bad("a b.com", "invalid character"));
	CHECK(bad("a,b", "invalid character"));
	CHECK(bad("a.*.com", "'*'"));
	CHECK(bad("a*.com", "'*'"));
	CHECK(bad("***", "'*'"));
	CHECK(bad("***.x.com", "'*'"));
	CHECK(bad("*", "'*'"));
	CHECK(bad("*.", "empty host name"));
	CHECK(bad("**.", "empty host name"));
	CHECK(bad("*.*.x.com", "'*'"));
	CHECK(bad("a.com:0", "port"));
	CHECK(bad("a.com:65536", "port"));
	CHECK(bad("a.com:", "port"));
	CHECK(bad("a.com:08", "port"));
	CHECK(bad("a.com:+1", "port"));
	CHECK(bad("a.com:443x", "port"));
	CHECK(bad("[::1]:0", "port"));
	CHECK(bad("10.0.0.0/33", "longer than 32"));
	CHECK(bad("fd00::/129", "longer than 128"));
	CHECK(bad("10.0.0.0/", "bad CIDR prefix"));
	CHECK(bad("10.0.0.0/-1", "bad CIDR prefix"));
	CHECK(bad("10.0.0.0/08", "bad CIDR prefix"));
	CHECK(bad("10.1.0.0/8", "did you mean 10.0.0.0/8"));
	CHECK(bad("fd00::1/8", "did you mean fd00::/8"));
	CHECK(bad("1.2.3.256", "not a valid IP address"));
	CHECK(bad("1.2.3", "not a valid IP address"));
	CHECK(bad("300.1.1.1/8", "not a valid IP address"));
	CHECK(bad("[1.2.3.4]:80", "only for IPv6"));
	CHECK(bad("[::1", "missing ']'"));
	CHECK(bad("[::1]x", "after ']'"));
	CHECK(bad("-a.com", "starts with '-'"));
	CHECK(bad("a-.com", "ends with '-'"));
	CHECK(bad("a.com/8", "not a valid IP address"));
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	CHECK(bad(name, "label longer than 63"));
	for (int i = 0; i < 4; i++)
		memset(name + i * 64, 'b', 63), name[i * 64 + 63] = '.';
	strcpy(name + 253, "x"); /* 254 characters */
	CHECK(bad(name, "longer than 253"));
	/* The message names the item. */
	struct pol_pattern p;
	char err[256];
	CHECK_EQ(pol_pattern_parse("good.com:99999", &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "\"good.com:99999\"") != NULL);
	/* NULL or tiny error buffers are fine. */
	CHECK_EQ(pol_pattern_parse("a..b", &p, NULL, 0), -1);
	CHECK_EQ(pol_pattern_parse("a..b", &p, err, 1), -1);
	CHECK_STR(err, "");
}

TEST(pattern_list)
{
	struct pol_pattern v[4];
	char err[256], out[POL_PATTERN_MAX];
	size_t n = 99;

	CHECK_EQ(pol_pattern_list_parse("a, b:443 ,*.c", v, 4, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 3);
	pol_pattern_format(&v[1], out, sizeof(out));
	CHECK_STR(out, "b:443");
	pol_pattern_format(&v[2], out, sizeof(out));
	CHECK_STR(out, "*.c");
	CHECK_EQ(pol_pattern_list_parse("a.com", v, 4, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(pol_pattern_list_parse("a, b:0, c", v, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "item 2") != NULL && strstr(err, "b:0") != NULL);
	CHECK_EQ(n, 1);
	CHECK_EQ(pol_pattern_list_parse("a,,c", v, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "item 2") != NULL && strstr(err, "empty") != NULL);
	CHECK_EQ(pol_pattern_list_parse("a,", v, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "item 2") != NULL);
	CHECK_EQ(pol_pattern_list_parse("", v, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "empty list") != NULL);
	CHECK_EQ(pol_pattern_list_parse("a,b,c,d,e", v, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "too many") != NULL);
	CHECK_EQ(pol_pattern_list_parse("10.0.0.0/8:5432, [::1]:22", v, 4, &n, err, sizeof(err)),
		 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(v[1].port, 22);
}

TEST(match_exact)
{
	CHECK(mh("example.com", "example.com", 443));
	CHECK(mh("example.com", "EXAMPLE.com.", 443));
	CHECK(!mh("example.com", "api.example.com", 443)); /* never subdomains */
	CHECK(!mh("example.com", "example.co", 443));
	CHECK(!mh("example.com", "xexample.com", 443));
	CHECK(!mh("example.com", "example.com.evil", 443));
	CHECK(!mh("example.com", NULL, 443));
	CHECK(!mh("example.com", "", 443));
	CHECK(!mh("example.com", ".", 443));
}

TEST(match_wildcards)
{
	CHECK(mh("*.x.com", "a.x.com", 0));
	CHECK(mh("*.x.com", "A.X.COM.", 0));
	CHECK(!mh("*.x.com", "b.a.x.com", 0)); /* exactly one label */
	CHECK(!mh("*.x.com", "x.com", 0));
	CHECK(!mh("*.x.com", ".x.com", 0));
	CHECK(!mh("*.x.com", "ax.com", 0));
	CHECK(mh("**.x.com", "a.x.com", 0));
	CHECK(mh("**.x.com", "c.b.a.x.com", 0));
	CHECK(!mh("**.x.com", "x.com", 0)); /* not x itself */
	CHECK(!mh("**.x.com", "ax.com", 0));
	CHECK(!mh("**.x.com", "a..x.com", 0));
	CHECK(!mh("**.x.com", ".a.x.com", 0));
	CHECK(!mh("**.x.com", "x.com.evil.com", 0));
	CHECK(mh("**", "anything.at.all", 1));
	CHECK(mh("**", NULL, 1));
	CHECK(ma("**", "10.0.0.1", 22));
	/* Name patterns never match an IP-literal host or a bare address. */
	CHECK(!mh("*.3.4.com", "1.3.4.com.1", 0));
	CHECK(!mh("**.com", "1.2.3.4", 0));
	CHECK(!ma("example.com", "1.2.3.4", 0));
}

TEST(match_ports)
{
	CHECK(mh("a.com:443", "a.com", 443));
	CHECK(!mh("a.com:443", "a.com", 80));
	CHECK(mh("a.com:443", "a.com", 0)); /* DNS time: resolves; connection checked later */
	CHECK(mh("a.com", "a.com", 1));
	CHECK(mh("a.com", "a.com", 65535));
	CHECK(mh("*.a.com:8443", "b.a.com", 8443));
	CHECK(!mh("*.a.com:8443", "b.a.com", 443));
	CHECK(!mh("**:443", "b.a.com", 80));
	CHECK(ma("10.0.0.0/8:5432", "10.1.2.3", 5432));
	CHECK(!ma("10.0.0.0/8:5432", "10.1.2.3", 5433));
	CHECK(ma("[::1]:22", "::1", 22));
	CHECK(!ma("[::1]:22", "::1", 23));
}

TEST(match_addresses)
{
	struct pol_pattern p = P("10.0.0.0/8");
	struct pol_addr a = A("10.1.2.3"), b = A("8.8.8.8");

	CHECK(ma("1.2.3.4", "1.2.3.4", 80));
	CHECK(!ma("1.2.3.4", "1.2.3.5", 80));
	CHECK(ma("10.0.0.0/8", "10.200.0.1", 80));
	CHECK(!ma("10.0.0.0/8", "11.0.0.1", 80));
	CHECK(ma("10.0.0.0/8", "::ffff:10.0.0.1", 80)); /* mapped judged as IPv4 */
	CHECK(ma("::ffff:10.0.0.0/104", "10.0.0.1", 80));
	CHECK(ma("fd00::/8", "fd12::1", 80));
	CHECK(!ma("fd00::/8", "fe00::1", 80));
	CHECK(!ma("fd00::/8", "10.0.0.1", 80));
	CHECK(ma("0.0.0.0/0", "8.8.8.8", 80));
	CHECK(!ma("0.0.0.0/0", "::1", 80));
	/* An IP-literal host matches address patterns when no address is known. */
	CHECK(mh("1.2.3.4", "1.2.3.4", 80));
	CHECK(mh("::1", "[::1]", 80));
	CHECK(!mh("1.2.3.4", "1.2.3.5", 80));
	CHECK(!mh("1.2.3.4", "example.com", 80));
	CHECK(!pol_pattern_match(&p, NULL, NULL, 0));
	/* The real address decides, not a literal host naming another one. */
	CHECK(pol_pattern_match(&p, "8.8.8.8", &a, 0));
	CHECK(!pol_pattern_match(&p, "10.0.0.1", &b, 0));
}

static struct pol_rule R(enum pol_decision d, const char *pat, const char *scope) {
	struct pol_rule r;

	memset(&r, 0, sizeof(r));
	r.decision = d;
	r.pat = P(pat);
	snprintf(r.scope, sizeof(r.scope), "%s", scope);
	snprintf(r.origin, sizeof(r.origin), "user");
	return r;
}

TEST(decide_deny_wins)
{
	struct pol_rule r[] = {
	    R(POL_ALLOW, "**", ""),
	    R(POL_ALLOW, "api.x.com:443", ""),
	    R(POL_DENY, "**.x.com", ""),
	};
	struct pol_verdict v = pol_decide(r, 3, "s1", "api.x.com", NULL, 443);

	CHECK_EQ(v.decision, POL_DENY);
	CHECK_EQ(v.rule, 2);
	CHECK_STR(v.reason, "denied by rule");
	v = pol_decide(r, 3, "s1", "x.com", NULL, 443); /* deny **.x.com does not cover x.com */
	CHECK_EQ(v.decision, POL_ALLOW);
	CHECK_EQ(v.rule, 0);
	/* Deny with a port only denies that port. */
	struct pol_rule q[] = {R(POL_ALLOW, "a.com", ""), R(POL_DENY, "a.com:25", "")};
	CHECK_EQ(pol_decide(q, 2, "s", "a.com", NULL, 25).decision, POL_DENY);
	CHECK_EQ(pol_decide(q, 2, "s", "a.com", NULL, 443).decision, POL_ALLOW);
	/* At DNS time (port 0) a port-specific deny matches: the name does not resolve. */
	CHECK_EQ(pol_decide(q, 2, "s", "a.com", NULL, 0).decision, POL_DENY);
}

TEST(decide_default_and_scope)
{
	struct pol_rule r[] = {
	    R(POL_ALLOW, "a.com", "s1"),
	    R(POL_DENY, "b.com", "s1"),
	    R(POL_ALLOW, "b.com", ""),
	};
	struct pol_verdict v = pol_decide(r, 0, "s1", "a.com", NULL, 443);

	CHECK_EQ(v.decision, POL_DENY);
	CHECK_EQ(v.rule, -1);
	CHECK(strstr(v.reason, "default deny") != NULL);
	CHECK_EQ(pol_decide(r, 3, "s1", "a.com", NULL, 443).decision, POL_ALLOW);
	CHECK_EQ(pol_decide(r, 3, "s2", "a.com", NULL, 443).decision, POL_DENY);
	CHECK_EQ(pol_decide(r, 3, "s2", "a.com", NULL, 443).rule, -1);
	CHECK_EQ(pol_decide(r, 3, NULL, "a.com", NULL, 443).decision, POL_DENY);
	CHECK_EQ(pol_decide(r, 3, "s1x", "a.com", NULL, 443).decision, POL_DENY);
	/* A per-sandbox deny beats a global allow, for that sandbox only. */
	CHECK_EQ(pol_decide(r, 3, "s1", "b.com", NULL, 443).decision, POL_DENY);
	CHECK_EQ(pol_decide(r, 3, "s1", "b.com", NULL, 443).rule, 1);
	CHECK_EQ(pol_decide(r, 3, "s2", "b.com", NULL, 443).decision, POL_ALLOW);
	CHECK_EQ(pol_decide(r, 3, "s2", "b.com", NULL, 443).rule, 2);
	/* A corrupt scope with no NUL applies to nobody. */
	struct pol_rule c = R(POL_ALLOW, "c.com", "");
	memset(c.scope, 'z', sizeof(c.scope));
	CHECK_EQ(pol_decide(&c, 1, "zzzz", "c.com", NULL, 443).decision, POL_DENY);
}

TEST(decide_most_specific)
{
	struct pol_rule r[] = {
	    R(POL_ALLOW, "**", ""),
	    R(POL_ALLOW, "**.x.com", ""),
	    R(POL_ALLOW, "*.x.com", ""),
	    R(POL_ALLOW, "api.x.com", ""),
	    R(POL_ALLOW, "api.x.com:443", ""),
	    R(POL_ALLOW, "10.0.0.0/8", ""),
	    R(POL_ALLOW, "10.1.0.0/16", ""),
	};
	CHECK_EQ(pol_decide(r, 7, "s", "api.x.com", NULL, 443).rule, 4);
	CHECK_EQ(pol_decide(r, 7, "s", "api.x.com", NULL, 80).rule, 3);
	CHECK_EQ(pol_decide(r, 7, "s", "www.x.com", NULL, 80).rule, 2);
	CHECK_EQ(pol_decide(r, 7, "s", "a.b.x.com", NULL, 80).rule, 1);
	CHECK_EQ(pol_decide(r, 7, "s", "y.com", NULL, 80).rule, 0);
	struct pol_addr a = A("10.1.2.3"), b = A("10.2.0.1");
	CHECK_EQ(pol_decide(r, 7, "s", NULL, &a, 80).rule, 6);
	CHECK_EQ(pol_decide(r, 7, "s", NULL, &b, 80).rule, 5);
	/* Order does not matter: the most specific wins even when listed first or last. */
	struct pol_rule q[] = {R(POL_ALLOW, "api.x.com", ""), R(POL_ALLOW, "**", "")};
	CHECK_EQ(pol_decide(q, 2, "s", "api.x.com", NULL, 80).rule, 0);
	CHECK(pol_pattern_specificity(&r[4].pat) > pol_pattern_specificity(&r[3].pat));
	CHECK(pol_pattern_specificity(&r[3].pat) > pol_pattern_specificity(&r[2].pat));
	CHECK(pol_pattern_specificity(&r[2].pat) > pol_pattern_specificity(&r[1].pat));
	CHECK(pol_pattern_specificity(&r[1].pat) > pol_pattern_specificity(&r[0].pat));
	CHECK(pol_pattern_specificity(&r[6].pat) > pol_pattern_specificity(&r[5].pat));
}

TEST(explicit_allow)
{
	struct pol_rule r[] = {
	    R(POL_ALLOW, "**", ""),
	    R(POL_ALLOW, "localhost:8080", ""),
	    R(POL_ALLOW, "10.0.0.0/8:5432", ""),
	    R(POL_ALLOW, "*.corp.example", ""),
	    R(POL_ALLOW, "0.0.0.0/0", ""),
	    R(POL_ALLOW, "db.internal", ""),
	    R(POL_DENY, "db.internal:22", ""),
	};
	struct pol_addr lo = A("127.0.0.1"), ten = A("10.1.2.3"), md = A("169.254.169.254");

	CHECK(pol_explicitly_allowed(r, 7, "s", "localhost", &lo, 8080));
	CHECK(!pol_explicitly_allowed(r, 7, "s", "localhost", &lo, 9090)); /* port */
	CHECK(pol_explicitly_allowed(r, 7, "s", NULL, &ten, 5432));
	CHECK(pol_explicitly_allowed(r, 7, "s", "10.1.2.3", NULL, 5432)); /* literal host */
	CHECK(!pol_explicitly_allowed(r, 7, "s", NULL, &ten, 5433));
	/* Wildcards and ** never open a blocked address; nor does a catch-all CIDR. */
	CHECK(!pol_explicitly_allowed(r, 7, "s", "a.corp.example", &ten, 443));
	CHECK(!pol_explicitly_allowed(r, 7, "s", "rebind.evil", &md, 80));
	CHECK(!pol_explicitly_allowed(r, 7, "s", NULL, &md, 80));
	/* A deny match cancels it. */
	CHECK(pol_explicitly_allowed(r, 7, "s", "db.internal", &ten, 443));
	CHECK(!pol_explicitly_allowed(r, 7, "s", "db.internal", &ten, 22));
	/* Scope applies. */
	struct pol_rule s[] = {R(POL_ALLOW, "127.0.0.1", "s1")};
	CHECK(pol_explicitly_allowed(s, 1, "s1", NULL, &lo, 80));
	CHECK(!pol_explicitly_allowed(s, 1, "s2", NULL, &lo, 80));
	/* A mapped address is opened by the IPv4 rule. */
	struct pol_addr mlo = A("::ffff:127.0.0.1");
	CHECK(pol_explicitly_allowed(s, 1, "s1", NULL, &mlo, 80));
}

TEST(decide_connect_blocks_rebinding)
{
	struct pol_rule r[] = {
	    R(POL_ALLOW, "**", ""),
	    R(POL_ALLOW, "localhost:8080", ""),
	    R(POL_ALLOW, "allowed.test", ""),
	};
	struct pol_addr pub = A("93.184.216.34"), lo = A("127.0.0.1"), md = A("169.254.169.254");
	struct pol_addr ten = A("10.0.0.1"), m6 = A("::ffff:10.0.0.1"), pool = A("198.18.0.7");
	struct pol_verdict v;

	v = pol_decide_connect(r, 3, "s", "example.com", &pub, 443);
	CHECK_EQ(v.decision, POL_ALLOW);
	CHECK_EQ(v.rule, 0);
	v = pol_decide_connect(r, 3, "s", "rebind.example", &ten, 443);
	CHECK_EQ(v.decision, POL_DENY);
	CHECK_EQ(v.rule, -1);
	CHECK(strstr(v.reason, "10.0.0.0/8") != NULL);
	CHECK_EQ(pol_decide_connect(r, 3, "s", "x.example", &md, 80).decision, POL_DENY);
	CHECK_EQ(pol_decide_connect(r, 3, "s", "x.example", &m6, 80).decision, POL_DENY);
	CHECK_EQ(pol_decide_connect(r, 3, "s", "x.example", &pool, 80).decision, POL_DENY);
	CHECK_EQ(pol_decide_connect(r, 3, "s", NULL, &lo, 8080).decision, POL_DENY);
	/* allowed.test resolving to 127.0.0.1 is explicitly allowed by its exact name. */
	CHECK_EQ(pol_decide_connect(r, 3, "s", "allowed.test", &lo, 8080).decision, POL_ALLOW);
	CHECK_EQ(pol_decide_connect(r, 3, "s", "localhost", &lo, 8080).decision, POL_ALLOW);
	CHECK_EQ(pol_decide_connect(r, 3, "s", "localhost", &lo, 8081).decision, POL_DENY);
	v = pol_decide_connect(r, 3, "s", "metadata.google.internal", &pub, 80);
	CHECK_EQ(v.decision, POL_DENY);
	CHECK_STR(v.reason, "cloud metadata name");
	v = pol_decide_connect(r, 3, "s", "169.254.169.254", NULL, 80);
	CHECK_EQ(v.decision, POL_DENY);
	CHECK(strstr(v.reason, "169.254") != NULL);
	/* A policy deny keeps its own rule and reason. */
	struct pol_rule d[] = {R(POL_DENY, "**", "")};
	v = pol_decide_connect(d, 1, "s", "example.com", &ten, 443);
	CHECK_EQ(v.rule, 0);
	CHECK_STR(v.reason, "denied by rule");
}

static char tmpdir[64];

static void write_rules(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/balanced.rules", tmpdir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
}

TEST(preset_load)
{
	struct pol_pattern *v = (struct pol_pattern *)1;
	char err[512], out[POL_PATTERN_MAX];
	size_t n = 99;

	CHECK_EQ(pol_preset_load("deny-all", "/nonexistent", &v, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 0);
	CHECK(v == NULL);
	CHECK_EQ(pol_preset_load("allow-all", NULL, &v, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK(v && v[0].kind == POL_ANY && v[0].port == 0);
	free(v);
	CHECK_EQ(pol_preset_load("open", tmpdir, &v, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "allow-all") && strstr(err, "balanced") && strstr(err, "deny-all"));
	CHECK(v == NULL);
	CHECK_EQ(pol_preset_load(NULL, tmpdir, &v, &n, err, sizeof(err)), -1);

	write_rules("# comment\n\n  api.x.com  # trailing comment\r\n*.y.com:443\n\t**.z.org\n");
	CHECK_EQ(pol_preset_load("balanced", tmpdir, &v, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		pol_pattern_format(&v[0], out, sizeof(out));
		CHECK_STR(out, "api.x.com");
		pol_pattern_format(&v[1], out, sizeof(out));
		CHECK_STR(out, "*.y.com:443");
		pol_pattern_format(&v[2], out, sizeof(out));
		CHECK_STR(out, "**.z.org");
	}
	free(v);

	write_rules("a.com\n# ok\nb..com\n");
	CHECK_EQ(pol_preset_load("balanced", tmpdir, &v, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "balanced.rules:3:") != NULL && strstr(err, "b..com") != NULL);
	CHECK(v == NULL);
	write_rules("a.com, b.com\n");
	CHECK_EQ(pol_preset_load("balanced", tmpdir, &v, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, ":1:") != NULL);
	write_rules("a.com\nA.COM.\n");
	CHECK_EQ(pol_preset_load("balanced", tmpdir, &v, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, ":2:") != NULL && strstr(err, "duplicate") != NULL);
	write_rules("# only comments\n\n");
	CHECK_EQ(pol_preset_load("balanced", tmpdir, &v, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(pol_preset_load("balanced", "/nonexistent-dir", &v, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent-dir/balanced.rules") != NULL);
	/* A file without a final newline still counts its last line. */
	CHECK_EQ(pol_preset_parse("a.com\nb.com", "t", &v, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 2);
	free(v);
}

/* The shipped list must load, be all exact or *.x, and cover what the agents need. */
TEST(preset_balanced_shipped)
{
	struct pol_pattern *v = NULL;
	struct pol_rule *r;
	char err[512];
	size_t n = 0;
	static const char *const need[] = {
	    "api.anthropic.com",
	    "api.openai.com",
	    "generativelanguage.googleapis.com",
	    "api.githubcopilot.com",
	    "registry.npmjs.org",
	    "pypi.org",
	    "files.pythonhosted.org",
	    "crates.io",
	    "static.crates.io",
	    "index.crates.io",
	    "proxy.golang.org",
	    "sum.golang.org",
	    "deb.debian.org",
	    "security.debian.org",
	    "github.com",
	    "api.github.com",
	    "codeload.github.com",
	    "objects.githubusercontent.com",
	    "raw.githubusercontent.com",
	    "gitlab.com",
	    "bitbucket.org",
	    "registry-1.docker.io",
	    "auth.docker.io",
	    "production.cloudflare.docker.com",
	    "ghcr.io",
	    "quay.io",
	    "gcr.io",
	    "mcr.microsoft.com",
	    "public.ecr.aws",
	};
	static const char *const not_allowed[] = {
	    "example.com",	  "evil.github.com.evil",   "gist.github.com",
	    "x.s3.amazonaws.com", "storage.googleapis.com", "anthropic.com",
	};

	CHECK_EQ(pol_preset_load("balanced", "images/policy", &v, &n, err, sizeof(err)), 0);
	if (!v) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	r = calloc(n, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i].kind == POL_EXACT || v[i].kind == POL_ONE);
		r[i].decision = POL_ALLOW;
		r[i].pat = v[i];
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (pol_decide(r, n, "s", need[i], NULL, 443).decision != POL_ALLOW)
			fprintf(stderr, "  balanced lacks %s\n", need[i]);
		CHECK_EQ(pol_decide(r, n, "s", need[i], NULL, 443).decision, POL_ALLOW);
	}
	for (size_t i = 0; i < sizeof(not_allowed) / sizeof(not_allowed[0]); i++)
		CHECK_EQ(pol_decide(r, n, "s", not_allowed[i], NULL, 443).decision, POL_DENY);
	free(r);
	free(v);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/policy_test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(addr_parse_format);
	RUN(addr_cidr_contains);
	RUN(blocked_ranges);
	RUN(blocked_names);
	RUN(pattern_forms_and_format);
	RUN(pattern_errors);
	RUN(pattern_list);
	RUN(match_exact);
	RUN(match_wildcards);
	RUN(match_ports);
	RUN(match_addresses);
	RUN(decide_deny_wins);
	RUN(decide_default_and_scope);
	RUN(decide_most_specific);
	RUN(explicit_allow);
	RUN(decide_connect_blocks_rebinding);
	RUN(preset_load);
	RUN(preset_balanced_shipped);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/balanced.rules", tmpdir);
		unlink(path);
		rmdir(tmpdir);
	}
	T_EXIT();
}
