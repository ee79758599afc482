/* `sbx rm [-f] [--all] NAME...`: delete sandboxes and all their state. Refuses a running one
 * unless -f; never deletes anything it was not named (or --all) for. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static const char rm_help[] =
    "Usage: sbx rm [OPTIONS] NAME...\n"
    "\n"
    "Delete sandboxes with their disks and logs. A running sandbox is refused\n"
    "unless -f is given (it is stopped first).\n"
    "\n"
    "Options:\n"
    "  -f, --force   stop running sandboxes first\n"
    "      --all     delete every sandbox\n"
    "  -h, --help    show this help\n";

static int rm_one(struct api *a, const char *name, bool force)
{
	char path[160];
	struct api_resp r;
	int rc = 1;

	if (!cli_name_valid(name)) {
		sbx_err("no sandbox named %s (see sbx ls)", name);
		return 1;
	}
	snprintf(path, sizeof(path), "/v1/sandboxes/%s%s", name, force ? "?force=1" : "");
	if (api_call(a, "DELETE", path, NULL, force ? API_TIMEOUT_STOP : API_TIMEOUT_SHORT, &r) < 0)
		goto out;
	if (r.status == 404)
		sbx_err("no sandbox named %s (see sbx ls)", name);
	else if (r.status == 409 && !force)
		sbx_err("sandbox %s is running (stop it first or use rm -f)", name);
	else if (r.status != 204 && r.status != 200)
		api_print_error(&r);
	else {
		printf("%s\n", name);
		rc = 0;
	}
out:
	api_resp_free(&r);
	return rc;
}

/**
 * cmd_rm() - `sbx rm [-f] [--all] NAME...`.
 */
int cmd_rm(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {'f', "force", CLI_ARG_NONE, 'f'},
	    {0, "all", CLI_ARG_NONE, 'a'},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	const char *names[256];
	int n = 0, id, failed = 0;
	bool force = false, all = false;

	cli_parser_init(&ps, argc, argv, "rm", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(rm_help, stdout);
			return 0;
		case 'f':
			force = true;
			break;
		case 'a':
			all = true;
			break;
		case CLI_OPT_POSITIONAL:
			if (n == 256)
				return cli_usage_error("rm", "too many names (at most 256)");
			names[n++] = ps.value;
			break;
		}
	}
	if (all && n)
		return cli_usage_error("rm", "give either --all or names, not both");
	if (!all && n == 0)
		return cli_usage_error("rm", "missing NAME (or --all)");

	struct api a;
	if (api_init(&a, p) < 0)
		return 1;
	if (all) {
		struct api_resp r;
		size_t i;
		if (api_call(&a, "GET", "/v1/sandboxes", NULL, API_TIMEOUT_SHORT, &r) < 0) {
			failed = 1;
		} else if (r.status != 200 || !json_is_array(r.json)) {
			api_print_error(&r);
			failed = 1;
		} else {
			for (i = 0; i < json_array_size(r.json); i++)
				failed |=
				    rm_one(&a, api_str(json_array_get(r.json, i), "name"), force);
		}
		api_resp_free(&r);
	}
	for (int i = 0; i < n; i++)
		failed |= rm_one(&a, names[i], force);
	api_close(&a);
	return failed;
}
