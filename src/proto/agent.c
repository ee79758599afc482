/* Framing, encoders and the two parsers (host->guest, guest->host) of the agent protocol.
 * Every read of a received byte is checked against the frame's length; anything malformed is
 * refused with -1. Portable C + POSIX only: linked into glibc host programs and musl sbx-init. */
#include "proto/agent.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int agent_hdr_parse(const uint8_t *b, struct agent_hdr *h)
{
	h->len = get32(b);
	h->type = b[4];
	h->flags = b[5];
	if (h->len > SBX_FRAME_MAX || h->type == 0 || h->type >= AGENT_TYPE_END || get16(b + 6))
		return -1;
	return 0;
}

long agent_frame_next(const uint8_t *b, size_t n, struct agent_hdr *h)
{
	if (n < SBX_FRAME_HDR)
		return 0;
	if (agent_hdr_parse(b, h) < 0)
		return -1;
	if (n - SBX_FRAME_HDR < h->len)
		return 0;
	return (long)(SBX_FRAME_HDR + h->len);
}

/* A string value: exactly one NUL, at its end. */
static const char *cstr(const uint8_t *p, size_t n)
{
	if (n == 0 || p[n - 1] != 0 || memchr(p, 0, n - 1))
		return NULL;
	return (const char *)p;
}

static int parse_exec(const struct agent_hdr *h, const uint8_t *p, struct agent_exec_req *x)
{
	size_t off = 4;

	if (h->len < 4 || (h->flags & ~AGENT_EXEC_FLAGS))
		return -1;
	memset(x, 0, offsetof(struct agent_exec_req, argv));
	x->flags = h->flags;
	x->rows = get16(p);
	x->cols = get16(p + 2);
	while (off < h->len) {
		uint8_t tag;
		size_t len;
		const char *s;

		if (h->len - off < 3)
			return -1;
		tag = p[off];
		len = get16(p + off + 1);
		off += 3;
		if (h->len - off < len)
			return -1;
		s = cstr(p + off, len);
		off += len;
		if (!s)
			return -1;
		switch (tag) {
		case AGENT_T_USER:
			if (x->user)
				return -1;
			x->user = s;
			break;
		case AGENT_T_CWD:
			if (x->cwd)
				return -1;
			x->cwd = s;
			break;
		case AGENT_T_ARG:
			if (x->argc >= AGENT_ARGV_MAX)
				return -1;
			x->argv[x->argc++] = s;
			break;
		case AGENT_T_ENV:
			if (x->envc >= AGENT_ENV_MAX || !strchr(s, '=') || s[0] == '=')
				return -1;
			x->env[x->envc++] = s;
			break;
		default:
			return -1;
		}
	}
	if (x->argc == 0)
		return -1;
	x->argv[x->argc] = NULL;
	x->env[x->envc] = NULL;
	return 0;
}

/* Frames whose payload is fixed: the exact size each must have (-1: variable). */
static long fixed_len(uint8_t type)
{
	switch (type) {
	case AGENT_PING:
	case AGENT_PONG:
	case AGENT_SHUTDOWN:
	case AGENT_ACK:
	case AGENT_STDIN_EOF:
		return 0;
	case AGENT_RESIZE:
	case AGENT_STARTED:
	case AGENT_SIGNAL:
	case AGENT_EXIT:
		return 4;
	case AGENT_SETTIME:
		return 8;
	default:
		return -1;
	}
}

int agent_parse_h2g(const struct agent_hdr *h, const uint8_t *p, struct agent_msg *m,
		    struct agent_exec_req *x)
{
	long fl = fixed_len(h->type);

	memset(m, 0, sizeof(*m));
	m->type = h->type;
	if (fl >= 0 && (h->len != (uint32_t)fl || h->flags))
		return -1;
	switch (h->type) {
	case AGENT_PING:
	case AGENT_SHUTDOWN:
	case AGENT_STDIN_EOF:
		return 0;
	case AGENT_SETTIME:
		m->u.time_ns = get64(p);
		return 0;
	case AGENT_RESIZE:
		m->u.size.rows = get16(p);
		m->u.size.cols = get16(p + 2);
		return 0;
	case AGENT_SIGNAL:
		m->u.signo = get32(p);
		return m->u.signo >= 1 && m->u.signo <= 64 ? 0 : -1;
	case AGENT_STDIN:
		if (h->flags)
			return -1;
		m->u.data.p = p;
		m->u.data.n = h->len;
		return 0;
	case AGENT_EXEC:
		return x ? parse_exec(h, p, x) : -1;
	default:
		return -1;
	}
}

int agent_parse_g2h(const struct agent_hdr *h, const uint8_t *p, struct agent_msg *m)
{
	long fl = fixed_len(h->type);

	memset(m, 0, sizeof(*m));
	m->type = h->type;
	if (h->flags || (fl >= 0 && h->len != (uint32_t)fl))
		return -1;
	switch (h->type) {
	case AGENT_PONG:
	case AGENT_ACK:
		return 0;
	case AGENT_STARTED:
		m->u.pid = get32(p);
		return 0;
	case AGENT_EXIT:
		m->u.status = get32(p);
		return m->u.status <= 255 ? 0 : -1;
	case AGENT_STDOUT:
	case AGENT_STDERR:
		m->u.data.p = p;
		m->u.data.n = h->len;
		return 0;
	case AGENT_ERROR:
		if (h->len < 9)
			return -1;
		m->u.err.code = get32(p);
		m->u.err.kind = get32(p + 4);
		m->u.err.msg = cstr(p + 8, h->len - 8);
		if (!m->u.err.msg || m->u.err.kind == 0 || m->u.err.kind >= AGENT_ERR_KIND_END)
			return -1;
		return 0;
	default:
		return -1;
	}
}

void agent_put_hdr(uint8_t *out, uint8_t type, uint8_t flags, uint32_t len)
{
	put32(out, len);
	out[4] = type;
	out[5] = flags;
	put16(out + 6, 0);
}

size_t agent_put(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, const void *p, size_t n)
{
	if (n > SBX_FRAME_MAX || cap < SBX_FRAME_HDR || cap - SBX_FRAME_HDR < n)
		return 0;
	agent_put_hdr(out, type, flags, (uint32_t)n);
	if (n)
		memcpy(out + SBX_FRAME_HDR, p, n);
	return SBX_FRAME_HDR + n;
}

size_t agent_put_u32(uint8_t *out, size_t cap, uint8_t type, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	return agent_put(out, cap, type, 0, b, sizeof(b));
}

size_t agent_put_u64(uint8_t *out, size_t cap, uint8_t type, uint64_t v)
{
	uint8_t b[8];

	put32(b, (uint32_t)v);
	put32(b + 4, (uint32_t)(v >> 32));
	return agent_put(out, cap, type, 0, b, sizeof(b));
}

size_t agent_put_resize(uint8_t *out, size_t cap, uint16_t rows, uint16_t cols)
{
	uint8_t b[4];

	put16(b, rows);
	put16(b + 2, cols);
	return agent_put(out, cap, AGENT_RESIZE, 0, b, sizeof(b));
}

size_t agent_put_error(uint8_t *out, size_t cap, uint32_t code, uint32_t kind, const char *msg)
{
	size_t n = strlen(msg), max = 1024;

	if (n > max)
		n = max;
	if (cap < SBX_FRAME_HDR + 8 + n + 1)
		return 0;
	agent_put_hdr(out, AGENT_ERROR, 0, (uint32_t)(8 + n + 1));
	put32(out + SBX_FRAME_HDR, code);
	put32(out + SBX_FRAME_HDR + 4, kind);
	memcpy(out + SBX_FRAME_HDR + 8, msg, n);
	out[SBX_FRAME_HDR + 8 + n] = 0;
	return SBX_FRAME_HDR + 8 + n + 1;
}

/* Append one TLV at *off of a payload limited to @lim bytes. Return -1 if it does not fit. */
static int put_tlv(uint8_t *pl, size_t lim, size_t *off, uint8_t tag, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > 0xffff || lim - *off < 3 + n)
		return -1;
	pl[*off] = tag;
	put16(pl + *off + 1, (uint16_t)n);
	memcpy(pl + *off + 3, s, n);
	*off += 3 + n;
	return 0;
}

size_t agent_put_exec(uint8_t *out, size_t cap, const struct agent_exec_req *x)
{
	uint8_t *pl = out + SBX_FRAME_HDR;
	size_t off = 4, lim, i;

	if (cap < SBX_FRAME_HDR + 4 || !x->argv[0] || (x->flags & ~AGENT_EXEC_FLAGS))
		return 0;
	lim = cap - SBX_FRAME_HDR;
	if (lim > SBX_FRAME_MAX)
		lim = SBX_FRAME_MAX;
	put16(pl, x->rows);
	put16(pl + 2, x->cols);
	if (x->user && put_tlv(pl, lim, &off, AGENT_T_USER, x->user) < 0)
		return 0;
	if (x->cwd && put_tlv(pl, lim, &off, AGENT_T_CWD, x->cwd) < 0)
		return 0;
	for (i = 0; x->argv[i]; i++)
		if (i >= AGENT_ARGV_MAX || put_tlv(pl, lim, &off, AGENT_T_ARG, x->argv[i]) < 0)
			return 0;
	for (i = 0; x->env[i]; i++)
		if (i >= AGENT_ENV_MAX || put_tlv(pl, lim, &off, AGENT_T_ENV, x->env[i]) < 0)
			return 0;
	agent_put_hdr(out, AGENT_EXEC, x->flags, (uint32_t)off);
	return SBX_FRAME_HDR + off;
}

/* "<word> <decimal>\n" with the decimal 0..UINT32_MAX and nothing else. */
static long parse_line(const char *b, size_t n, const char *word)
{
	size_t w = strlen(word), i;
	unsigned long v = 0;

	if (n < w + 3 || memcmp(b, word, w) != 0 || b[w] != ' ' || b[n - 1] != '\n')
		return -1;
	if (n - w - 2 > 10)
		return -1;
	for (i = w + 1; i < n - 1; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(b[i] - '0');
	}
	return v > 0xffffffffUL ? -1 : (long)v;
}

long agent_hybrid_connect_parse(const char *b, size_t n)
{
	return parse_line(b, n, "CONNECT");
}

long agent_hybrid_ok_parse(const char *b, size_t n)
{
	return parse_line(b, n, "OK");
}

int agent_write_full(int fd, const void *b, size_t n)
{
	const uint8_t *p = b;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

const char *agent_type_name(uint8_t type)
{
	static const char *const names[AGENT_TYPE_END] = {
	    [AGENT_PING] = "PING",
	    [AGENT_PONG] = "PONG",
	    [AGENT_SETTIME] = "SETTIME",
	    [AGENT_SHUTDOWN] = "SHUTDOWN",
	    [AGENT_ACK] = "ACK",
	    [AGENT_EXEC] = "EXEC",
	    [AGENT_STARTED] = "STARTED",
	    [AGENT_STDIN] = "STDIN",
	    [AGENT_STDIN_EOF] = "STDIN_EOF",
	    [AGENT_RESIZE] = "RESIZE",
	    [AGENT_SIGNAL] = "SIGNAL",
	    [AGENT_STDOUT] = "STDOUT",
	    [AGENT_STDERR] = "STDERR",
	    [AGENT_EXIT] = "EXIT",
	    [AGENT_ERROR] = "ERROR",
	};
	return type < AGENT_TYPE_END && names[type] ? names[type] : "?";
}
