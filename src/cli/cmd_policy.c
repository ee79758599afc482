/* `sbx policy ...`: network rules (allow, deny, ls, rm, check), the default preset
 * (set-default, and the first-use question create/run ask), the network log and reset, all
 * through sbxd's /v1/policies and /v1/policy/ endpoints. Never decides a rule itself. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char policy_help[] =
    "Usage: sbx policy VERB [ARGS...]\n"
    "\n"
    "Network policy: what sandboxes may reach. Nothing is allowed until a rule or the\n"
    "default preset allows it; a deny rule always wins over an allow rule.\n"
    "\n"
    "Verbs:\n"
    "  allow network (-g | SANDBOX) RESOURCES   allow RESOURCES for every sandbox (-g) or one\n"
    "  deny network (-g | SANDBOX) RESOURCES    deny them (wins over every allow)\n"
    "  ls [--json]                              list policies\n"
    "  rm NAME                                  remove a user policy (allow-3, deny-4)\n"
    "  rm network (-g | SANDBOX) --resource R   take R out of the user policies of that scope\n"
    "  set-default allow-all|balanced|deny-all  choose the default preset\n"
    "  check (-g | SANDBOX) HOST[:PORT]         would a connection be allowed? (exit 0 allow,\n"
    "                                           1 deny, 2 error)\n"
    "  log [SANDBOX] [--json]                   blocked and allowed connections, counted\n"
    "  reset [-f]                               remove every policy, the preset choice and\n"
    "                                           the log (asks on a terminal)\n"
    "\n"
    "RESOURCES is a comma-separated list of:\n"
    "  host          exactly that name (not its subdomains)  api.example.com\n"
    "  *.domain      one more label                          *.example.com\n"
    "  **.domain     any number of labels more               **.example.com\n"
    "  **            everything\n"
    "  IP, CIDR      an address or network                   10.1.2.3, 192.168.0.0/16\n"
    "  each may end in :PORT (only that port)                github.com:22, [::1]:8080\n"
    "Private, loopback and link-local addresses stay blocked unless a rule names that\n"
    "exact host or address.\n"
    "\n"
    "Examples:\n"
    "  sbx policy set-default balanced\n"
    "  sbx policy allow network -g \"pypi.org,files.pythonhosted.org\"\n"
    "  sbx policy deny network my-sandbox \"**.example.com\"\n"
    "  sbx policy check my-sandbox api.anthropic.com:443\n";

/* "sbx: policy VERB: why (see sbx policy --help)"; returns 1. */
static int usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const char *verb, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbx_err("policy%s%s: %s (see sbx policy --help)", verb ? " " : "", verb ? verb : "", msg);
	return 1;
}

/* Percent-encode @in for a URL query value or path segment into @out (@len bytes). */
static void url_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char ch = (unsigned char)*in;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
		    ch == '*') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

/* One request; on a non-@want status prints the error as "policy VERB: ...". Return: 0 with
 * @r to free, or 1 (printed; @r freed). */
static int call(struct api *a, const char *verb, const char *method, const char *path, json_t *body,
		long want, struct api_resp *r)
{
	if (api_call(a, method, path, body, API_TIMEOUT_SHORT, r) < 0) {
		api_resp_free(r);
		return 1;
	}
	if (r->status != want && !(want == 201 && r->status == 200)) {
		if (r->error[0])
			sbx_err("policy %s: %s", verb, r->error);
		else
			api_print_error(r);
		api_resp_free(r);
		return 1;
	}
	return 0;
}

/* Parse "[-g | SANDBOX] ARGS..." after the type word. @nmin: positionals needed after the
 * scope. Return 0 with *@scope (NULL: global) and @pos/@npos, or 1 (printed). */
struct scoped {
	bool global;
	const char *sandbox;
	const char *pos[16];
	int npos;
	const char *resource; /* --resource (rm) */
	bool json, force;
};

static int parse_scoped(int argc, char **argv, const char *verb, bool want_type, bool scope_req,
			struct scoped *s)
{
	static const struct cli_opt opts[] = {
	    {'g', "global", CLI_ARG_NONE, 'g'},
	    {0, "resource", CLI_ARG_VALUE, 'r'},
	    {0, "json", CLI_ARG_NONE, 'j'},
	    {'f', "force", CLI_ARG_NONE, 'f'},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	const char *all[18];
	int n = 0, id;

	memset(s, 0, sizeof(*s));
	cli_parser_init(&ps, argc, argv, "policy", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(policy_help, stdout);
			return -1;
		case CLI_OPT_POSITIONAL:
			if (n == 18)
				return usage(verb, "too many arguments");
			all[n++] = ps.value;
			break;
		case 'g':
			s->global = true;
			break;
		case 'r':
			s->resource = ps.value;
			break;
		case 'j':
			s->json = true;
			break;
		case 'f':
			s->force = true;
			break;
		}
	}
	int i = 0;
	if (want_type) {
		if (n == 0)
			return usage(verb, "missing the type (network)");
		if (strcmp(all[0], "network") != 0)
			return usage(verb, "unknown policy type '%s' (only network)", all[0]);
		i = 1;
	}
	if (scope_req) {
		/* after the scope: one RESOURCES argument, none for rm (it takes --resource) */
		int need = strcmp(verb, "rm") == 0 ? 0 : 1;
		if (s->global && n - i > need)
			return usage(verb, "-g and a SANDBOX (%s) exclude each other", all[i]);
		if (!s->global) {
			if (n - i <= need)
				return usage(verb,
					     "give -g (every sandbox) or a SANDBOX "
					     "name%s",
					     need ? " before the resources" : "");
			s->sandbox = all[i++];
			if (!cli_name_valid(s->sandbox))
				return usage(verb, "'%s' is not a sandbox name", s->sandbox);
		}
		if (n - i > need)
			return usage(verb,
				     "unexpected argument '%s' (quote the list: "
				     "\"a.com,b.com\")",
				     all[i + need]);
	}
	for (; i < n; i++)
		s->pos[s->npos++] = all[i];
	return 0;
}

/* `allow|deny network (-g | SANDBOX) RESOURCES`. */
static int policy_add(struct api *a, const char *decision, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;

	int pr = parse_scoped(argc, argv, decision, true, true, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos != 1)
		return usage(decision,
			     "missing RESOURCES (e.g. \"api.example.com,*.example.org\")");
	json_t *body = json_pack("{s:s,s:s}", "decision", decision, "resources", s.pos[0]);
	if (s.sandbox)
		json_object_set_new(body, "sandbox", json_string(s.sandbox));
	int rc = call(a, decision, "POST", "/v1/policies", body, 201, &r);
	json_decref(body);
	if (rc)
		return rc;
	json_t *list = json_object_get(r.json, "resources");
	printf("%s %s: %s %zu resource(s) for %s%s\n", r.status == 200 ? "Already have" : "Added",
	       api_str(r.json, "name"), decision, json_array_size(list),
	       s.sandbox ? "sandbox " : "every sandbox", s.sandbox ? s.sandbox : "");
	api_resp_free(&r);
	return 0;
}

/* "a, b, c" of a resources array, cut after about @max characters. */
static void resources_text(const json_t *list, char *out, size_t len, size_t max)
{
	size_t used = 0, i, n = json_array_size(list);

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *one = json_string_value(json_array_get(list, i));
		if (!one)
			continue;
		if (used && used + strlen(one) + 2 > max) {
			snprintf(out + used, len - used, ", ... (%zu in all)", n);
			return;
		}
		int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", one);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

static int policy_ls(struct api *a, int argc, char **argv)
{
	static const char *const header[] = {"NAME",  "TYPE",	"ORIGIN",   "DECISION",
					     "SCOPE", "STATUS", "RESOURCES"};
	struct scoped s;
	struct api_resp r;

	int pr = parse_scoped(argc, argv, "ls", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos || s.global || s.resource)
		return usage("ls", "takes only --json");
	if (call(a, "ls", "GET", "/v1/policies", NULL, 200, &r))
		return 1;
	if (s.json) {
		json_dumpf(r.json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		api_resp_free(&r);
		return 0;
	}
	size_t n = json_array_size(r.json);
	const char **cells = calloc(n ? n * 7 : 1, sizeof(*cells));
	char(*res)[128] = calloc(n ? n : 1, sizeof(*res));
	if (!cells || !res) {
		sbx_err("policy ls: out of memory (free some memory)");
		free(cells);
		free(res);
		api_resp_free(&r);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(r.json, i);
		resources_text(json_object_get(p, "resources"), res[i], sizeof(res[i]), 70);
		cells[i * 7 + 0] = api_str(p, "name");
		cells[i * 7 + 1] = api_str(p, "type");
		cells[i * 7 + 2] = api_str(p, "origin");
		cells[i * 7 + 3] = api_str(p, "decision");
		cells[i * 7 + 4] = api_str(p, "scope");
		cells[i * 7 + 5] = api_str(p, "status");
		cells[i * 7 + 6] = res[i];
	}
	cli_table_print(stdout, header, 7, cells, n);
	free(cells);
	free(res);
	api_resp_free(&r);
	return 0;
}

static int policy_rm(struct api *a, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;
	char path[1024], enc[768], encs[160];

	if (argc >= 2 && strcmp(argv[1], "network") == 0) {
		int pr = parse_scoped(argc, argv, "rm", true, true, &s);
		if (pr)
			return pr < 0 ? 0 : 1;
		if (!s.resource || s.npos)
			return usage("rm", "give the pattern as --resource R (or remove a "
					   "whole policy: sbx policy rm NAME)");
		url_encode(s.resource, enc, sizeof(enc));
		url_encode(s.sandbox ? s.sandbox : "", encs, sizeof(encs));
		snprintf(path, sizeof(path), "/v1/policies?resource=%s%s%s", enc,
			 s.sandbox ? "&sandbox=" : "", s.sandbox ? encs : "");
		if (call(a, "rm", "DELETE", path, NULL, 200, &r))
			return 1;
		printf("Removed %s from %lld policy(ies)\n", s.resource,
		       (long long)json_integer_value(json_object_get(r.json, "changed")));
		api_resp_free(&r);
		return 0;
	}
	int pr = parse_scoped(argc, argv, "rm", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos != 1 || s.global || s.resource)
		return usage("rm", "give one policy NAME (see sbx policy ls) or "
				   "network (-g | SANDBOX) --resource R");
	url_encode(s.pos[0], enc, sizeof(enc));
	snprintf(path, sizeof(path), "/v1/policies/%s", enc);
	if (call(a, "rm", "DELETE", path, NULL, 204, &r))
		return 1;
	printf("Removed policy %s\n", s.pos[0]);
	api_resp_free(&r);
	return 0;
}

static int policy_set_default(struct api *a, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;

	int pr = parse_scoped(argc, argv, "set-default", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos != 1 || s.global || s.resource)
		return usage("set-default", "give one of allow-all, balanced, "
					    "deny-all");
	json_t *body = json_pack("{s:s}", "preset", s.pos[0]);
	int rc = call(a, "set-default", "PUT", "/v1/policy/default", body, 200, &r);
	json_decref(body);
	if (rc)
		return 1;
	printf("Default network policy: %s (%lld allowed pattern(s); your own rules stay)\n",
	       api_str(r.json, "preset"),
	       (long long)json_integer_value(json_object_get(r.json, "patterns")));
	api_resp_free(&r);
	return 0;
}

/* "host", "host:443", "1.2.3.4:80", "[::1]:443", "::1" -> host and port text ("" if none).
 * Return 0, or -1 if malformed. */
static int split_host_port(const char *in, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	size_t l;

	port[0] = '\0';
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (!close || (close[1] && close[1] != ':'))
			return -1;
		l = (size_t)(close - in - 1);
		if (close[1] == ':')
			snprintf(port, plen, "%s", close + 2);
		in++;
	} else if ((colon = strchr(in, ':')) && !strchr(colon + 1, ':')) {
		l = (size_t)(colon - in);
		snprintf(port, plen, "%s", colon + 1);
	} else {
		l = strlen(in);
	}
	if (l == 0 || l >= hlen || (port[0] == '\0' && strchr(in, ']') && in[l + 1] == ':'))
		return -1;
	memcpy(host, in, l);
	host[l] = '\0';
	return 0;
}

static int policy_check(struct api *a, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;
	char host[300], port[16], path[2048], eh[900], es[160], ep[48];

	int pr = parse_scoped(argc, argv, "check", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 2;
	if (!s.global && s.npos == 2)
		s.sandbox = s.pos[0];
	if (s.resource || (s.global ? s.npos != 1 : s.npos != 2))
		return usage("check", "give SANDBOX HOST[:PORT] (or -g HOST[:PORT])"), 2;
	if (s.sandbox && !cli_name_valid(s.sandbox))
		return usage("check", "'%s' is not a sandbox name", s.sandbox), 2;
	const char *target = s.pos[s.npos - 1];
	if (split_host_port(target, host, sizeof(host), port, sizeof(port)) < 0 ||
	    (s.npos == 2 && port[0] == '\0' && target[strlen(target) - 1] == ':'))
		return usage("check", "bad HOST[:PORT] '%s'", target), 2;
	url_encode(host, eh, sizeof(eh));
	url_encode(port, ep, sizeof(ep));
	url_encode(s.sandbox ? s.sandbox : "", es, sizeof(es));
	snprintf(path, sizeof(path), "/v1/policy/check?host=%s%s%s%s%s", eh,
		 port[0] ? "&port=" : "", ep, s.sandbox ? "&sandbox=" : "", es);
	if (call(a, "check", "GET", path, NULL, 200, &r))
		return 2;
	bool allow = strcmp(api_str(r.json, "decision"), "allow") == 0;
	json_t *rule = json_object_get(r.json, "rule");
	if (json_is_object(rule))
		printf("%s (rule %s: %s)\n", allow ? "allow" : "deny", api_str(rule, "name"),
		       api_str(rule, "resource"));
	else
		printf("%s (%s)\n", allow ? "allow" : "deny",
		       strstr(api_str(r.json, "reason"), "default deny")
			   ? "default deny"
			   : api_str(r.json, "reason"));
	if (*api_str(r.json, "connect"))
		printf("but %s\n", api_str(r.json, "connect"));
	api_resp_free(&r);
	return allow ? 0 : 1;
}

static void log_table(const char *title, const json_t *rows)
{
	static const char *const header[] = {"SANDBOX", "TYPE",	  "HOST",      "PROXY",
					     "RULE",	"REASON", "LAST-SEEN", "COUNT"};
	size_t n = json_array_size(rows);
	const char **cells = calloc(n ? n * 8 : 1, sizeof(*cells));
	char(*hp)[300] = calloc(n ? n : 1, sizeof(*hp));
	char(*cnt)[24] = calloc(n ? n : 1, sizeof(*cnt));

	printf("%s\n", title);
	if (!cells || !hp || !cnt) {
		sbx_err("policy log: out of memory (free some memory)");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *row = json_array_get(rows, i);
		long long port = json_integer_value(json_object_get(row, "port"));
		const char *h = api_str(row, "host");
		if (port)
			snprintf(hp[i], sizeof(hp[i]), strchr(h, ':') ? "[%s]:%lld" : "%s:%lld", h,
				 port);
		else
			snprintf(hp[i], sizeof(hp[i]), "%s", h);
		snprintf(cnt[i], sizeof(cnt[i]), "%lld",
			 (long long)json_integer_value(json_object_get(row, "count")));
		cells[i * 8 + 0] = api_str(row, "sandbox");
		cells[i * 8 + 1] = api_str(row, "type");
		cells[i * 8 + 2] = hp[i];
		cells[i * 8 + 3] = api_str(row, "proxy");
		cells[i * 8 + 4] = *api_str(row, "rule") ? api_str(row, "rule") : "(default)";
		cells[i * 8 + 5] = api_str(row, "reason");
		cells[i * 8 + 6] = api_str(row, "last_seen");
		cells[i * 8 + 7] = cnt[i];
	}
	cli_table_print(stdout, header, 8, cells, n);
out:
	free(cells);
	free(hp);
	free(cnt);
}

static int policy_log(struct api *a, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;
	char path[256], es[160];

	int pr = parse_scoped(argc, argv, "log", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos > 1 || s.global || s.resource)
		return usage("log", "takes [SANDBOX] [--json]");
	if (s.npos && !cli_name_valid(s.pos[0]))
		return usage("log", "'%s' is not a sandbox name", s.pos[0]);
	url_encode(s.npos ? s.pos[0] : "", es, sizeof(es));
	snprintf(path, sizeof(path), "/v1/policy/log%s%s", s.npos ? "?sandbox=" : "", es);
	if (call(a, "log", "GET", path, NULL, 200, &r))
		return 1;
	if (s.json) {
		json_dumpf(r.json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		log_table("Blocked", json_object_get(r.json, "blocked"));
		putchar('\n');
		log_table("Allowed", json_object_get(r.json, "allowed"));
	}
	api_resp_free(&r);
	return 0;
}

static int policy_reset(struct api *a, int argc, char **argv)
{
	struct scoped s;
	struct api_resp r;
	char line[64] = "";

	int pr = parse_scoped(argc, argv, "reset", false, false, &s);
	if (pr)
		return pr < 0 ? 0 : 1;
	if (s.npos || s.global || s.resource || s.json)
		return usage("reset", "takes only -f");
	if (!s.force) {
		if (!isatty(STDIN_FILENO)) {
			sbx_err(
			    "policy reset: no terminal to confirm on (use sbx policy reset -f)");
			return 1;
		}
		fputs("This removes every network policy, the default preset and the network "
		      "log. Continue? [y/N] ",
		      stderr);
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin) ||
		    (strcmp(line, "y\n") != 0 && strcmp(line, "Y\n") != 0 &&
		     strcmp(line, "yes\n") != 0)) {
			fputs("Nothing removed.\n", stderr);
			return 1;
		}
	}
	if (call(a, "reset", "POST", "/v1/policy/reset", NULL, 204, &r))
		return 1;
	api_resp_free(&r);
	printf("Network policy reset: nothing is allowed until you choose a default (sbx policy "
	       "set-default balanced)\n");
	return 0;
}

void cli_policy_first_use(struct api *a, bool quiet)
{
	static const char *const names[] = {"balanced", "allow-all", "deny-all"};
	struct api_resp r;
	char line[64];
	const char *pick = NULL;

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return; /* never ask, never block: default deny until set-default */
	if (api_call(a, "GET", "/v1/policy/default", NULL, API_TIMEOUT_SHORT, &r) < 0 ||
	    r.status != 200 || !json_is_null(json_object_get(r.json, "preset"))) {
		api_resp_free(&r);
		return;
	}
	api_resp_free(&r);
	for (int tries = 0; tries < 3 && !pick; tries++) {
		fputs("Network policy for sandboxes: 1) balanced (recommended) 2) allow-all "
		      "3) deny-all [1]: ",
		      stderr);
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin))
			break;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || strcmp(line, "1") == 0)
			pick = names[0];
		else if (strcmp(line, "2") == 0)
			pick = names[1];
		else if (strcmp(line, "3") == 0)
			pick = names[2];
		for (size_t i = 0; i < 3 && !pick; i++)
			if (strcmp(line, names[i]) == 0)
				pick = names[i];
	}
	if (!pick) {
		fputs("No default chosen: nothing is allowed out (sbx policy set-default "
		      "balanced)\n",
		      stderr);
		return;
	}
	json_t *body = json_pack("{s:s}", "preset", pick);
	if (call(a, "set-default", "PUT", "/v1/policy/default", body, 200, &r) == 0) {
		if (!quiet)
			fprintf(stderr,
				"Network policy: %s (change it with sbx policy set-default)\n",
				pick);
		api_resp_free(&r);
	}
	json_decref(body);
}

/**
 * cmd_policy() - `sbx policy VERB ...` (argv[0] is "policy").
 */
int cmd_policy(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct {
		const char *name;
		int (*fn)(struct api *a, int argc, char **argv);
	} verbs[] = {
	    {"ls", policy_ls},	     {"rm", policy_rm},	  {"set-default", policy_set_default},
	    {"check", policy_check}, {"log", policy_log}, {"reset", policy_reset},
	};
	struct api a;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(policy_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	const char *verb = argv[1];
	bool add = strcmp(verb, "allow") == 0 || strcmp(verb, "deny") == 0;
	size_t i = 0;
	for (; !add && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, verb) == 0)
			break;
	if (!add && i == sizeof(verbs) / sizeof(verbs[0]))
		return usage(NULL, "unknown verb '%s'", verb);
	if (api_init(&a, p) < 0)
		return strcmp(verb, "check") == 0 ? 2 : 1;
	int rc =
	    add ? policy_add(&a, verb, argc - 1, argv + 1) : verbs[i].fn(&a, argc - 1, argv + 1);
	api_close(&a);
	return rc;
}
