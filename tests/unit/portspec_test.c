/* Unit tests of the published-port spec parser and formatter (src/common/portspec.c), the
 * ports wire protocol's header and framing (src/proto/ports.c), and the API body parser and
 * matching rule (src/daemon/api_ports.c, publish.c). */
#include "common/portspec.h"
#include "daemon/api_ports.h"
#include "daemon/publish.h"
#include "proto/ports.h"
#include "t.h"

#include <sys/socket.h>

static char err[256];

/* Parse @s and format it back. */
static const char *fmt(const char *s)
{
	static char out[PORTSPEC_TEXT_MAX];
	struct port_spec p;

	if (portspec_parse(s, &p, err, sizeof(err)) < 0)
		return "error";
	return portspec_format(&p, out, sizeof(out));
}

TEST(spec_forms)
{
	struct port_spec p;

	CHECK_STR(fmt("3000"), "127.0.0.1:0->3000/tcp");
	CHECK_STR(fmt("8080:3000"), "127.0.0.1:8080->3000/tcp");
	CHECK_STR(fmt("0.0.0.0:8080:3000"), "0.0.0.0:8080->3000/tcp");
	CHECK_STR(fmt("127.0.0.2::3000/udp"), "127.0.0.2:0->3000/udp");
	CHECK_STR(fmt("[::1]:8080:3000/tcp"), "[::1]:8080->3000/tcp");
	CHECK_STR(fmt("[0:0::1]::53/udp"), "[::1]:0->53/udp");
	CHECK_STR(fmt("65535:1"), "127.0.0.1:65535->1/tcp");
	CHECK_STR(fmt("::1:80:3000"), "[::1]:80->3000/tcp"); /* the last two colons split */
	CHECK_EQ(portspec_parse("9000/udp", &p, err, sizeof(err)), 0);
	CHECK_EQ(p.proto, PORTS_PROTO_UDP);
	CHECK(!p.ip_given && !p.host_port_given);
	CHECK_EQ(portspec_parse("10.0.0.1:80:8080", &p, err, sizeof(err)), 0);
	CHECK(p.ip_given && p.host_port_given && p.family == AF_INET);
	CHECK(!portspec_is_loopback(&p));
	CHECK_EQ(portspec_parse("[::1]:80:8080", &p, err, sizeof(err)), 0);
	CHECK(p.family == AF_INET6 && portspec_is_loopback(&p));
}

TEST(spec_errors)
{
	static const struct {
		const char *in, *want;
	} bad[] = {
	    {"", "sandbox port \"\""},
	    {"0", "sandbox port \"0\""},
	    {"65536", "sandbox port \"65536\""},
	    {"3000/sctp", "protocol \"sctp\""},
	    {"abc:3000", "host port \"abc\""},
	    {"127.0.0.1:3000", "host port \"127.0.0.1\""},
	    {"1.2.3.4.5:80:3000", "host address \"1.2.3.4.5\""},
	    {"[::1:80:3000", "[ADDR]"},
	    {"+80:3000", "host port \"+80\""},
	    {"80:-3000", "sandbox port \"-3000\""},
	};
	struct port_spec p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(portspec_parse(bad[i].in, &p, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "for \"%s\": %s\n", bad[i].in, err);
		CHECK(strstr(err, bad[i].want) != NULL);
	}
}

TEST(wire_header)
{
	uint8_t h[PORTS_HDR_LEN], proto = 0;
	uint16_t port = 0;

	ports_hdr_put(h, PORTS_PROTO_UDP, 5353);
	CHECK_EQ(ports_hdr_parse(h, 7, &proto, &port), 0);
	CHECK_EQ(ports_hdr_parse(h, 8, &proto, &port), 1);
	CHECK_EQ(proto, PORTS_PROTO_UDP);
	CHECK_EQ(port, 5353);
	h[5] = 1;
	CHECK_EQ(ports_hdr_parse(h, 8, &proto, &port), -1);
	ports_hdr_put(h, 1, 80);
	CHECK_EQ(ports_hdr_parse(h, 8, &proto, &port), -1);
	ports_hdr_put(h, PORTS_PROTO_TCP, 0);
	CHECK_EQ(ports_hdr_parse(h, 8, &proto, &port), -1);
}

TEST(wire_frames)
{
	uint8_t b[8] = {0, 3, 'a', 'b', 'c', 0, 0, 0xff};

	CHECK_EQ(ports_dgram_frame(b, 1), 0);
	CHECK_EQ(ports_dgram_frame(b, 4), 0);
	CHECK_EQ(ports_dgram_frame(b, 5), 5);
	CHECK_EQ(ports_dgram_frame(b + 5, 2), 2); /* an empty datagram */
	ports_dgram_put_len(b, 65508);
	CHECK_EQ(ports_dgram_frame(b, 8), -1);
	ports_dgram_put_len(b, 258);
	CHECK_EQ(b[0], 1);
	CHECK_EQ(b[1], 2);
}

#define BODY(s) s, sizeof(s) - 1

TEST(api_body)
{
	struct port_spec p;

	CHECK_EQ(api_ports_parse(BODY("{\"sandbox_port\":3000}"), &p, err, sizeof(err)), 0);
	CHECK_STR(p.host_ip, "127.0.0.1");
	CHECK(p.proto == PORTS_PROTO_TCP && p.host_port == 0 && !p.ip_given && !p.host_port_given);
	CHECK_EQ(api_ports_parse(BODY("{\"sandbox_port\":53,\"protocol\":\"udp\",\"host_ip\":"
				      "\"::1\",\"host_port\":5353}"),
				 &p, err, sizeof(err)),
		 0);
	CHECK(p.proto == PORTS_PROTO_UDP && p.family == AF_INET6 && p.host_port == 5353);
	CHECK(p.ip_given && p.host_port_given);
	CHECK_EQ(api_ports_parse(BODY("{\"sandbox_port\":0}"), &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "sandbox_port") != NULL);
	CHECK_EQ(
	    api_ports_parse(BODY("{\"sandbox_port\":1,\"host_port\":70000}"), &p, err, sizeof(err)),
	    -1);
	CHECK_EQ(api_ports_parse(BODY("{\"sandbox_port\":1,\"protocol\":\"icmp\"}"), &p, err,
				 sizeof(err)),
		 -1);
	CHECK_EQ(api_ports_parse(BODY("{\"sandbox_port\":1,\"host_ip\":\"localhost\"}"), &p, err,
				 sizeof(err)),
		 -1);
	CHECK_EQ(api_ports_parse(BODY("[1]"), &p, err, sizeof(err)), -1);
	CHECK_EQ(api_ports_parse(NULL, 0, &p, err, sizeof(err)), -1);
}

TEST(unpublish_matching)
{
	struct store_port row = {.id = 1, .ephemeral = true};
	struct port_spec m;

	portspec_parse("127.0.0.1:49152:3000", &row.spec, err, sizeof(err));
	portspec_parse("3000", &m, err, sizeof(err));
	CHECK(publish_matches(&row, &m));
	portspec_parse("49152:3000", &m, err, sizeof(err));
	CHECK(publish_matches(&row, &m));
	portspec_parse("49153:3000", &m, err, sizeof(err));
	CHECK(!publish_matches(&row, &m));
	portspec_parse("0.0.0.0::3000", &m, err, sizeof(err));
	CHECK(!publish_matches(&row, &m));
	portspec_parse("3000/udp", &m, err, sizeof(err));
	CHECK(!publish_matches(&row, &m));
	portspec_parse("3001", &m, err, sizeof(err));
	CHECK(!publish_matches(&row, &m));
}

int main(void)
{
	RUN(spec_forms);
	RUN(spec_errors);
	RUN(wire_header);
	RUN(wire_frames);
	RUN(api_body);
	RUN(unpublish_matching);
	T_EXIT();
}
