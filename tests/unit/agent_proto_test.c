/* Unit tests of the agent wire protocol (src/proto/agent.c) and the guest's environment
 * builder: round trips, and refusal of every malformed shape we know of. No I/O. */
#include <errno.h>
#include <stdint.h>

#include "guest/gi.h"
#include "proto/agent.h"
#include "t.h"

static uint8_t buf[SBX_FRAME_HDR + SBX_FRAME_MAX + 64];
static struct agent_exec_req req, got;

static int parse_h2g(const uint8_t *b, size_t n, struct agent_msg *m)
{
	struct agent_hdr h;
	long fl = agent_frame_next(b, n, &h);

	if (fl <= 0 || (size_t)fl != n)
		return -1;
	return agent_parse_h2g(&h, b + SBX_FRAME_HDR, m, &got);
}

static int parse_g2h(const uint8_t *b, size_t n, struct agent_msg *m)
{
	struct agent_hdr h;
	long fl = agent_frame_next(b, n, &h);

	if (fl <= 0 || (size_t)fl != n)
		return -1;
	return agent_parse_g2h(&h, b + SBX_FRAME_HDR, m);
}

TEST(exec_round_trip)
{
	struct agent_msg m;
	size_t n;

	memset(&req, 0, sizeof(req));
	req.flags = AGENT_EXEC_TTY | AGENT_EXEC_INTERACTIVE;
	req.rows = 40;
	req.cols = 132;
	req.user = "agent";
	req.cwd = "/work";
	req.argv[0] = "sh";
	req.argv[1] = "-c";
	req.argv[2] = "";
	req.env[0] = "A=1";
	req.env[1] = "B=";
	n = agent_put_exec(buf, sizeof(buf), &req);
	CHECK(n > SBX_FRAME_HDR);
	CHECK_EQ(parse_h2g(buf, n, &m), 0);
	CHECK_EQ(m.type, AGENT_EXEC);
	CHECK_EQ(got.flags, AGENT_EXEC_TTY | AGENT_EXEC_INTERACTIVE);
	CHECK_EQ(got.rows, 40);
	CHECK_EQ(got.cols, 132);
	CHECK_STR(got.user, "agent");
	CHECK_STR(got.cwd, "/work");
	CHECK_EQ(got.argc, 3);
	CHECK_STR(got.argv[2], "");
	CHECK(got.argv[3] == NULL);
	CHECK_EQ(got.envc, 2);
	CHECK_STR(got.env[1], "B=");
	CHECK(got.env[2] == NULL);
	/* every truncation of a valid frame is incomplete, never a frame */
	for (size_t i = 0; i < n; i++) {
		struct agent_hdr h;

		CHECK_EQ(agent_frame_next(buf, i, &h), 0);
	}
}

TEST(exec_refusals)
{
	struct agent_msg m;
	size_t n;

	memset(&req, 0, sizeof(req));
	CHECK_EQ(agent_put_exec(buf, sizeof(buf), &req), 0); /* no argv */
	req.argv[0] = "x";
	n = agent_put_exec(buf, sizeof(buf), &req);
	CHECK_EQ(parse_h2g(buf, n, &m), 0);
	buf[5] = 0x80; /* unknown flag */
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	buf[5] = 0;
	buf[n - 1] = 'y'; /* string without its NUL */
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	/* TLV claiming more than the payload */
	n = agent_put_exec(buf, sizeof(buf), &req);
	buf[SBX_FRAME_HDR + 5] = 9;
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	/* unknown tag, interior NUL, env without '=', two USERs */
	{
		static const uint8_t bad[][16] = {
		    {9, 0, 0, 0, 0, 0, 9, 2, 0, 'x', 0},
		    {9, 0, 0, 0, 0, 0, AGENT_T_ARG, 3, 0, 'x', 0, 0},
		    {9, 0, 0, 0, 0, 0, AGENT_T_ENV, 2, 0, 'x', 0},
		    {14, 0, 0, 0, 0, 0, AGENT_T_USER, 2, 0, 'a', 0, AGENT_T_USER, 2, 0, 'b', 0},
		};
		for (size_t i = 0; i < 4; i++) {
			uint8_t f[SBX_FRAME_HDR + 16] = {0};
			size_t len = bad[i][0];

			f[0] = (uint8_t)len;
			f[4] = AGENT_EXEC;
			memcpy(f + SBX_FRAME_HDR, bad[i] + 2, 14);
			CHECK_EQ(parse_h2g(f, SBX_FRAME_HDR + len, &m), -1);
		}
	}
	/* too much for one frame */
	{
		static char big[70000];

		memset(big, 'a', sizeof(big) - 1);
		req.argv[0] = big;
		CHECK_EQ(agent_put_exec(buf, sizeof(buf), &req), 0);
	}
}

TEST(header_checks)
{
	uint8_t h8[SBX_FRAME_HDR] = {0, 0, 1, 0, AGENT_STDOUT, 0, 0, 0}; /* 65536 ok */
	struct agent_hdr h;

	CHECK_EQ(agent_hdr_parse(h8, &h), 0);
	h8[0] = 1; /* 65537 */
	CHECK_EQ(agent_hdr_parse(h8, &h), -1);
	CHECK_EQ(agent_frame_next(h8, sizeof(h8), &h), -1);
	h8[0] = 0;
	h8[6] = 1; /* rsvd */
	CHECK_EQ(agent_hdr_parse(h8, &h), -1);
	h8[6] = 0;
	h8[4] = 0; /* type 0 */
	CHECK_EQ(agent_hdr_parse(h8, &h), -1);
	h8[4] = AGENT_TYPE_END;
	CHECK_EQ(agent_hdr_parse(h8, &h), -1);
}

TEST(small_frames)
{
	struct agent_msg m;
	size_t n;

	n = agent_put_u64(buf, sizeof(buf), AGENT_SETTIME, 1700000000123456789ull);
	CHECK_EQ(parse_h2g(buf, n, &m), 0);
	CHECK(m.u.time_ns == 1700000000123456789ull);
	n = agent_put_resize(buf, sizeof(buf), 50, 200);
	CHECK_EQ(parse_h2g(buf, n, &m), 0);
	CHECK_EQ(m.u.size.rows, 50);
	CHECK_EQ(m.u.size.cols, 200);
	n = agent_put_u32(buf, sizeof(buf), AGENT_SIGNAL, 2);
	CHECK_EQ(parse_h2g(buf, n, &m), 0);
	CHECK_EQ(m.u.signo, 2);
	n = agent_put_u32(buf, sizeof(buf), AGENT_SIGNAL, 0);
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	n = agent_put_u32(buf, sizeof(buf), AGENT_SIGNAL, 65);
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	n = agent_put_u32(buf, sizeof(buf), AGENT_EXIT, 137);
	CHECK_EQ(parse_g2h(buf, n, &m), 0);
	CHECK_EQ(m.u.status, 137);
	CHECK_EQ(parse_h2g(buf, n, &m), -1); /* wrong direction */
	n = agent_put_u32(buf, sizeof(buf), AGENT_EXIT, 256);
	CHECK_EQ(parse_g2h(buf, n, &m), -1);
	n = agent_put(buf, sizeof(buf), AGENT_PING, 0, "x", 1); /* PING with payload */
	CHECK_EQ(parse_h2g(buf, n, &m), -1);
	n = agent_put(buf, sizeof(buf), AGENT_STDOUT, 0, "hello", 5);
	CHECK_EQ(parse_g2h(buf, n, &m), 0);
	CHECK_EQ(m.u.data.n, 5);
	CHECK(memcmp(m.u.data.p, "hello", 5) == 0);
	n = agent_put_error(buf, sizeof(buf), ENOENT, AGENT_ERR_EXEC, "foo: nope");
	CHECK_EQ(parse_g2h(buf, n, &m), 0);
	CHECK_EQ(m.u.err.code, ENOENT);
	CHECK_EQ(m.u.err.kind, AGENT_ERR_EXEC);
	CHECK_STR(m.u.err.msg, "foo: nope");
	buf[SBX_FRAME_HDR + 4] = 99; /* unknown kind */
	CHECK_EQ(parse_g2h(buf, n, &m), -1);
	CHECK_EQ(agent_put(buf, 4, AGENT_PING, 0, NULL, 0), 0); /* no room */
	CHECK_STR(agent_type_name(AGENT_EXEC), "EXEC");
	CHECK_STR(agent_type_name(200), "?");
}

TEST(hybrid_lines)
{
	CHECK_EQ(agent_hybrid_connect_parse("CONNECT 1024\n", 13), 1024);
	CHECK_EQ(agent_hybrid_ok_parse("OK 1073741824\n", 14), 1073741824);
	CHECK_EQ(agent_hybrid_connect_parse("CONNECT 1024", 12), -1);
	CHECK_EQ(agent_hybrid_connect_parse("CONNECT \n", 9), -1);
	CHECK_EQ(agent_hybrid_connect_parse("CONNECT 10a4\n", 13), -1);
	CHECK_EQ(agent_hybrid_connect_parse("CONNECT 99999999999\n", 20), -1);
	CHECK_EQ(agent_hybrid_ok_parse("OK1024\n", 7), -1);
	CHECK_EQ(agent_hybrid_ok_parse("NO 1\n", 5), -1);
}

TEST(env_defaults_and_overrides)
{
	static struct gi_env e;
	struct gi_user u = {
	    .uid = 1000, .gid = 1000, .name = "agent", .home = "/home/agent", .shell = "/bin/bash"};
	const char *req_env[] = {"HOME=/x", "NEW=1", "NEW=2", NULL};
	bool path = false, home = false, term = false, newv = false;

	CHECK_EQ(gi_env_build(&e, &u, true, req_env), 0);
	for (size_t i = 0; e.v[i]; i++) {
		path |=
		    strcmp(e.v[i],
			   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") ==
		    0;
		home |= strcmp(e.v[i], "HOME=/x") == 0;
		CHECK(strcmp(e.v[i], "HOME=/home/agent") != 0);
		CHECK(strcmp(e.v[i], "NEW=1") != 0);
		newv |= strcmp(e.v[i], "NEW=2") == 0;
		term |= strcmp(e.v[i], "TERM=xterm-256color") == 0;
	}
	CHECK(path && home && term && newv);
	CHECK_EQ(gi_env_build(&e, &u, false, NULL), 0);
	for (size_t i = 0; e.v[i]; i++)
		CHECK(strncmp(e.v[i], "TERM=", 5) != 0);
}

TEST(user_resolution)
{
	struct gi_user u;
	char err[128];

	gi_switch_users = true;
	CHECK_EQ(gi_user_resolve("root", &u, err, sizeof(err)), 0);
	CHECK_EQ(u.uid, 0);
	CHECK_STR(u.name, "root");
	CHECK_EQ(gi_user_resolve("4242", &u, err, sizeof(err)), 0); /* numeric, not in passwd */
	CHECK_EQ(u.uid, 4242);
	CHECK_EQ(gi_user_resolve("no-such-user-sbx", &u, err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown user no-such-user-sbx") != NULL);
	gi_switch_users = false;
	CHECK_EQ(gi_user_resolve("no-such-user-sbx", &u, err, sizeof(err)), 0); /* ignored */
}

int main(void)
{
	RUN(exec_round_trip);
	RUN(exec_refusals);
	RUN(header_checks);
	RUN(small_frames);
	RUN(hybrid_lines);
	RUN(env_defaults_and_overrides);
	RUN(user_resolution);
	T_EXIT();
}
