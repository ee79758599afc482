/* sbx, the command-line client: global flags, help, and dispatch to one cmd_* per verb.
 * Owns nothing else: every verb's logic lives in its own cmd_*.c; never talks to sbxd here. */
#include "cli/cli.h"
#include "common/err.h"
#include "common/paths.h"

#include <string.h>

static const char main_help[] =
    "Usage: sbx [--help | --version] VERB [ARGS...]\n"
    "\n"
    "Run AI coding agents in their own microVMs.\n"
    "\n"
    "Verbs:\n"
    "  run AGENT|NAME [PATH]   start (creating if needed) a sandbox and attach to it\n"
    "  create AGENT [PATH]     create a sandbox, stopped\n"
    "  exec NAME CMD...        run a command in a sandbox (-i, -t, -d, -e, -w, -u)\n"
    "  ls                      list sandboxes (--json, -q)\n"
    "  stop NAME...            stop sandboxes\n"
    "  rm NAME...              delete sandboxes (-f: also running ones, --all)\n"
    "  reset                   delete every sandbox (--preserve-secrets)\n"
    "  ports NAME              list, publish (-p SPEC) and unpublish a sandbox's ports\n"
    "  policy VERB             network rules: allow, deny, ls, rm, check, log, set-default\n"
    "  secret VERB             API keys kept outside the VMs: set, set-custom, ls, rm\n"
    "  template ls|build|rm    manage agent templates\n"
    "  version                 show client and sbxd versions\n"
    "  help [VERB]             show help\n"
    "\n"
    "Run `sbx VERB --help` for a verb's options. Example:\n"
    "  sbx run shell           a shell in a microVM for the current directory\n";

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv, const struct sbx_paths *p);
};

static const struct verb verbs[] = {
    {"create", cmd_create}, {"run", cmd_run},	      {"exec", cmd_exec},
    {"ls", cmd_ls},	    {"stop", cmd_stop},	      {"rm", cmd_rm},
    {"reset", cmd_reset},   {"version", cmd_version}, {"template", cmd_template},
    {"policy", cmd_policy}, {"ports", cmd_ports},     {"secret", cmd_secret},
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static int dispatch(const struct verb *v, int argc, char **argv)
{
	struct sbx_paths p;

	if (sbx_paths_init(&p) < 0)
		return 1;
	return v->fn(argc, argv, &p);
}

int main(int argc, char **argv)
{
	sbx_prog = "sbx";
	if (argc < 2) {
		fputs(main_help, stdout);
		return 0;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		fputs(main_help, stdout);
		return 0;
	}
	if (strcmp(verb, "-v") == 0 || strcmp(verb, "--version") == 0) {
		printf("sbx %s\n", SBX_VERSION);
		return 0;
	}
	if (strcmp(verb, "help") == 0) {
		if (argc < 3) {
			fputs(main_help, stdout);
			return 0;
		}
		const struct verb *v = find_verb(argv[2]);
		if (!v) {
			sbx_err("unknown verb %s (see sbx --help)", argv[2]);
			return 1;
		}
		char *hargv[] = {argv[2], "--help", NULL};
		return dispatch(v, 2, hargv);
	}
	if (verb[0] == '-') {
		sbx_err("unknown flag %s (see sbx --help)", verb);
		return 1;
	}
	const struct verb *v = find_verb(verb);
	if (!v) {
		sbx_err("unknown verb %s (see sbx --help)", verb);
		return 1;
	}
	return dispatch(v, argc - 1, argv + 1);
}
