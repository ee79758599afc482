/* The request-stream rewriter of intercepted HTTP/1.1 connections (see req_rewrite.h): a head
 * collector, the head rewrite, and a byte-level state machine that finds the end of each body
 * (Content-Length or chunked, extensions and trailers included) so the next head is found. */
#include "daemon/proxy/req_rewrite.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "daemon/proxy/http_head.h"

enum rw_state {
	RW_HEAD,     /* collecting a request head */
	RW_EMIT,     /* writing out the rewritten head */
	RW_BODY_LEN, /* Content-Length body bytes */
	RW_CH_SIZE,  /* chunk-size hex digits */
	RW_CH_EXT,   /* after the size: BWS, extensions, up to CR */
	RW_CH_SIZE_LF,
	RW_CH_DATA,
	RW_CH_DATA_CR,
	RW_CH_DATA_LF,
	RW_TR_START, /* start of a trailer line, or the final CRLF */
	RW_TR_LINE,
	RW_TR_LINE_LF,
	RW_TR_END_LF,
	RW_ERROR,
};

struct req_rw {
	char *host, *header, *prefix, *placeholder, *value;
	size_t ph_len, value_len;
	enum rw_state st;
	char head[HTTP_HEAD_MAX];
	size_t head_len, scan; /* bytes held; where to look for CRLFCRLF next */
	char out[REQ_RW_OUT_MAX];
	size_t out_off, out_len;
	enum rw_state after_emit;
	uint64_t remain; /* body or chunk bytes still to pass */
	unsigned digits; /* chunk-size digits seen */
	size_t line, trail;
	unsigned requests;
	int status;
	const char *why;
	struct http_req req;
};

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

struct req_rw *req_rw_new(const struct req_rw_conf *conf)
{
	struct req_rw *rw;
	bool fail = false;
	size_t hl;

	if (!conf || !conf->host || !conf->value || !conf->value[0] ||
	    !conf->header == !conf->placeholder || (conf->placeholder && !conf->placeholder[0]))
		return NULL;
	rw = calloc(1, sizeof(*rw));
	if (!rw)
		return NULL;
	rw->host = dup_or_null(conf->host, &fail);
	rw->header = dup_or_null(conf->header, &fail);
	rw->prefix = dup_or_null(conf->prefix ? conf->prefix : "", &fail);
	rw->placeholder = dup_or_null(conf->placeholder, &fail);
	rw->value = dup_or_null(conf->value, &fail);
	if (fail) {
		req_rw_free(rw);
		return NULL;
	}
	for (char *p = rw->host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	hl = strlen(rw->host);
	if (hl && rw->host[hl - 1] == '.')
		rw->host[hl - 1] = 0;
	rw->ph_len = rw->placeholder ? strlen(rw->placeholder) : 0;
	rw->value_len = strlen(rw->value);
	rw->st = RW_HEAD;
	rw->why = "";
	return rw;
}

void req_rw_free(struct req_rw *rw)
{
	if (!rw)
		return;
	if (rw->value)
		OPENSSL_cleanse(rw->value, rw->value_len);
	OPENSSL_cleanse(rw->out, sizeof(rw->out));
	OPENSSL_cleanse(rw->head, sizeof(rw->head));
	free(rw->host);
	free(rw->header);
	free(rw->prefix);
	free(rw->placeholder);
	free(rw->value);
	free(rw);
}

size_t req_rw_pending(const struct req_rw *rw)
{
	return rw->out_len - rw->out_off;
}

unsigned req_rw_requests(const struct req_rw *rw)
{
	return rw->requests;
}

const char *req_rw_why(const struct req_rw *rw)
{
	return rw->why;
}

static ssize_t fail(struct req_rw *rw, int status, const char *why)
{
	rw->st = RW_ERROR;
	rw->status = status;
	rw->why = why;
	OPENSSL_cleanse(rw->out, sizeof(rw->out));
	rw->out_off = rw->out_len = 0;
	return -status;
}

/* Append @n bytes at @s to the rewritten head. Return false when it would not fit. */
static bool put(struct req_rw *rw, const char *s, size_t n)
{
	if (n > sizeof(rw->out) - rw->out_len)
		return false;
	memcpy(rw->out + rw->out_len, s, n);
	rw->out_len += n;
	return true;
}

/* A header value with every placeholder swapped for the value. */
static bool put_value(struct req_rw *rw, const char *v, size_t n)
{
	size_t i = 0, start = 0;

	if (!rw->placeholder)
		return put(rw, v, n);
	while (i + rw->ph_len <= n) {
		if (memcmp(v + i, rw->placeholder, rw->ph_len) == 0) {
			if (!put(rw, v + start, i - start) || !put(rw, rw->value, rw->value_len))
				return false;
			i += rw->ph_len;
			start = i;
		} else {
			i++;
		}
	}
	return put(rw, v + start, n - start);
}

/* The head in rw->head[0, r->head_len) is complete: check it and build its rewrite. */
static ssize_t rewrite_head(struct req_rw *rw)
{
	const struct http_req *r = &rw->req;
	const char *h = rw->head;
	const char *line = h + r->method.off;
	const char *eol = memchr(line, '\r', r->head_len - r->method.off);

	if (r->form != HTTP_FORM_ORIGIN)
		return fail(rw, 400, "not an origin-form request");
	if ((r->conn & HTTP_CONN_UPGRADE) || r->websocket)
		return fail(rw, 501, "connection upgrade refused on an intercepted host");
	if (r->host_kind != HTTP_HOST_NAME || strcmp(r->host, rw->host) != 0)
		return fail(rw, 421, "Host is not the intercepted host");
	if (!eol)
		return fail(rw, 400, "no request line");
	rw->out_off = rw->out_len = 0;
	if (!put(rw, line, (size_t)(eol - line) + 2))
		return fail(rw, 431, "request head too large");
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->field[i];

		if (rw->header && f->name.len == strlen(rw->header) &&
		    strncasecmp(h + f->name.off, rw->header, f->name.len) == 0)
			continue;
		if (!put(rw, h + f->name.off, f->name.len) || !put(rw, ": ", 2) ||
		    !put_value(rw, h + f->value.off, f->value.len) || !put(rw, "\r\n", 2))
			return fail(rw, 431, "request head too large after the rewrite");
	}
	if (rw->header && (!put(rw, rw->header, strlen(rw->header)) || !put(rw, ": ", 2) ||
			   !put(rw, rw->prefix, strlen(rw->prefix)) ||
			   !put(rw, rw->value, rw->value_len) || !put(rw, "\r\n", 2)))
		return fail(rw, 431, "request head too large after the rewrite");
	if (!put(rw, "\r\n", 2))
		return fail(rw, 431, "request head too large after the rewrite");
	rw->requests++;
	if (r->chunked) {
		rw->after_emit = RW_CH_SIZE;
		rw->digits = 0;
		rw->remain = 0;
		rw->line = 0;
	} else if (r->has_clen && r->clen > 0) {
		rw->after_emit = RW_BODY_LEN;
		rw->remain = r->clen;
	} else {
		rw->after_emit = RW_HEAD;
	}
	rw->st = RW_EMIT;
	return 0;
}

/* Take head bytes from @in; on a complete head, rewrite it. */
static ssize_t collect_head(struct req_rw *rw, const uint8_t *in, size_t n, size_t *used)
{
	size_t take = sizeof(rw->head) - rw->head_len;
	size_t before = rw->head_len;

	if (take > n)
		take = n;
	memcpy(rw->head + rw->head_len, in, take);
	rw->head_len += take;
	*used = take;
	for (size_t i = rw->scan; i + 4 <= rw->head_len; i++) {
		int rc;

		if (memcmp(rw->head + i, "\r\n\r\n", 4) != 0)
			continue;
		rc = http_req_parse(rw->head, i + 4, &rw->req);
		if (rc < 0)
			return fail(rw, -rc, rw->req.why ? rw->req.why : "bad request head");
		if (rc == 0)
			continue; /* empty lines before the request line */
		/* hand back what follows the head: it is body or the next request */
		*used = rw->req.head_len > before ? rw->req.head_len - before : 0;
		rw->head_len = rw->req.head_len;
		return rewrite_head(rw);
	}
	rw->scan = rw->head_len >= 3 ? rw->head_len - 3 : 0;
	for (size_t i = before; i < rw->head_len; i++)
		if (rw->head[i] == '\n' && (i == 0 || rw->head[i - 1] != '\r'))
			return fail(rw, 400, "bare LF in the request head");
	if (rw->head_len == sizeof(rw->head)) {
		int rc = http_req_parse(rw->head, rw->head_len, &rw->req);

		if (rc < 0)
			return fail(rw, -rc, rw->req.why ? rw->req.why : "bad request head");
		return fail(rw, 431, "request head too large");
	}
	if (rw->head_len >= 24 && memcmp(rw->head, "PRI * HTTP/2.0\r\n", 16) == 0)
		return fail(rw, 505, "HTTP/2 is not offered");
	return 0;
}

static bool ext_byte_ok(uint8_t b)
{
	return b == '\t' || (b >= 0x20 && b != 0x7f);
}

static int hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	b = (uint8_t)tolower(b);
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	return -1;
}

/* One byte of chunked framing outside chunk data. Return 0, or an error. */
static ssize_t chunk_byte(struct req_rw *rw, uint8_t b)
{
	int v;

	switch (rw->st) {
	case RW_CH_SIZE:
		if (++rw->line > REQ_RW_LINE_MAX)
			return fail(rw, 400, "chunk-size line too long");
		v = hexval(b);
		if (v >= 0) {
			if (rw->remain >> 60)
				return fail(rw, 400, "chunk size too large");
			rw->remain = rw->remain << 4 | (uint64_t)v;
			rw->digits++;
			return 0;
		}
		if (!rw->digits)
			return fail(rw, 400, "bad chunk size");
		if (b == '\r')
			rw->st = RW_CH_SIZE_LF;
		else if (b == ';' || b == ' ' || b == '\t')
			rw->st = RW_CH_EXT;
		else
			return fail(rw, 400, "bad chunk size");
		return 0;
	case RW_CH_EXT:
		if (++rw->line > REQ_RW_LINE_MAX)
			return fail(rw, 400, "chunk-size line too long");
		if (b == '\r')
			rw->st = RW_CH_SIZE_LF;
		else if (!ext_byte_ok(b))
			return fail(rw, 400, "bad chunk extension");
		return 0;
	case RW_CH_SIZE_LF:
		if (b != '\n')
			return fail(rw, 400, "bare CR in chunked framing");
		rw->st = rw->remain ? RW_CH_DATA : RW_TR_START;
		rw->trail = 0;
		return 0;
	case RW_CH_DATA_CR:
		if (b != '\r')
			return fail(rw, 400, "chunk data not followed by CRLF");
		rw->st = RW_CH_DATA_LF;
		return 0;
	case RW_CH_DATA_LF:
		if (b != '\n')
			return fail(rw, 400, "chunk data not followed by CRLF");
		rw->st = RW_CH_SIZE;
		rw->digits = 0;
		rw->line = 0;
		return 0;
	case RW_TR_START:
	case RW_TR_LINE:
		if (++rw->trail > REQ_RW_TRAIL_MAX)
			return fail(rw, 431, "chunked trailer section too large");
		if (b == '\r')
			rw->st = rw->st == RW_TR_START ? RW_TR_END_LF : RW_TR_LINE_LF;
		else if (ext_byte_ok(b))
			rw->st = RW_TR_LINE;
		else
			return fail(rw, 400, "bad byte in a trailer");
		return 0;
	case RW_TR_LINE_LF:
		if (b != '\n')
			return fail(rw, 400, "bare CR in a trailer");
		rw->st = RW_TR_START;
		return 0;
	case RW_TR_END_LF:
		if (b != '\n')
			return fail(rw, 400, "bare CR after the last chunk");
		rw->st = RW_HEAD;
		return 0;
	default:
		return fail(rw, 500, "rewriter state");
	}
}

ssize_t req_rw_feed(struct req_rw *rw, const uint8_t *in, size_t n, size_t *used, uint8_t *out,
		    size_t cap)
{
	size_t w = 0, u = 0, k;
	ssize_t rc;

	*used = 0;
	if (rw->st == RW_ERROR)
		return -rw->status;
	while (w < cap) {
		switch (rw->st) {
		case RW_HEAD:
			if (u == n)
				goto done;
			rc = collect_head(rw, in + u, n - u, &k);
			if (rc < 0)
				return rc;
			u += k;
			if (rw->st == RW_HEAD) /* all taken, head not complete */
				goto done;
			rw->head_len = 0;
			rw->scan = 0;
			break;
		case RW_EMIT:
			k = rw->out_len - rw->out_off;
			if (k > cap - w)
				k = cap - w;
			memcpy(out + w, rw->out + rw->out_off, k);
			rw->out_off += k;
			w += k;
			if (rw->out_off == rw->out_len) {
				OPENSSL_cleanse(rw->out, rw->out_len);
				rw->out_off = rw->out_len = 0;
				rw->st = rw->after_emit;
			}
			break;
		case RW_BODY_LEN:
		case RW_CH_DATA:
			if (u == n)
				goto done;
			k = n - u < cap - w ? n - u : cap - w;
			if (k > rw->remain)
				k = (size_t)rw->remain;
			memcpy(out + w, in + u, k);
			w += k;
			u += k;
			rw->remain -= k;
			if (!rw->remain)
				rw->st = rw->st == RW_BODY_LEN ? RW_HEAD : RW_CH_DATA_CR;
			break;
		case RW_ERROR:
			return -rw->status;
		default:
			if (u == n)
				goto done;
			rc = chunk_byte(rw, in[u]);
			if (rc < 0)
				return rc;
			out[w++] = in[u++];
			break;
		}
	}
done:
	*used = u;
	return (ssize_t)w;
}
