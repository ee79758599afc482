/* Policy addresses: parse/format, CIDR containment, the blocked ranges and metadata names.
 * Owns the one table of ranges sbxd refuses at connect time. Never resolves a name and never
 * allocates: every function is a pure computation on its arguments. */
#include "daemon/policy/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int pol_addr_parse(const char *s, struct pol_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return -1;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		a->family = AF_INET6;
		return inet_pton(AF_INET6, buf, a->a) == 1 ? 0 : -1;
	}
	memcpy(buf, s, len + 1);
	if (strchr(buf, ':')) {
		a->family = AF_INET6;
		return inet_pton(AF_INET6, buf, a->a) == 1 ? 0 : -1;
	}
	/* glibc's inet_pton(AF_INET) takes only four decimal parts without leading zeros. */
	a->family = AF_INET;
	return inet_pton(AF_INET, buf, a->a) == 1 ? 0 : -1;
}

void pol_addr_format(const struct pol_addr *a, char *out, size_t n)
{
	char buf[POL_ADDR_STRLEN];

	if (n == 0)
		return;
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->a, buf, sizeof(buf)))
		buf[0] = '\0';
	snprintf(out, n, "%s", buf);
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void pol_addr_unmap(const struct pol_addr *in, struct pol_addr *out)
{
	struct pol_addr tmp = *in;

	if (tmp.family == AF_INET6 && memcmp(tmp.a, mapped_prefix, 12) == 0) {
		memset(out, 0, sizeof(*out));
		out->family = AF_INET;
		memcpy(out->a, tmp.a + 12, 4);
		return;
	}
	*out = tmp;
}

unsigned pol_addr_bits(const struct pol_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

bool pol_cidr_contains(const struct pol_addr *net, unsigned prefix, const struct pol_addr *a)
{
	struct pol_addr n, x;
	unsigned full, rem;

	pol_addr_unmap(net, &n);
	pol_addr_unmap(a, &x);
	if (n.family != x.family || prefix > pol_addr_bits(&n))
		return false;
	full = prefix / 8;
	rem = prefix % 8;
	if (memcmp(n.a, x.a, full) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff00u >> rem);

		if ((n.a[full] & mask) != (x.a[full] & mask))
			return false;
	}
	return true;
}

/* The blocked ranges. Sources: RFC 6890 (special-purpose registries), RFC 1918, RFC 6598
 * (100.64/10, also Alibaba Cloud's metadata 100.100.100.200), RFC 3927 (169.254/16: AWS, GCP,
 * Azure, OpenStack, DigitalOcean, Hetzner metadata 169.254.169.254), RFC 7335 (192.0.0/24:
 * Oracle Cloud's metadata 192.0.0.192), RFC 2544 (198.18/15, our synthetic pool), RFC 4193
 * (fc00::/7, AWS's IPv6 metadata fd00:ec2::254), RFC 4291, RFC 8215 (64:ff9b:1::/48). */
struct blocked_range {
	int family;
	uint8_t net[16];
	unsigned prefix;
	const char *what;
};

#define V4(a, b, c, d)                                                                             \
	AF_INET,                                                                                   \
	{                                                                                          \
		a, b, c, d                                                                         \
	}
static const struct blocked_range blocked[] = {
    {V4(0, 0, 0, 0), 8, "0.0.0.0/8 (this network)"},
    {V4(10, 0, 0, 0), 8, "10.0.0.0/8 (private)"},
    {V4(100, 64, 0, 0), 10, "100.64.0.0/10 (carrier-grade NAT)"},
    {V4(127, 0, 0, 0), 8, "127.0.0.0/8 (loopback)"},
    {V4(169, 254, 0, 0), 16, "169.254.0.0/16 (link-local, cloud metadata)"},
    {V4(172, 16, 0, 0), 12, "172.16.0.0/12 (private)"},
    {V4(192, 0, 0, 0), 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {V4(192, 168, 0, 0), 16, "192.168.0.0/16 (private)"},
    {V4(198, 18, 0, 0), 15, "198.18.0.0/15 (sbx synthetic pool)"},
    {V4(224, 0, 0, 0), 4, "224.0.0.0/4 (multicast)"},
    {V4(240, 0, 0, 0), 4, "240.0.0.0/4 (reserved, broadcast)"},
    {AF_INET6, {0}, 96, "::/96 (unspecified, loopback, IPv4-compatible)"},
    {AF_INET6, {0xfc}, 7, "fc00::/7 (unique local)"},
    {AF_INET6, {0xfe, 0x80}, 10, "fe80::/10 (link-local)"},
    {AF_INET6, {0xff}, 8, "ff00::/8 (multicast)"},
    {AF_INET6, {0, 0x64, 0xff, 0x9b, 0, 1}, 48, "64:ff9b:1::/48 (local-use NAT64)"},
};

/* The IPv4 address an IPv6 address stands for, if it is mapped, NAT64 or 6to4. */
static bool embedded_v4(const struct pol_addr *a, struct pol_addr *v4)
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	const uint8_t *src = NULL;

	if (a->family != AF_INET6)
		return false;
	if (memcmp(a->a, mapped_prefix, 12) == 0 || memcmp(a->a, nat64, 12) == 0)
		src = a->a + 12;
	else if (a->a[0] == 0x20 && a->a[1] == 0x02)
		src = a->a + 2;
	if (!src)
		return false;
	memset(v4, 0, sizeof(*v4));
	v4->family = AF_INET;
	memcpy(v4->a, src, 4);
	return true;
}

static const struct blocked_range *blocked_find(const struct pol_addr *a)
{
	struct pol_addr v4;

	if (!a || (a->family != AF_INET && a->family != AF_INET6))
		return NULL;
	if (embedded_v4(a, &v4))
		a = &v4;
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		struct pol_addr net = {.family = blocked[i].family};

		memcpy(net.a, blocked[i].net, 16);
		if (net.family == a->family && pol_cidr_contains(&net, blocked[i].prefix, a))
			return &blocked[i];
	}
	return NULL;
}

const char *pol_addr_blocked(const struct pol_addr *a)
{
	const struct blocked_range *b = blocked_find(a);

	return b ? b->what : NULL;
}

bool pol_addr_blocked_range(const struct pol_addr *a, struct pol_addr *net, unsigned *prefix)
{
	const struct blocked_range *b = blocked_find(a);

	if (!b)
		return false;
	memset(net, 0, sizeof(*net));
	net->family = b->family;
	memcpy(net->a, b->net, 16);
	*prefix = b->prefix;
	return true;
}

/* Cloud metadata names. Most providers serve metadata only at the link-local addresses above
 * (Azure IMDS, AWS, OpenStack, DigitalOcean, Hetzner: 169.254.169.254), which the ranges
 * cover; these names are blocked too, because some resolve to public addresses that answer
 * by source address (Equinix Metal), and a host's own resolver may map them specially:
 *   GCP     metadata.google.internal, metadata.goog, metadata
 *           (cloud.google.com/compute/docs/metadata/querying-metadata)
 *   AWS     instance-data, instance-data.ec2.internal (EC2 user guide, "instance metadata")
 *   Tencent metadata.tencentyun.com (cloud.tencent.com/document/product/213/4934)
 *   Equinix metadata.platformequinix.com, metadata.packet.net (public, answers by source IP)
 *   Rancher rancher-metadata (Rancher 1.x metadata service)
 * Azure documents no IMDS name (only 169.254.169.254), so none is listed for it. */
static const char *const metadata_names[] = {
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
    "metadata.packet.net",
    "rancher-metadata",
};

bool pol_host_blocked(const char *host)
{
	struct pol_addr a;
	size_t len;

	if (!host)
		return false;
	len = strlen(host);
	if (len && host[len - 1] == '.')
		len--;
	for (size_t i = 0; i < sizeof(metadata_names) / sizeof(metadata_names[0]); i++)
		if (strlen(metadata_names[i]) == len &&
		    strncasecmp(metadata_names[i], host, len) == 0)
			return true;
	return pol_addr_parse(host, &a) == 0 && pol_addr_blocked(&a) != NULL;
}
