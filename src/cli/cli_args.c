/* Pure helpers of the CLI: flag parsing with sbx's one-line errors, memory sizes, sandbox
 * names, aligned tables. No I/O except printing errors and tables; never talks to sbxd, so
 * tests/unit/cli_args_test.c covers all of it without a daemon. */
#include "cli/cli.h"
#include "common/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

void cli_parser_init(struct cli_parser *ps, int argc, char **argv, const char *verb,
		     const struct cli_opt *opts, bool stop_at_positional)
{
	memset(ps, 0, sizeof(*ps));
	ps->argc = argc;
	ps->argv = argv;
	ps->verb = verb;
	ps->opts = opts;
	ps->stop_at_positional = stop_at_positional;
	ps->i = 1;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (verb)
		sbx_err("%s: %s (see sbx %s --help)", verb, msg, verb);
	else
		sbx_err("%s (see sbx --help)", msg);
	return 1;
}

static int unknown_flag(const struct cli_parser *ps, const char *flag)
{
	if (ps->verb)
		sbx_err("unknown flag %s for %s (see sbx %s --help)", flag, ps->verb, ps->verb);
	else
		sbx_err("unknown flag %s (see sbx --help)", flag);
	return CLI_OPT_ERROR;
}

static int needs_value(const struct cli_parser *ps, const char *flag)
{
	if (ps->verb)
		sbx_err("flag %s for %s needs a value (see sbx %s --help)", flag, ps->verb,
			ps->verb);
	else
		sbx_err("flag %s needs a value (see sbx --help)", flag);
	return CLI_OPT_ERROR;
}

static const struct cli_opt *find_short(const struct cli_opt *o, char c)
{
	for (; o && o->id; o++)
		if (o->shortname && o->shortname == c)
			return o;
	return NULL;
}

static const struct cli_opt *find_long(const struct cli_opt *o, const char *name, size_t len)
{
	for (; o && o->id; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* Continue a short-flag cluster ("-it", "-eK=V", "-e K=V"). */
static int next_short(struct cli_parser *ps)
{
	char c = *ps->cluster++;
	char flag[3] = {'-', c, '\0'};

	if (c == 'h') {
		ps->cluster = NULL;
		return CLI_OPT_HELP;
	}
	const struct cli_opt *o = find_short(ps->opts, c);
	if (!o) {
		ps->cluster = NULL;
		return unknown_flag(ps, flag);
	}
	if (o->arg == CLI_ARG_NONE) {
		if (!*ps->cluster)
			ps->cluster = NULL;
		return o->id;
	}
	if (*ps->cluster) {
		ps->value = ps->cluster;
	} else if (ps->i < ps->argc) {
		ps->value = ps->argv[ps->i++];
	} else {
		ps->cluster = NULL;
		return needs_value(ps, flag);
	}
	ps->cluster = NULL;
	return o->id;
}

int cli_opt_next(struct cli_parser *ps)
{
	ps->value = NULL;
	if (ps->cluster)
		return next_short(ps);
	if (ps->i >= ps->argc)
		return CLI_OPT_END;

	char *arg = ps->argv[ps->i++];
	if (ps->only_positional || arg[0] != '-' || arg[1] == '\0') {
		if (ps->stop_at_positional)
			ps->only_positional = true;
		ps->value = arg;
		return CLI_OPT_POSITIONAL;
	}
	if (strcmp(arg, "--") == 0) {
		ps->only_positional = true;
		ps->after_dashdash = true;
		return cli_opt_next(ps);
	}
	if (arg[1] != '-') {
		ps->cluster = arg + 1;
		return next_short(ps);
	}

	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	if (len == 4 && strncmp(name, "help", 4) == 0)
		return CLI_OPT_HELP;
	const struct cli_opt *o = find_long(ps->opts, name, len);
	if (!o) {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%.*s", (int)(len > 40 ? 40 : len), name);
		return unknown_flag(ps, flag);
	}
	if (o->arg == CLI_ARG_NONE) {
		if (eq) {
			char flag[64];
			snprintf(flag, sizeof(flag), "--%s", o->name);
			if (ps->verb)
				sbx_err("flag %s for %s takes no value (see sbx %s --help)", flag,
					ps->verb, ps->verb);
			else
				sbx_err("flag %s takes no value (see sbx --help)", flag);
			return CLI_OPT_ERROR;
		}
		return o->id;
	}
	if (eq) {
		ps->value = eq + 1;
	} else if (ps->i < ps->argc) {
		ps->value = ps->argv[ps->i++];
	} else {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s", o->name);
		return needs_value(ps, flag);
	}
	return o->id;
}

long cli_parse_memory(const char *s)
{
	uint64_t whole = 0, frac = 0, fracdiv = 1;
	const char *c = s;
	int digits = 0;

	if (!s)
		return -1;
	for (; isdigit((unsigned char)*c); c++, digits++) {
		whole = whole * 10 + (uint64_t)(*c - '0');
		if (whole > (1ULL << 40))
			return -1;
	}
	if (*c == '.') {
		c++;
		for (; isdigit((unsigned char)*c); c++, digits++) {
			if (fracdiv >= 1000000)
				return -1;
			frac = frac * 10 + (uint64_t)(*c - '0');
			fracdiv *= 10;
		}
	}
	if (digits == 0)
		return -1;

	uint64_t kib_per_unit; /* the unit in KiB */
	switch (tolower((unsigned char)*c)) {
	case '\0':
	case 'm':
		kib_per_unit = 1024;
		break;
	case 'k':
		kib_per_unit = 1;
		break;
	case 'g':
		kib_per_unit = 1024 * 1024;
		break;
	case 't':
		kib_per_unit = 1024ULL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*c) {
		c++;
		if (tolower((unsigned char)*c) == 'i')
			c++;
		if (tolower((unsigned char)*c) == 'b')
			c++;
		if (*c)
			return -1;
	}
	uint64_t kib = whole * kib_per_unit + frac * kib_per_unit / fracdiv;
	if (frac * kib_per_unit % fracdiv)
		return -1; /* not a whole KiB */
	if (kib == 0 || kib % 1024 || kib > (1ULL << 30))
		return -1;
	return (long)(kib / 1024);
}

int cli_parse_cpus(const char *s)
{
	char *end;
	long n;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 1 || n > 256)
		return -1;
	return (int)n;
}

bool cli_name_valid(const char *s)
{
	size_t n;

	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n <= 40;
}

void cli_name_sanitize(const char *in, char *out, size_t outsz)
{
	size_t max = outsz ? outsz - 1 : 0, n = 0;

	if (max > 40)
		max = 40;
	for (; in && *in && n < max; in++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*in);
		bool keep =
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
		if (!keep)
			c = '-';
		if (n == 0 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			continue;
		if (c == '-' && out[n - 1] == '-')
			continue;
		out[n++] = (char)c;
	}
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.' || out[n - 1] == '_'))
		n--;
	if (n == 0 && outsz > 1) {
		snprintf(out, outsz, "%s", "sandbox");
		return;
	}
	if (outsz)
		out[n] = '\0';
}

int cli_mount_parse(const char *arg, char *path, size_t len, bool *readonly)
{
	size_t n = arg ? strlen(arg) : 0;
	const char *home = getenv("HOME");
	int w;

	*readonly = false;
	if (n >= 3 && (strcmp(arg + n - 3, ":ro") == 0 || strcmp(arg + n - 3, ":rw") == 0)) {
		*readonly = arg[n - 1] == 'o';
		n -= 3;
	}
	if (n == 0)
		return -1;
	if (arg[0] == '~' && (n == 1 || arg[1] == '/')) {
		if (!home || !*home)
			return -1;
		w = snprintf(path, len, "%s%.*s", home, (int)(n - 1), arg + 1);
	} else {
		w = snprintf(path, len, "%.*s", (int)n, arg);
	}
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

int cli_abspath(const char *given, char *out, size_t len)
{
	char cwd[PATH_MAX], buf[2 * PATH_MAX];
	const char *pwd = getenv("PWD");
	struct stat a, b;
	size_t o = 0;
	int w;

	if (!given || !*given)
		return -1;
	if (given[0] == '/') {
		w = snprintf(buf, sizeof(buf), "%s", given);
	} else {
		/* the shell's logical working directory when it is really where we are */
		if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			snprintf(cwd, sizeof(cwd), "%s", pwd);
		else if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		w = snprintf(buf, sizeof(buf), "%s/%s", cwd, given);
	}
	if (w < 0 || (size_t)w >= sizeof(buf))
		return -1;
	for (const char *p = buf; *p;) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') /* lexical '..' lies across symlinks */
			return realpath(given, out) && strlen(out) < len ? 0 : -1;
		if (n) {
			if (o + 1 + n >= len)
				return -1;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

void cli_table_print(FILE *out, const char *const *header, size_t ncols, const char *const *cells,
		     size_t nrows)
{
	size_t w[CLI_TABLE_MAX_COLS] = {0};

	if (ncols > CLI_TABLE_MAX_COLS)
		ncols = CLI_TABLE_MAX_COLS;
	for (size_t c = 0; c < ncols; c++) {
		w[c] = strlen(header[c]);
		for (size_t r = 0; r < nrows; r++) {
			const char *v = cells[r * ncols + c];
			size_t l = v ? strlen(v) : 0;
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = 0; r <= nrows; r++) {
		/* the last non-empty column ends the line, so no trailing spaces */
		size_t last = 0;
		for (size_t c = 0; c < ncols; c++) {
			const char *v = r == 0 ? header[c] : cells[(r - 1) * ncols + c];
			if (v && *v)
				last = c;
		}
		for (size_t c = 0; c <= last; c++) {
			const char *v = r == 0 ? header[c] : cells[(r - 1) * ncols + c];
			if (!v)
				v = "";
			if (c == last)
				fprintf(out, "%s\n", v);
			else
				fprintf(out, "%-*s   ", (int)w[c], v);
		}
	}
}
