/* `sbx reset [-f] [--preserve-secrets]`: stop and delete every sandbox, the network policy
 * and the stored secrets (templates and the cache stay). Asks on a
 * terminal; without one it needs -f. Never deletes anything without that confirmation. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

#include <string.h>
#include <unistd.h>

static const char reset_help[] =
    "Usage: sbx reset [-f] [--preserve-secrets]\n"
    "\n"
    "Stop and delete every sandbox with its disk, reset the network policy (rules,\n"
    "the default preset, the log) and delete the stored secrets (sbx secret).\n"
    "Templates and the kernel cache are kept. Asks for confirmation on a terminal.\n"
    "\n"
    "Options:\n"
    "  -f, --force          do not ask (required when not on a terminal)\n"
    "  --preserve-secrets   keep the stored secrets\n"
    "  -h, --help           show this help\n";

/**
 * cmd_reset() - `sbx reset [-f] [--preserve-secrets]`.
 */
int cmd_reset(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {'f', "force", CLI_ARG_NONE, 'f'},
	    {0, "preserve-secrets", CLI_ARG_NONE, 's'},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	bool force = false, keep_secrets = false;
	int id;

	cli_parser_init(&ps, argc, argv, "reset", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(reset_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			return cli_usage_error("reset", "unexpected argument '%s'", ps.value);
		case 'f':
			force = true;
			break;
		case 's':
			keep_secrets = true;
			break;
		}
	}
	if (!force) {
		char line[64] = "";
		if (!isatty(STDIN_FILENO)) {
			sbx_err("reset: no terminal to confirm on (use sbx reset -f)");
			return 1;
		}
		if (!keep_secrets)
			fputs("Stored secrets are deleted too (--preserve-secrets keeps them).\n",
			      stderr);
		fputs("This deletes every sandbox. Continue? [y/N] ", stderr);
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin) ||
		    (strcmp(line, "y\n") != 0 && strcmp(line, "Y\n") != 0 &&
		     strcmp(line, "yes\n") != 0)) {
			fputs("Nothing deleted.\n", stderr);
			return 1;
		}
	}

	struct api a;
	struct api_resp r;
	int rc = 1;
	if (api_init(&a, p) < 0)
		return 1;
	if (api_call(&a, "POST", keep_secrets ? "/v1/reset?preserve_secrets=1" : "/v1/reset", NULL,
		     API_TIMEOUT_RESET, &r) == 0) {
		if (r.status == 204 || r.status == 200)
			rc = 0;
		else
			api_print_error(&r);
	}
	api_resp_free(&r);
	api_close(&a);
	return rc;
}
