/* Containers' trust in sbxd's proxy CA, the pure part: a small bounds-checked JSON scanner
 * (no allocation, depth-limited, rejects what is not JSON) and the rewrite of an OCI runtime
 * spec (runc's config.json) or process (runc exec --process) that adds the two read-only
 * bind mounts of the CA files under /dev and the trust variables. Insertions only: every
 * other byte of the document is kept. The files and the exec of runc are runc.c's. */
#include "guest/gi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEPTH_MAX 64

/* A cursor over @n bytes at @s. */
struct sc {
	const char *s;
	size_t n, i;
};

static void ws(struct sc *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
			       c->s[c->i] == '\r'))
		c->i++;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Four hex digits at c->i (consumed). Return the value or -1. */
static long hex4(struct sc *c)
{
	long v = 0;

	if (c->n - c->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = hexval(c->s[c->i + (size_t)k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	c->i += 4;
	return v;
}

/* Append code point @cp as UTF-8 to @out (@cap bytes, *@o used; a decoded NUL counts as
 * overflow so decoded strings stay C strings). */
static void put_cp(char *out, size_t cap, size_t *o, bool *trunc, unsigned long cp)
{
	char b[4];
	size_t k;

	if (cp == 0) {
		*trunc = true;
		return;
	}
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (!out || *trunc || cap - 1 - *o < k) {
		*trunc = true;
		return;
	}
	memcpy(out + *o, b, k);
	*o += k;
}

/* The string at c->i (which must be '"'), consumed; decoded into @out (@cap bytes, NUL
 * terminated; @out NULL: only scanned). *@trunc: it did not fit (or held a NUL).
 * Return 0, or -1 when it is not a JSON string. */
static int str(struct sc *c, char *out, size_t cap, bool *trunc)
{
	size_t o = 0;

	*trunc = false;
	if (c->i >= c->n || c->s[c->i] != '"')
		return -1;
	c->i++;
	for (;;) {
		unsigned char ch;

		if (c->i >= c->n)
			return -1;
		ch = (unsigned char)c->s[c->i++];
		if (ch == '"')
			break;
		if (ch < 0x20)
			return -1;
		if (ch != '\\') {
			if (out && !*trunc && o + 1 < cap)
				out[o++] = (char)ch;
			else
				*trunc = true;
			continue;
		}
		if (c->i >= c->n)
			return -1;
		ch = (unsigned char)c->s[c->i++];
		unsigned long cp;
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			cp = ch;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u': {
			long u = hex4(c);

			if (u < 0)
				return -1;
			cp = (unsigned long)u;
			/* a high surrogate followed by an escaped low one is one code point;
			 * a lone surrogate is kept as U+FFFD (Go does the same) */
			if (cp >= 0xd800 && cp < 0xdc00 && c->n - c->i >= 6 && c->s[c->i] == '\\' &&
			    c->s[c->i + 1] == 'u') {
				struct sc save = *c;
				long lo;

				c->i += 2;
				lo = hex4(c);
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     ((unsigned long)lo - 0xdc00);
				else
					*c = save;
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			break;
		}
		default:
			return -1;
		}
		put_cp(out, cap, &o, trunc, cp);
	}
	if (out && cap)
		out[o < cap ? o : cap - 1] = 0;
	return 0;
}

/* Skip one number. Return 0 or -1. */
static int num(struct sc *c)
{
	size_t d;

	if (c->i < c->n && c->s[c->i] == '-')
		c->i++;
	if (c->i >= c->n)
		return -1;
	if (c->s[c->i] == '0') {
		c->i++;
	} else {
		for (d = c->i; c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';)
			c->i++;
		if (c->i == d)
			return -1;
	}
	if (c->i < c->n && c->s[c->i] == '.') {
		c->i++;
		for (d = c->i; c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';)
			c->i++;
		if (c->i == d)
			return -1;
	}
	if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		for (d = c->i; c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';)
			c->i++;
		if (c->i == d)
			return -1;
	}
	return 0;
}

static int lit(struct sc *c, const char *w)
{
	size_t k = strlen(w);

	if (c->n - c->i < k || memcmp(c->s + c->i, w, k) != 0)
		return -1;
	c->i += k;
	return 0;
}

/* Entering a container ('{' or '['): at c->i. *@first set for the iterators below. */
static int open_(struct sc *c, char ch, bool *first)
{
	if (c->i >= c->n || c->s[c->i] != ch)
		return -1;
	c->i++;
	*first = true;
	return 0;
}

/* Next array element: 1 with c->i at it, 0 at the end (c->i just past ']', *@close its
 * offset), -1 bad JSON. */
static int arr_next(struct sc *c, bool *first, size_t *close)
{
	ws(c);
	if (c->i >= c->n)
		return -1;
	if (c->s[c->i] == ']') {
		*close = c->i++;
		return 0;
	}
	if (!*first) {
		if (c->s[c->i] != ',')
			return -1;
		c->i++;
		ws(c);
	}
	*first = false;
	return c->i < c->n ? 1 : -1;
}

/* Next object member: 1 with its key decoded into @key (@cap bytes; a key that does not fit
 * comes back as "") and c->i at the value, 0 at the end (past '}', *@close its offset), -1
 * bad JSON. */
static int obj_next(struct sc *c, bool *first, size_t *close, char *key, size_t cap)
{
	bool trunc;

	ws(c);
	if (c->i >= c->n)
		return -1;
	if (c->s[c->i] == '}') {
		*close = c->i++;
		return 0;
	}
	if (!*first) {
		if (c->s[c->i] != ',')
			return -1;
		c->i++;
		ws(c);
	}
	*first = false;
	if (str(c, key, cap, &trunc) < 0)
		return -1;
	if (trunc && key)
		key[0] = 0;
	ws(c);
	if (c->i >= c->n || c->s[c->i] != ':')
		return -1;
	c->i++;
	ws(c);
	return c->i < c->n ? 1 : -1;
}

/* Skip one value at c->i (whitespace before it already skipped), @depth containers deep. */
static int value(struct sc *c, int depth)
{
	bool first, trunc;
	size_t close;
	int r;

	if (c->i >= c->n)
		return -1;
	switch (c->s[c->i]) {
	case '"':
		return str(c, NULL, 0, &trunc);
	case '{':
		if (depth >= DEPTH_MAX || open_(c, '{', &first) < 0)
			return -1;
		while ((r = obj_next(c, &first, &close, NULL, 0)) == 1)
			if (value(c, depth + 1) < 0)
				return -1;
		return r;
	case '[':
		if (depth >= DEPTH_MAX || open_(c, '[', &first) < 0)
			return -1;
		while ((r = arr_next(c, &first, &close)) == 1)
			if (value(c, depth + 1) < 0)
				return -1;
		return r;
	case 't':
		return lit(c, "true");
	case 'f':
		return lit(c, "false");
	case 'n':
		return lit(c, "null");
	default:
		return num(c);
	}
}

/* The end of the document: only whitespace after the top-level value. */
static int end(struct sc *c)
{
	ws(c);
	return c->i == c->n ? 0 : -1;
}

int gi_json_valid(const char *s, size_t len)
{
	struct sc c = {s, len, 0};

	ws(&c);
	if (value(&c, 0) < 0)
		return -1;
	return end(&c);
}

/* ---- the OCI documents ---- */

#define DEV_CA	   GI_OCI_DEV_CA
#define DEV_BUNDLE GI_OCI_DEV_BUNDLE

/* The variables each container process gets unless it already names them. */
static const char *const oci_env[][2] = {
    {"SSL_CERT_FILE", DEV_BUNDLE},   {"REQUESTS_CA_BUNDLE", DEV_BUNDLE},
    {"CURL_CA_BUNDLE", DEV_BUNDLE},  {"GIT_SSL_CAINFO", DEV_BUNDLE},
    {"NODE_EXTRA_CA_CERTS", DEV_CA},
};
#define OCI_ENV_N (sizeof(oci_env) / sizeof(oci_env[0]))

/* Go's encoding/json (runc) matches member names case-insensitively; so do we. */
static bool key_is(const char *key, const char *name)
{
	return strcasecmp(key, name) == 0;
}

/* What the walk found; offsets into the input. Later duplicates of a member win (as in Go). */
struct spec {
	bool dev_tmpfs;
	bool have_dest[2]; /* DEV_CA, DEV_BUNDLE already mounted */
	bool mounts_arr, mounts_empty;
	size_t mounts_close;
	bool env_key, env_arr, env_empty, env_set[OCI_ENV_N];
	size_t env_close;
	bool proc_obj, proc_empty; /* the object that holds "env" (or should) */
	size_t proc_close;
};

/* One mount object: its destination and type. */
static int walk_mount(struct sc *c, int depth, struct spec *sp)
{
	char key[32], dest[64] = "", type[16] = "";
	bool first, dtrunc = true, ttrunc = true;
	size_t close;
	int r;

	if (c->i < c->n && c->s[c->i] != '{')
		return value(c, depth);
	if (depth >= DEPTH_MAX || open_(c, '{', &first) < 0)
		return -1;
	while ((r = obj_next(c, &first, &close, key, sizeof(key))) == 1) {
		if (key_is(key, "destination") && c->s[c->i] == '"') {
			if (str(c, dest, sizeof(dest), &dtrunc) < 0)
				return -1;
		} else if (key_is(key, "type") && c->s[c->i] == '"') {
			if (str(c, type, sizeof(type), &ttrunc) < 0)
				return -1;
		} else if (value(c, depth + 1) < 0) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (!dtrunc) {
		if ((!strcmp(dest, "/dev") || !strcmp(dest, "/dev/")) && !ttrunc &&
		    !strcmp(type, "tmpfs"))
			sp->dev_tmpfs = true;
		if (!strcmp(dest, DEV_CA))
			sp->have_dest[0] = true;
		if (!strcmp(dest, DEV_BUNDLE))
			sp->have_dest[1] = true;
	}
	return 0;
}

static int walk_mounts(struct sc *c, int depth, struct spec *sp)
{
	bool first;
	int r;

	sp->dev_tmpfs = sp->have_dest[0] = sp->have_dest[1] = false;
	sp->mounts_arr = false;
	if (c->s[c->i] != '[')
		return value(c, depth);
	if (depth >= DEPTH_MAX || open_(c, '[', &first) < 0)
		return -1;
	sp->mounts_empty = true;
	while ((r = arr_next(c, &first, &sp->mounts_close)) == 1) {
		sp->mounts_empty = false;
		if (walk_mount(c, depth + 1, sp) < 0)
			return -1;
	}
	sp->mounts_arr = r == 0;
	return r;
}

static int walk_env(struct sc *c, int depth, struct spec *sp)
{
	char entry[64];
	bool first, trunc;
	int r;

	memset(sp->env_set, 0, sizeof(sp->env_set));
	sp->env_arr = false;
	if (c->s[c->i] != '[')
		return value(c, depth);
	if (depth >= DEPTH_MAX || open_(c, '[', &first) < 0)
		return -1;
	sp->env_empty = true;
	while ((r = arr_next(c, &first, &sp->env_close)) == 1) {
		sp->env_empty = false;
		if (c->s[c->i] != '"') {
			if (value(c, depth + 1) < 0)
				return -1;
			continue;
		}
		if (str(c, entry, sizeof(entry), &trunc) < 0)
			return -1;
		/* a long value truncates the entry; the name before '=' is still whole */
		for (size_t k = 0; k < OCI_ENV_N; k++) {
			size_t kl = strlen(oci_env[k][0]);

			if (strncmp(entry, oci_env[k][0], kl) == 0 &&
			    (entry[kl] == '=' || (entry[kl] == 0 && !trunc)))
				sp->env_set[k] = true;
		}
	}
	sp->env_arr = r == 0;
	return r;
}

/* An object holding "env" (the spec's "process", or a process file's top level). */
static int walk_process(struct sc *c, int depth, struct spec *sp)
{
	char key[16];
	bool first;
	int r;

	sp->proc_obj = sp->env_key = false;
	sp->env_arr = false;
	memset(sp->env_set, 0, sizeof(sp->env_set));
	if (c->s[c->i] != '{')
		return value(c, depth);
	if (depth >= DEPTH_MAX || open_(c, '{', &first) < 0)
		return -1;
	sp->proc_empty = true;
	while ((r = obj_next(c, &first, &sp->proc_close, key, sizeof(key))) == 1) {
		sp->proc_empty = false;
		if (key_is(key, "env")) {
			sp->env_key = true;
			if (walk_env(c, depth + 1, sp) < 0)
				return -1;
		} else if (value(c, depth + 1) < 0) {
			return -1;
		}
	}
	sp->proc_obj = r == 0;
	return r;
}

static int walk_config(struct sc *c, struct spec *sp)
{
	char key[16];
	bool first;
	size_t close;
	int r;

	ws(c);
	if (open_(c, '{', &first) < 0)
		return -1;
	while ((r = obj_next(c, &first, &close, key, sizeof(key))) == 1) {
		if (key_is(key, "mounts")) {
			if (walk_mounts(c, 1, sp) < 0)
				return -1;
		} else if (key_is(key, "process")) {
			if (walk_process(c, 1, sp) < 0)
				return -1;
		} else if (value(c, 1) < 0) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	return end(c);
}

/* @s as a JSON string body (no quotes) into @out at *@o; false when it does not fit. */
static bool put_esc(char *out, size_t cap, size_t *o, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char b[8];
		size_t k;

		if (ch == '"' || ch == '\\') {
			b[0] = '\\';
			b[1] = (char)ch;
			k = 2;
		} else if (ch < 0x20) {
			snprintf(b, sizeof(b), "\\u%04x", ch);
			k = 6;
		} else {
			b[0] = (char)ch;
			k = 1;
		}
		if (cap - *o < k)
			return false;
		memcpy(out + *o, b, k);
		*o += k;
	}
	return true;
}

static bool put(char *out, size_t cap, size_t *o, const char *s)
{
	size_t k = strlen(s);

	if (cap - *o < k)
		return false;
	memcpy(out + *o, s, k);
	*o += k;
	return true;
}

/* Copy @in[*@from..@to) to @out. */
static bool copy_to(char *out, size_t cap, size_t *o, const char *in, size_t *from, size_t to)
{
	if (cap - *o < to - *from)
		return false;
	memcpy(out + *o, in + *from, to - *from);
	*o += to - *from;
	*from = to;
	return true;
}

/* The mounts text for the insertion point of sp's mounts array. */
static bool put_mounts(char *out, size_t cap, size_t *o, const struct spec *sp, const char *ca_src,
		       const char *bundle_src)
{
	const char *dst[2] = {DEV_CA, DEV_BUNDLE}, *src[2] = {ca_src, bundle_src};
	bool comma = !sp->mounts_empty;

	for (int k = 0; k < 2; k++) {
		if (sp->have_dest[k])
			continue;
		if (!put(out, cap, o, comma ? ",{\"destination\":\"" : "{\"destination\":\"") ||
		    !put(out, cap, o, dst[k]) ||
		    !put(out, cap, o, "\",\"type\":\"bind\",\"source\":\"") ||
		    !put_esc(out, cap, o, src[k]) ||
		    !put(out, cap, o,
			 "\",\"options\":[\"rbind\",\"ro\",\"nosuid\",\"nodev\",\"noexec\"]}"))
			return false;
		comma = true;
	}
	return true;
}

/* The variables not yet set, as array elements (@comma: one before the first). */
static bool put_env(char *out, size_t cap, size_t *o, const struct spec *sp, bool comma)
{
	for (size_t k = 0; k < OCI_ENV_N; k++) {
		if (sp->env_set[k])
			continue;
		if (!put(out, cap, o, comma ? ",\"" : "\"") || !put(out, cap, o, oci_env[k][0]) ||
		    !put(out, cap, o, "=") || !put(out, cap, o, oci_env[k][1]) ||
		    !put(out, cap, o, "\""))
			return false;
		comma = true;
	}
	return true;
}

/* Emit one insertion (mounts, or env) at its place. */
static bool put_one(char *out, size_t cap, size_t *o, const struct spec *sp, bool mounts,
		    bool env_missing, const char *ca_src, const char *bundle_src)
{
	if (mounts)
		return put_mounts(out, cap, o, sp, ca_src, bundle_src);
	if (!env_missing)
		return put_env(out, cap, o, sp, !sp->env_empty);
	return put(out, cap, o, sp->proc_empty ? "\"env\":[" : ",\"env\":[") &&
	       put_env(out, cap, o, sp, false) && put(out, cap, o, "]");
}

long gi_oci_ca_patch(const char *in, size_t len, enum gi_oci_kind kind, const char *ca_src,
		     const char *bundle_src, char *out, size_t cap)
{
	struct spec sp = {0};
	struct sc c = {in, len, 0};
	bool want_mounts, want_env = false, env_missing = false;
	size_t o = 0, from = 0;

	if (kind == GI_OCI_CONFIG) {
		if (walk_config(&c, &sp) < 0)
			goto bad;
	} else {
		ws(&c);
		if (c.i >= c.n || c.s[c.i] != '{' || walk_process(&c, 0, &sp) < 0 || end(&c) < 0)
			goto bad;
	}
	if (kind == GI_OCI_CONFIG && !(sp.dev_tmpfs && sp.mounts_arr))
		goto same; /* no /dev tmpfs: nowhere to put the files, so no variables either */
	want_mounts = kind == GI_OCI_CONFIG && !(sp.have_dest[0] && sp.have_dest[1]);
	if (sp.env_arr) {
		for (size_t k = 0; k < OCI_ENV_N; k++)
			want_env |= !sp.env_set[k];
	} else if (sp.proc_obj && !sp.env_key) {
		env_missing = want_env = true; /* an "env" that is not an array stays alone */
	}
	if (!want_mounts && !want_env)
		goto same;

	/* at most two insertion points, emitted in the order they occur in @in */
	struct ins {
		bool mounts;
		size_t at;
	} ins[2], t;
	int n = 0;

	if (want_mounts)
		ins[n++] = (struct ins){true, sp.mounts_close};
	if (want_env)
		ins[n++] = (struct ins){false, env_missing ? sp.proc_close : sp.env_close};
	if (n == 2 && ins[1].at < ins[0].at)
		t = ins[0], ins[0] = ins[1], ins[1] = t;
	for (int k = 0; k < n; k++)
		if (!copy_to(out, cap, &o, in, &from, ins[k].at) ||
		    !put_one(out, cap, &o, &sp, ins[k].mounts, env_missing, ca_src, bundle_src))
			goto big;
	if (!copy_to(out, cap, &o, in, &from, len))
		goto big;
	return (long)o;
same:
	if (cap < len)
		goto big;
	memcpy(out, in, len);
	return (long)len;
bad:
	errno = EINVAL;
	return -1;
big:
	errno = ENOSPC;
	return -1;
}

int gi_oci_root_path(const char *in, size_t len, char *out, size_t cap)
{
	struct sc c = {in, len, 0};
	char key[16];
	bool first, first2, trunc, found = false;
	size_t close;
	int r, r2;

	ws(&c);
	if (cap == 0 || open_(&c, '{', &first) < 0)
		return -1;
	while ((r = obj_next(&c, &first, &close, key, sizeof(key))) == 1) {
		if (!key_is(key, "root") || c.s[c.i] != '{') {
			if (value(&c, 1) < 0)
				return -1;
			continue;
		}
		open_(&c, '{', &first2);
		found = false;
		while ((r2 = obj_next(&c, &first2, &close, key, sizeof(key))) == 1) {
			if (key_is(key, "path") && c.s[c.i] == '"') {
				if (str(&c, out, cap, &trunc) < 0)
					return -1;
				found = !trunc && out[0];
			} else if (value(&c, 2) < 0) {
				return -1;
			}
		}
		if (r2 < 0)
			return -1;
	}
	if (r < 0 || end(&c) < 0 || !found)
		return -1;
	return 0;
}
