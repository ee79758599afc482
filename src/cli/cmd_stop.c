/* `sbx stop NAME...`: ask sbxd to shut each sandbox down cleanly. Keeps going past a failed
 * name and reports each failure on its own line; never deletes anything. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

static const char stop_help[] =
    "Usage: sbx stop NAME...\n"
    "\n"
    "Stop sandboxes (clean guest shutdown). Their disks are kept; start them again\n"
    "with `sbx run NAME` or `sbx exec NAME CMD`.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

/**
 * cmd_stop() - `sbx stop NAME...`.
 */
int cmd_stop(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {{0, NULL, 0, 0}};
	struct cli_parser ps;
	const char *names[256];
	int n = 0, id, failed = 0;

	cli_parser_init(&ps, argc, argv, "stop", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		if (id == CLI_OPT_ERROR)
			return 1;
		if (id == CLI_OPT_HELP) {
			fputs(stop_help, stdout);
			return 0;
		}
		if (n == 256)
			return cli_usage_error("stop", "too many names (at most 256)");
		names[n++] = ps.value;
	}
	if (n == 0)
		return cli_usage_error("stop", "missing NAME");

	struct api a;
	if (api_init(&a, p) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		char path[128];
		struct api_resp r;

		if (!cli_name_valid(names[i])) {
			sbx_err("no sandbox named %s (see sbx ls)", names[i]);
			failed = 1;
			continue;
		}
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/stop", names[i]);
		if (api_call(&a, "POST", path, NULL, API_TIMEOUT_STOP, &r) < 0) {
			failed = 1;
		} else if (r.status == 404) {
			sbx_err("no sandbox named %s (see sbx ls)", names[i]);
			failed = 1;
		} else if (r.status != 200) {
			api_print_error(&r);
			failed = 1;
		} else {
			printf("%s\n", names[i]);
		}
		api_resp_free(&r);
	}
	api_close(&a);
	return failed;
}
