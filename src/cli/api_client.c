/* sbxd REST client (see api_client.h): HTTP/1.1 on a unix socket, jansson bodies, a start-up
 * spinner for long calls. Owns no global state; never retries a request that reached sbxd
 * (only a refused connection, after starting sbxd); every wait is bounded by a deadline. */
#include "cli/api_client.h"
#include "cli/daemon_start.h"
#include "common/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- response parsing: the only place bytes from sbxd are interpreted ---- */

/* Parse a non-negative number in base @base from s[0..n); Return -1 if malformed or > max. */
static long parse_num(const char *s, size_t n, int base, long max)
{
	long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * base + d;
		if (v > max)
			return -1;
	}
	return v;
}

/* Trim spaces/tabs around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
	while (*n && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

static bool header_is(const char *line, size_t n, const char *name)
{
	size_t l = strlen(name);
	return n > l && line[l] == ':' && strncasecmp(line, name, l) == 0;
}

/* Decode a chunked body from b[0..n) into @out. Return 1 done, 0 need more, -1 malformed. */
static int parse_chunked(const char *b, size_t n, char *out, size_t *outlen)
{
	size_t pos = 0, o = 0;

	for (;;) {
		const char *nl = memchr(b + pos, '\n', n - pos);
		if (!nl)
			return n - pos > 64 ? -1 : 0;
		size_t ll = (size_t)(nl - (b + pos));
		if (ll == 0 || b[pos + ll - 1] != '\r')
			return -1;
		size_t hl = ll - 1;
		const char *semi = memchr(b + pos, ';', hl);
		if (semi)
			hl = (size_t)(semi - (b + pos));
		const char *hs = trim(b + pos, &hl);
		long sz = parse_num(hs, hl, 16, API_BODY_MAX);
		if (sz < 0 || o + (size_t)sz > API_BODY_MAX)
			return -1;
		pos += ll + 1;
		if (sz == 0) {
			/* trailer lines, then the empty line */
			for (;;) {
				nl = memchr(b + pos, '\n', n - pos);
				if (!nl)
					return 0;
				ll = (size_t)(nl - (b + pos));
				if (ll == 0 || b[pos + ll - 1] != '\r')
					return -1;
				pos += ll + 1;
				if (ll == 1) {
					*outlen = o;
					return 1;
				}
			}
		}
		if (n - pos < (size_t)sz + 2)
			return 0;
		if (b[pos + (size_t)sz] != '\r' || b[pos + (size_t)sz + 1] != '\n')
			return -1;
		memcpy(out + o, b + pos, (size_t)sz);
		o += (size_t)sz;
		pos += (size_t)sz + 2;
	}
}

int api_http_parse(const char *buf, size_t len, bool eof, char *body, struct api_http_msg *m)
{
	static const char end_mark[] = "\r\n\r\n";
	const char *end = memmem(buf, len, end_mark, 4);
	long clen = -1;
	bool chunked = false;

	memset(m, 0, sizeof(*m));
	if (!end)
		return (eof || len > API_HEADER_MAX) ? -1 : 0;
	size_t hlen = (size_t)(end - buf) + 2; /* header lines incl. the last CRLF */
	if (hlen + 2 > API_HEADER_MAX)
		return -1;

	/* status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF */
	const char *nl = memchr(buf, '\n', hlen);
	size_t sl = (size_t)(nl - buf); /* nl exists: hlen ends with CRLF */
	if (sl < 13 || buf[sl - 1] != '\r' || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)buf[7]) || buf[8] != ' ' || (buf[12] != ' ' && buf[12] != '\r'))
		return -1;
	long st = parse_num(buf + 9, 3, 10, 599);
	if (st < 200)
		return -1; /* 1xx: we never send Expect, so none may come */
	m->status = (int)st;

	for (size_t pos = sl + 1; pos < hlen;) {
		nl = memchr(buf + pos, '\n', hlen - pos);
		if (!nl)
			return -1;
		size_t ll = (size_t)(nl - (buf + pos));
		if (ll == 0 || buf[pos + ll - 1] != '\r')
			return -1;
		const char *line = buf + pos;
		size_t n = ll - 1;
		if (!memchr(line, ':', n) || line[0] == ' ' || line[0] == '\t')
			return -1;
		if (header_is(line, n, "content-length")) {
			size_t vl = n - 15;
			const char *v = trim(line + 15, &vl);
			long cl = parse_num(v, vl, 10, API_BODY_MAX);
			if (cl < 0 || (clen >= 0 && cl != clen))
				return -1;
			clen = cl;
		} else if (header_is(line, n, "transfer-encoding")) {
			size_t vl = n - 18;
			const char *v = trim(line + 18, &vl);
			if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
				return -1; /* no other coding is ever used by sbxd */
			chunked = true;
		}
		pos += ll + 1;
	}

	const char *b = end + 4;
	size_t avail = len - (size_t)(b - buf);
	if (m->status == 204 || m->status == 304)
		return 1;
	if (chunked) {
		int r = parse_chunked(b, avail, body, &m->body_len);
		return (r == 0 && eof) ? -1 : r;
	}
	if (clen >= 0) {
		if (avail < (size_t)clen)
			return eof ? -1 : 0;
		memcpy(body, b, (size_t)clen);
		m->body_len = (size_t)clen;
		return 1;
	}
	if (!eof)
		return avail > API_BODY_MAX ? -1 : 0;
	memcpy(body, b, avail);
	m->body_len = avail;
	return 1;
}

/* ---- transport ---- */

struct spin {
	const char *label;
	struct timespec t0;
	long shown_s; /* last second printed, -1 none */
};

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void spin_draw(struct spin *s)
{
	static const char *frames[] = {"|", "/", "-", "\\"};
	struct timespec now;
	long e;

	clock_gettime(CLOCK_MONOTONIC, &now);
	e = (long)(now.tv_sec - s->t0.tv_sec);
	if (e == s->shown_s)
		return;
	s->shown_s = e;
	fprintf(stderr, "\r\033[K%s %s… %lds", frames[e % 4], s->label, e);
	fflush(stderr);
}

int api_init(struct api *a, const struct sbx_paths *p)
{
	memset(a, 0, sizeof(*a));
	a->paths = p;
	a->autostart = true;
	if (snprintf(a->sock, sizeof(a->sock), "%s/sbxd.sock", p->runtime) >=
	    (int)sizeof(a->sock)) {
		sbx_err("sbxd socket path too long: %s/sbxd.sock (use a shorter SBX_HOME)",
			p->runtime);
		return -1;
	}
	return 0;
}

void api_close(struct api *a)
{
	(void)a; /* one connection per request: nothing held between calls */
}

void api_resp_free(struct api_resp *r)
{
	if (r->json)
		json_decref(r->json);
	free(r->body);
	r->json = NULL;
	r->body = NULL;
}

enum xfer { XFER_OK, XFER_NOCONN, XFER_TIMEOUT, XFER_ERR };

/* Connect to sbxd. Return fd, or -1 with errno (ENOENT/ECONNREFUSED: nobody there). */
static int sock_connect(const struct api *a)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, a->sock, strlen(a->sock) + 1);
	/* AF_UNIX connect never returns EINPROGRESS; a full backlog gives EAGAIN */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno == EAGAIN ? ECONNREFUSED : errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One attempt: send the request, read and parse the answer into @r. */
static enum xfer do_request(struct api *a, const char *method, const char *path, const char *body,
			    long timeout_ms, struct api_resp *r, char *why, size_t whylen)
{
	struct spin s = {.label = a->spinner, .shown_s = -1};
	bool spinning = a->spinner && isatty(STDERR_FILENO);
	long deadline = now_ms() + timeout_ms;
	size_t blen = body ? strlen(body) : 0, cap = 4096, len = 0;
	char head[512], *buf = NULL, *out = NULL;
	enum xfer ret = XFER_ERR;
	int fd, hl, done = 0;
	bool eof = false;
	struct api_http_msg m;

	fd = sock_connect(a);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return (errno == ENOENT || errno == ECONNREFUSED) ? XFER_NOCONN : XFER_ERR;
	}
	hl = snprintf(head, sizeof(head),
		      "%s %s HTTP/1.1\r\nHost: sbx\r\nConnection: close\r\n"
		      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		      method, path, blen);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		snprintf(why, whylen, "request path too long");
		goto out;
	}
	if (spinning)
		clock_gettime(CLOCK_MONOTONIC, &s.t0);

	/* write the head and body; small requests go out in one call */
	struct iovec iov[2] = {{head, (size_t)hl}, {(void *)body, blen}};
	size_t total = (size_t)hl + blen, sent = 0;
	while (sent < total) {
		struct msghdr mh = {0};
		struct iovec cur[2];
		int n = 0;
		for (int i = 0, skip = (int)sent; i < 2; i++) {
			if ((size_t)skip >= iov[i].iov_len) {
				skip -= (int)iov[i].iov_len;
				continue;
			}
			cur[n].iov_base = (char *)iov[i].iov_base + skip;
			cur[n++].iov_len = iov[i].iov_len - (size_t)skip;
			skip = 0;
		}
		mh.msg_iov = cur;
		mh.msg_iovlen = (size_t)n;
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "sending: %s", strerror(errno));
			goto out;
		}
		struct pollfd pw = {fd, POLLOUT, 0};
		long left = deadline - now_ms();
		if (left <= 0) {
			ret = XFER_TIMEOUT;
			goto out;
		}
		poll(&pw, 1, (int)(left > 250 ? 250 : left));
	}

	buf = malloc(cap);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	while (!done) {
		if (len == cap) {
			if (cap >= API_BODY_MAX + API_HEADER_MAX) {
				snprintf(why, whylen, "answer larger than %u bytes", API_BODY_MAX);
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n >= 0) {
			len += (size_t)n;
			eof = n == 0;
			char *nout = realloc(out, len + 1);
			if (!nout) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			out = nout;
			int pr = api_http_parse(buf, len, eof, out, &m);
			if (pr < 0) {
				snprintf(why, whylen, "malformed HTTP answer");
				goto out;
			}
			done = pr;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "reading: %s", strerror(errno));
			goto out;
		}
		long left = deadline - now_ms();
		if (left <= 0) {
			ret = XFER_TIMEOUT;
			goto out;
		}
		if (spinning)
			spin_draw(&s);
		struct pollfd pr = {fd, POLLIN, 0};
		poll(&pr, 1, (int)(left > 250 ? 250 : left));
	}

	r->status = m.status;
	out[m.body_len] = '\0';
	r->body = out;
	r->len = m.body_len;
	out = NULL;
	if (r->len)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	const char *e = r->json ? api_str(r->json, "error") : "";
	if (*e)
		snprintf(r->error, sizeof(r->error), "%s", e);
	else if (r->status >= 300)
		snprintf(r->error, sizeof(r->error),
			 "%s %.100s: sbxd answered HTTP %ld (see %.300s/sbxd.log)", method, path,
			 r->status, a->paths->data);
	ret = XFER_OK;
out:
	if (spinning && s.shown_s >= 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(buf);
	free(out);
	close(fd);
	return ret;
}

int api_call(struct api *a, const char *method, const char *path, json_t *body, long timeout_ms,
	     struct api_resp *r)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char why[256] = "";
	enum xfer x;

	memset(r, 0, sizeof(*r));
	x = do_request(a, method, path, text, timeout_ms, r, why, sizeof(why));
	if (x == XFER_NOCONN && a->autostart) {
		if (daemon_start(a, a->paths) < 0) {
			free(text);
			a->spinner = NULL;
			return -1;
		}
		x = do_request(a, method, path, text, timeout_ms, r, why, sizeof(why));
	}
	free(text);
	a->spinner = NULL;
	switch (x) {
	case XFER_OK:
		return 0;
	case XFER_NOCONN:
		sbx_err("cannot reach sbxd: %s: %s (start it with %s/sbxd --daemon)", a->sock, why,
			a->paths->bindir);
		break;
	case XFER_TIMEOUT:
		sbx_err("%s %s: sbxd did not answer within %ld s (see %s/sbxd.log)", method, path,
			timeout_ms / 1000, a->paths->data);
		break;
	case XFER_ERR:
		sbx_err("%s %s: talking to sbxd failed: %s (see %s/sbxd.log)", method, path, why,
			a->paths->data);
		break;
	}
	return -1;
}

int api_ping(struct api *a, long timeout_ms)
{
	struct api_resp r = {0};
	char why[256];
	enum xfer x = do_request(a, "GET", "/v1/version", NULL, timeout_ms, &r, why, sizeof(why));
	int ok = x == XFER_OK && r.status == 200;

	api_resp_free(&r);
	return ok ? 0 : -1;
}

int api_get_sandbox(struct api *a, const char *name, json_t **out)
{
	char path[128];
	struct api_resp r;

	*out = NULL;
	snprintf(path, sizeof(path), "/v1/sandboxes/%s", name);
	if (api_call(a, "GET", path, NULL, API_TIMEOUT_SHORT, &r) < 0) {
		api_resp_free(&r);
		return -1;
	}
	if (r.status == 404) {
		api_resp_free(&r);
		return 1;
	}
	if (r.status != 200 || !json_is_object(r.json)) {
		api_print_error(&r);
		api_resp_free(&r);
		return -1;
	}
	*out = json_incref(r.json);
	api_resp_free(&r);
	return 0;
}

void api_print_error(const struct api_resp *r)
{
	if (r->error[0])
		sbx_err("%s", r->error);
	else
		sbx_err("sbxd answered HTTP %ld with an unexpected body (see sbxd.log)", r->status);
}

const char *api_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}
