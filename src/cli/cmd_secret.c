/* `sbx secret ...`: API keys kept by sbxd outside every VM (set, set-custom, ls, rm),
 * through /v1/secrets. The value is read from a no-echo terminal prompt or from stdin, never
 * from argv (other users see argv in ps); it is never printed. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char secret_help[] =
    "Usage: sbx secret VERB [ARGS...]\n"
    "\n"
    "API keys kept by sbxd on the host, outside every sandbox. The value is read from a\n"
    "prompt that does not echo, or from stdin when it is not a terminal; never from the\n"
    "command line. sbx never prints a stored value. sbxd puts the key into the requests a\n"
    "sandbox sends to the service's hosts; inside, the agent's variable holds a sentinel\n"
    "(proxy-managed) or, for set-custom, a placeholder. A global key (-g) applies to\n"
    "sandboxes created after it is set; a sandbox's own key applies at once and wins. A key\n"
    "in the environment of `sbx create`/`sbx run` (e.g. ANTHROPIC_API_KEY) is used for the new\n"
    "sandbox when no stored one applies.\n"
    "\n"
    "Verbs:\n"
    "  set (-g | SANDBOX) SERVICE         store the key of a known service for sandboxes\n"
    "                                     created from now on (-g) or one sandbox\n"
    "  set-custom (-g | SANDBOX) --host HOST --env VAR [NAME]\n"
    "                                     store a key for another host; prints the\n"
    "                                     placeholder the sandbox sees in VAR\n"
    "  ls [--json]                        list secrets (never their values)\n"
    "  rm (-g | SANDBOX) SERVICE|NAME     remove one\n"
    "\n"
    "Services: %s\n"
    "\n"
    "Examples:\n"
    "  sbx secret set -g anthropic                  (asks for the key)\n"
    "  printf %%s \"$KEY\" | sbx secret set my-sandbox openai\n"
    "  sbx secret set-custom -g --host api.example.com --env EXAMPLE_KEY < key.txt\n";

static void print_help(FILE *f)
{
	char names[256];
	secret_service_names(names, sizeof(names));
	fprintf(f, secret_help, names);
}

/* "sbx: secret VERB: why (see sbx secret --help)"; returns 1. */
static int usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const char *verb, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbx_err("secret%s%s: %s (see sbx secret --help)", verb ? " " : "", verb ? verb : "", msg);
	return 1;
}

/* Parsed "[-g | SANDBOX] ARGS..." of one verb. */
struct sargs {
	bool global, json;
	const char *sandbox;
	const char *pos[4];
	int npos;
	int nall; /* positionals seen in all, scope included */
	const char *host, *env;
};

/* Parse @argv (argv[0] is the verb). @scoped: -g or a SANDBOX comes first. Return 0, -1
 * (help printed) or 1 (printed). Never prints a positional it does not understand: it may
 * be a key given by mistake. */
static int parse(int argc, char **argv, const char *verb, bool scoped, struct sargs *s)
{
	static const struct cli_opt opts[] = {
	    {'g', "global", CLI_ARG_NONE, 'g'},
	    {0, "json", CLI_ARG_NONE, 'j'},
	    {0, "host", CLI_ARG_VALUE, 'H'},
	    {0, "env", CLI_ARG_VALUE, 'e'},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	const char *all[6];
	int n = 0, id;

	memset(s, 0, sizeof(*s));
	cli_parser_init(&ps, argc, argv, "secret", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			print_help(stdout);
			return -1;
		case CLI_OPT_POSITIONAL:
			if (n < 6)
				all[n] = ps.value;
			n++;
			break;
		case 'g':
			s->global = true;
			break;
		case 'j':
			s->json = true;
			break;
		case 'H':
			s->host = ps.value;
			break;
		case 'e':
			s->env = ps.value;
			break;
		}
	}
	s->nall = n;
	if (n > 6)
		return usage(verb, "too many arguments");
	int i = 0;
	if (scoped && !s->global) {
		if (n == 0)
			return usage(verb, "give -g (global) or a SANDBOX name");
		s->sandbox = all[i++];
	}
	for (; i < n && s->npos < 4; i++)
		s->pos[s->npos++] = all[i];
	return 0;
}

static const char pipe_hint[] = "the key is never taken from the command line (others can read "
				"it in ps); pipe it: printf %s \"$KEY\" | sbx secret %s";

static struct termios tty_saved;
static volatile sig_atomic_t tty_changed;

static void on_signal(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read the value into @buf (@cap bytes, > SECRET_VALUE_MAX + 2): from a no-echo prompt on a
 * terminal, else all of stdin with one trailing newline dropped. Return 0 or 1 (printed). */
static int read_value(const char *verb, const char *what, char *buf, size_t cap)
{
	size_t len = 0;

	if (isatty(STDIN_FILENO)) {
		struct termios t;
		if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
			return usage(verb, "cannot read the terminal: %s", strerror(errno));
		t = tty_saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		tty_changed = 1;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		fprintf(stderr, "Key for %s (not shown): ", what);
		fflush(stderr);
		bool ok = fgets(buf, (int)cap, stdin) != NULL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
		tty_changed = 0;
		fputc('\n', stderr);
		if (!ok)
			buf[0] = '\0';
		len = strlen(buf);
	} else {
		for (;;) {
			ssize_t r = read(STDIN_FILENO, buf + len, cap - 1 - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return usage(verb, "cannot read stdin: %s", strerror(errno));
			if (r == 0)
				break;
			len += (size_t)r;
			if (len == cap - 1)
				break;
		}
		buf[len] = '\0';
		if (memchr(buf, '\0', len))
			return usage(verb, "the key holds a NUL byte");
	}
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0)
		return usage(verb, "empty key (type it at the prompt, or pipe it on stdin)");
	if (len > SECRET_VALUE_MAX)
		return usage(verb, "the key is longer than %d bytes", SECRET_VALUE_MAX);
	if (!secret_value_valid(buf))
		return usage(verb, "the key must be printable ASCII: no control characters, no "
				   "second line, no leading or trailing space");
	return 0;
}

/* One request; a non-2xx answer prints "secret VERB: <sbxd's error>". Return 0 with @r to
 * free, or 1 (printed; @r freed). */
static int call(struct api *a, const char *verb, const char *method, const char *path, json_t *body,
		struct api_resp *r)
{
	if (api_call(a, method, path, body, API_TIMEOUT_SHORT, r) < 0) {
		api_resp_free(r);
		return 1;
	}
	if (r->status < 200 || r->status > 299) {
		if (r->error[0])
			sbx_err("secret %s: %s", verb, r->error);
		else
			api_print_error(r);
		api_resp_free(r);
		return 1;
	}
	return 0;
}

static const char *scope_text(const struct sargs *s, char *buf, size_t len)
{
	if (s->sandbox)
		snprintf(buf, len, "sandbox %s", s->sandbox);
	else
		snprintf(buf, len, "sandboxes created from now on");
	return buf;
}

/* Send @body (holding the value) and report. */
static int send_secret(struct api *a, const char *verb, const char *path, json_t *body,
		       const struct sargs *s, bool custom)
{
	struct api_resp r;
	char sc[80];

	int rc = call(a, verb, "POST", path, body, &r);
	if (rc)
		return rc;
	if (r.status == 200 && !s->sandbox)
		printf("Replaced secret %s (the sandboxes it applies to use the new key now)\n",
		       api_str(r.json, "service"));
	else
		printf("%s secret %s for %s\n", r.status == 200 ? "Replaced" : "Stored",
		       api_str(r.json, "service"), scope_text(s, sc, sizeof(sc)));
	if (r.status != 200 && !s->sandbox)
		printf(
		    "(existing sandboxes keep what they have: sbx secret %s SANDBOX ... for one)\n",
		    verb);
	if (custom)
		printf("Placeholder (the sandbox sees it in %s): %s\n", api_str(r.json, "env"),
		       api_str(r.json, "placeholder"));
	api_resp_free(&r);
	return 0;
}

static int secret_set(struct api *a, int argc, char **argv)
{
	static char value[SECRET_VALUE_MAX + 3];
	struct sargs s;
	char what[96];

	int pr = parse(argc, argv, "set", true, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.host || s.env || s.json)
		return usage("set", "--host, --env and --json are not for set (see set-custom)");
	if (s.npos > 1 || (s.sandbox && s.npos == 1 && secret_service_find(s.sandbox) &&
			   !secret_service_find(s.pos[0])))
		return usage("set", pipe_hint, "%s",
			     s.global ? "set -g SERVICE" : "set SANDBOX SERVICE");
	if (s.npos == 0 && s.sandbox && secret_service_find(s.sandbox))
		return usage("set", "give -g (global) or a SANDBOX name before %s", s.sandbox);
	if (s.npos == 0)
		return usage("set", "missing SERVICE");
	if (s.sandbox && !cli_name_valid(s.sandbox))
		return usage("set", "that is not a sandbox name");
	if (!secret_service_find(s.pos[0])) {
		char names[256];
		secret_service_names(names, sizeof(names));
		return usage("set",
			     "unknown service '%s' (known: %s; for another host use set-custom)",
			     secret_name_valid(s.pos[0]) ? s.pos[0] : "?", names);
	}
	snprintf(what, sizeof(what), "%s", s.pos[0]);
	if (read_value("set", what, value, sizeof(value)))
		return 1;
	json_t *body = json_pack("{s:s,s:s}", "service", s.pos[0], "value", value);
	OPENSSL_cleanse(value, sizeof(value));
	if (s.sandbox)
		json_object_set_new(body, "sandbox", json_string(s.sandbox));
	int rc = send_secret(a, "set", "/v1/secrets", body, &s, false);
	json_decref(body);
	return rc;
}

static int secret_set_custom(struct api *a, int argc, char **argv)
{
	static char value[SECRET_VALUE_MAX + 3];
	struct sargs s;

	int pr = parse(argc, argv, "set-custom", true, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos > 1)
		return usage("set-custom", pipe_hint, "%s", "set-custom ... --host HOST --env VAR");
	if (!s.host || !s.env)
		return usage("set-custom", "give --host HOST and --env VAR");
	if (s.sandbox && !cli_name_valid(s.sandbox))
		return usage("set-custom", "that is not a sandbox name");
	if (!secret_host_valid(s.host))
		return usage("set-custom", "bad host: give a host name such as api.example.com");
	if (!secret_env_valid(s.env))
		return usage("set-custom", "bad variable name: give [A-Za-z_][A-Za-z0-9_]*");
	if (s.npos == 1 && !secret_name_valid(s.pos[0]))
		return usage("set-custom", "bad NAME: give [a-z0-9][a-z0-9._-]*");
	if (read_value("set-custom", s.host, value, sizeof(value)))
		return 1;
	json_t *body = json_pack("{s:s,s:s,s:s}", "host", s.host, "env", s.env, "value", value);
	OPENSSL_cleanse(value, sizeof(value));
	if (s.sandbox)
		json_object_set_new(body, "sandbox", json_string(s.sandbox));
	if (s.npos == 1)
		json_object_set_new(body, "name", json_string(s.pos[0]));
	int rc = send_secret(a, "set-custom", "/v1/secrets/custom", body, &s, true);
	json_decref(body);
	return rc;
}

static int secret_ls(struct api *a, int argc, char **argv)
{
	static const char *const header[] = {"SERVICE", "SCOPE", "KIND", "SOURCE", "HOST", "ENV"};
	struct api_resp r;
	struct sargs s;

	int pr = parse(argc, argv, "ls", false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.nall || s.global || s.host || s.env)
		return usage("ls", "takes only --json");
	if (call(a, "ls", "GET", "/v1/secrets", NULL, &r))
		return 1;
	if (s.json) {
		fputs(r.body, stdout);
		api_resp_free(&r);
		return 0;
	}
	size_t n = json_array_size(r.json);
	const char **cells = calloc(n * 6 + 1, sizeof(*cells));
	if (!cells) {
		api_resp_free(&r);
		return usage("ls", "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(r.json, i);
		cells[i * 6 + 0] = api_str(o, "service");
		cells[i * 6 + 1] = api_str(o, "scope");
		cells[i * 6 + 2] = api_str(o, "kind");
		cells[i * 6 + 3] = strcmp(api_str(o, "source"), "env") == 0 ? "host env" : "stored";
		cells[i * 6 + 4] = api_str(o, "host");
		cells[i * 6 + 5] = api_str(o, "env");
	}
	cli_table_print(stdout, header, 6, cells, n);
	free(cells);
	api_resp_free(&r);
	return 0;
}

static int secret_rm(struct api *a, int argc, char **argv)
{
	struct api_resp r;
	struct sargs s;
	char path[256], sc[80];

	int pr = parse(argc, argv, "rm", true, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos != 1)
		return usage("rm", s.npos ? "give one SERVICE or NAME" : "missing SERVICE or NAME");
	if (s.sandbox && !cli_name_valid(s.sandbox))
		return usage("rm", "that is not a sandbox name");
	if (!secret_name_valid(s.pos[0]))
		return usage("rm", "that is not a secret's name (see sbx secret ls)");
	snprintf(path, sizeof(path), "/v1/secrets/%s%s%s", s.pos[0], s.sandbox ? "?sandbox=" : "",
		 s.sandbox ? s.sandbox : "");
	if (call(a, "rm", "DELETE", path, NULL, &r))
		return 1;
	api_resp_free(&r);
	printf("Removed secret %s for %s\n", s.pos[0], scope_text(&s, sc, sizeof(sc)));
	return 0;
}

/**
 * cmd_secret() - `sbx secret VERB ...`; argv[0] is "secret".
 */
int cmd_secret(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct {
		const char *name;
		int (*fn)(struct api *a, int argc, char **argv);
	} verbs[] = {
	    {"set", secret_set},
	    {"set-custom", secret_set_custom},
	    {"ls", secret_ls},
	    {"rm", secret_rm},
	};
	struct api a;
	size_t i;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, argv[1]) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0]))
		return usage(NULL, "unknown verb '%s'", secret_name_valid(argv[1]) ? argv[1] : "?");
	if (api_init(&a, p) < 0)
		return 1;
	int rc = verbs[i].fn(&a, argc - 1, argv + 1);
	api_close(&a);
	return rc;
}
