/* One policy resource pattern: parse, canonical format, equality, match, specificity.
 * Owns the pattern grammar; every error names the bad item. Never resolves a name, never
 * allocates, and never reads past the strings it is given. */
#include "daemon/policy/pattern.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define ITEM_MAX 512 /* longest item text we look at (a name is at most 253) */

static int fail(char *err, size_t errlen, const char *item, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "\"%.80s%s\": %s", item, strlen(item) > 80 ? "..." : "", why);
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "1".."65535" only: digits, no sign, no leading zero. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (!s[0] || s[0] == '0')
		return -1;
	for (i = 0; s[i]; i++) {
		if (!is_digit(s[i]) || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static const char *char_text(char c, char buf[8])
{
	if (c > ' ' && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", (unsigned)(unsigned char)c);
	return buf;
}

/* Validate and lowercase a name into p->name; @item is the whole text for messages. */
static int parse_name(const char *s, struct pol_pattern *p, const char *item, char *err,
		      size_t errlen)
{
	size_t len = strlen(s), label = 0, last = 0;
	bool all_digits = true;
	char cb[8];

	/* Leading "*." / "**." were taken off by the caller; what is left is a plain name. */

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0)
		return fail(err, errlen, item, "empty host name");
	if (len > POL_NAME_MAX)
		return fail(err, errlen, item, "host name longer than %d characters", POL_NAME_MAX);
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (label == 0)
				return fail(err, errlen, item, "empty label in host name");
			if (s[i - 1] == '-')
				return fail(err, errlen, item, "label ends with '-'");
			last = i - label;
			label = 0;
			p->name[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '*')
			return fail(
			    err, errlen, item,
			    "'*' is allowed only as a leading \"*.\" or \"**.\", or \"**\" alone");
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_'))
			return fail(err, errlen, item, "invalid character %s in host name",
				    char_text(c, cb));
		if (c == '-' && label == 0)
			return fail(err, errlen, item, "label starts with '-'");
		if (++label > POL_LABEL_MAX)
			return fail(err, errlen, item, "label longer than %d characters",
				    POL_LABEL_MAX);
		p->name[i] = c;
	}
	p->name[len] = '\0';
	/* A last label of digits only ("1.2.3.256") is a malformed address, not a name. */
	for (size_t i = last; i < len; i++)
		all_digits = all_digits && is_digit(p->name[i]);
	if (all_digits)
		return fail(err, errlen, item, "not a valid IP address or host name");
	return 0;
}

static int parse_net(const char *s, bool bracketed, struct pol_pattern *p, const char *item,
		     char *err, size_t errlen)
{
	char buf[ITEM_MAX];
	const char *slash = strchr(s, '/');
	unsigned prefix, bits;
	struct pol_addr a;

	snprintf(buf, sizeof(buf), "%s", s);
	if (slash)
		buf[slash - s] = '\0';
	if (pol_addr_parse(buf, &a) != 0)
		return fail(err, errlen, item, "not a valid IP address");
	if (bracketed && a.family != AF_INET6)
		return fail(err, errlen, item, "brackets are only for IPv6 addresses");
	bits = pol_addr_bits(&a);
	prefix = bits;
	if (slash) {
		const char *d = slash + 1;

		if (!d[0] || strlen(d) > 3 || (d[0] == '0' && d[1]))
			return fail(err, errlen, item, "bad CIDR prefix");
		prefix = 0;
		for (; *d; d++) {
			if (!is_digit(*d))
				return fail(err, errlen, item, "bad CIDR prefix");
			prefix = prefix * 10 + (unsigned)(*d - '0');
		}
		if (prefix > bits)
			return fail(err, errlen, item, "CIDR prefix /%u is longer than %u bits",
				    prefix, bits);
	}
	/* Bits beyond the prefix must be zero: "10.1.0.0/8" is a typo, not a network. */
	for (unsigned b = prefix; b < bits; b++) {
		if (a.a[b / 8] & (0x80u >> (b % 8))) {
			struct pol_addr net = a;
			char txt[POL_ADDR_STRLEN];

			for (unsigned c = prefix; c < bits; c++)
				net.a[c / 8] &= (uint8_t) ~(0x80u >> (c % 8));
			pol_addr_format(&net, txt, sizeof(txt));
			return fail(err, errlen, item,
				    "address has bits set beyond /%u (did you mean %s/%u?)", prefix,
				    txt, prefix);
		}
	}
	/* An IPv4-mapped network is the IPv4 network it maps. */
	if (a.family == AF_INET6 && prefix >= 96) {
		struct pol_addr v4;

		pol_addr_unmap(&a, &v4);
		if (v4.family == AF_INET) {
			a = v4;
			prefix -= 96;
		}
	}
	p->kind = POL_NET;
	p->net = a;
	p->prefix = (uint8_t)prefix;
	return 0;
}

int pol_pattern_parse(const char *text, struct pol_pattern *p, char *err, size_t errlen)
{
	char item[ITEM_MAX], body[ITEM_MAX];
	const char *port_text = NULL;
	bool bracketed = false;
	size_t len;
	char *colon;

	if (!text)
		text = "";
	while (is_space(*text))
		text++;
	len = strlen(text);
	while (len && is_space(text[len - 1]))
		len--;
	if (len >= sizeof(item))
		return fail(err, errlen, text, "pattern longer than %d characters", ITEM_MAX - 1);
	memcpy(item, text, len);
	item[len] = '\0';
	memset(p, 0, sizeof(*p));
	if (len == 0)
		return fail(err, errlen, item, "empty pattern");

	memcpy(body, item, len + 1);
	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		size_t inner;

		if (!close)
			return fail(err, errlen, item, "missing ']'");
		inner = (size_t)(close - item) - 1;
		memcpy(body, item + 1, inner);
		body[inner] = '\0';
		bracketed = true;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1])
			return fail(err, errlen, item, "unexpected text after ']'");
	} else if ((colon = strchr(body, ':')) != NULL && !strchr(colon + 1, ':')) {
		/* Exactly one ':' separates a port; two or more mean a bare IPv6 address. */
		*colon = '\0';
		port_text = item + (colon - body) + 1;
	}
	if (port_text && parse_port(port_text, &p->port) != 0)
		return fail(err, errlen, item, "port must be a number 1..65535");

	if (bracketed || strchr(body, '/') || strchr(body, ':'))
		return parse_net(body, bracketed, p, item, err, errlen);
	{
		struct pol_addr a;

		if (pol_addr_parse(body, &a) == 0)
			return parse_net(body, false, p, item, err, errlen);
	}
	if (strcmp(body, "**") == 0) {
		p->kind = POL_ANY;
		return 0;
	}
	if (strncmp(body, "**.", 3) == 0) {
		p->kind = POL_SUB;
		return parse_name(body + 3, p, item, err, errlen);
	}
	if (strncmp(body, "*.", 2) == 0) {
		p->kind = POL_ONE;
		return parse_name(body + 2, p, item, err, errlen);
	}
	p->kind = POL_EXACT;
	return parse_name(body, p, item, err, errlen);
}

int pol_pattern_list_parse(const char *list, struct pol_pattern *out, size_t max, size_t *n,
			   char *err, size_t errlen)
{
	char item[ITEM_MAX], why[256];
	const char *s = list ? list : "";
	size_t idx = 0;

	*n = 0;
	while (is_space(*s))
		s++;
	if (!*s) {
		if (err && errlen)
			snprintf(err, errlen,
				 "empty list (give one or more patterns, comma separated)");
		return -1;
	}
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		idx++;
		if (idx > max) {
			if (err && errlen)
				snprintf(err, errlen, "too many items (max %zu)", max);
			return -1;
		}
		if (len >= sizeof(item)) {
			if (err && errlen)
				snprintf(err, errlen, "item %zu: longer than %d characters", idx,
					 ITEM_MAX - 1);
			return -1;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		if (pol_pattern_parse(item, &out[idx - 1], why, sizeof(why)) != 0) {
			if (err && errlen)
				snprintf(err, errlen, "item %zu %s", idx, why);
			return -1;
		}
		*n = idx;
		if (!end)
			return 0;
		s = end + 1;
	}
}

void pol_pattern_format(const struct pol_pattern *p, char *out, size_t n)
{
	char net[POL_ADDR_STRLEN + 8] = "", port[8] = "";

	if (n == 0)
		return;
	if (p->port)
		snprintf(port, sizeof(port), ":%u", (unsigned)p->port);
	switch (p->kind) {
	case POL_ANY:
		snprintf(out, n, "**%s", port);
		return;
	case POL_EXACT:
		snprintf(out, n, "%s%s", p->name, port);
		return;
	case POL_ONE:
		snprintf(out, n, "*.%s%s", p->name, port);
		return;
	case POL_SUB:
		snprintf(out, n, "**.%s%s", p->name, port);
		return;
	case POL_NET:
		pol_addr_format(&p->net, net, POL_ADDR_STRLEN);
		if (p->prefix != pol_addr_bits(&p->net))
			snprintf(net + strlen(net), 8, "/%u", (unsigned)p->prefix);
		if (p->port && p->net.family == AF_INET6)
			snprintf(out, n, "[%s]%s", net, port);
		else
			snprintf(out, n, "%s%s", net, port);
		return;
	}
	snprintf(out, n, "?");
}

bool pol_pattern_equal(const struct pol_pattern *a, const struct pol_pattern *b)
{
	if (a->kind != b->kind || a->port != b->port)
		return false;
	switch (a->kind) {
	case POL_ANY:
		return true;
	case POL_NET:
		return a->net.family == b->net.family && a->prefix == b->prefix &&
		       memcmp(a->net.a, b->net.a, sizeof(a->net.a)) == 0;
	default:
		return strcmp(a->name, b->name) == 0;
	}
}

/* Does @host (length @hlen, trailing dot already dropped) end in "." + @suffix, with a
 * non-empty prefix of exactly one label (@one) or of one or more non-empty labels? */
static bool suffix_match(const char *host, size_t hlen, const char *suffix, bool one)
{
	size_t slen = strlen(suffix), plen;

	if (hlen < slen + 2)
		return false;
	plen = hlen - slen - 1;
	if (host[plen] != '.' || strncasecmp(host + plen + 1, suffix, slen) != 0)
		return false;
	if (host[0] == '.' || host[plen - 1] == '.')
		return false;
	for (size_t i = 0; i < plen; i++) {
		if (host[i] != '.')
			continue;
		if (one || host[i + 1] == '.')
			return false;
	}
	return true;
}

bool pol_pattern_match(const struct pol_pattern *p, const char *host, const struct pol_addr *addr,
		       uint16_t port)
{
	struct pol_addr lit;
	bool host_is_ip = host && pol_addr_parse(host, &lit) == 0;
	size_t hlen;

	if (p->port && port && p->port != port)
		return false;
	switch (p->kind) {
	case POL_ANY:
		return true;
	case POL_NET:
		if (addr)
			return pol_cidr_contains(&p->net, p->prefix, addr);
		return host_is_ip && pol_cidr_contains(&p->net, p->prefix, &lit);
	case POL_EXACT:
	case POL_ONE:
	case POL_SUB:
		break;
	}
	if (!host || host_is_ip)
		return false;
	hlen = strlen(host);
	if (hlen && host[hlen - 1] == '.')
		hlen--;
	if (hlen == 0)
		return false;
	if (p->kind == POL_EXACT)
		return hlen == strlen(p->name) && strncasecmp(host, p->name, hlen) == 0;
	return suffix_match(host, hlen, p->name, p->kind == POL_ONE);
}

unsigned pol_pattern_specificity(const struct pol_pattern *p)
{
	unsigned port = p->port ? 500 : 0;

	switch (p->kind) {
	case POL_EXACT:
		return 4000 + port;
	case POL_NET:
		return 3000 + port + p->prefix + (p->net.family == AF_INET ? 96 : 0);
	case POL_ONE:
		return 2000 + port + (unsigned)strlen(p->name);
	case POL_SUB:
		return 1000 + port + (unsigned)strlen(p->name);
	case POL_ANY:
		return port;
	}
	return 0;
}
