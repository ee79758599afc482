/* `sbx ls [--json] [-q]`: list sandboxes as an aligned table, the API's JSON array, or names.
 * Read-only: never starts, stops or changes a sandbox. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static const char ls_help[] = "Usage: sbx ls [OPTIONS]\n"
			      "\n"
			      "List sandboxes: SANDBOX AGENT STATUS PORTS WORKSPACE.\n"
			      "\n"
			      "Options:\n"
			      "      --json    print sbxd's JSON array of sandboxes (with mounts)\n"
			      "  -q, --quiet   print only sandbox names\n"
			      "  -h, --help    show this help\n";

/**
 * cmd_ls() - `sbx ls [--json] [-q]`.
 */
int cmd_ls(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {0, "json", CLI_ARG_NONE, 'j'},
	    {'q', "quiet", CLI_ARG_NONE, 'q'},
	    {0, NULL, 0, 0},
	};
	static const char *const header[] = {"SANDBOX", "AGENT", "STATUS", "PORTS", "WORKSPACE"};
	struct cli_parser ps;
	bool json = false, quiet = false;
	int id;

	cli_parser_init(&ps, argc, argv, "ls", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(ls_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			return cli_usage_error("ls", "unexpected argument '%s'", ps.value);
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	if (json && quiet)
		return cli_usage_error("ls", "--json and -q cannot be combined");

	struct api a;
	struct api_resp r;
	int rc = 1;
	if (api_init(&a, p) < 0)
		return 1;
	if (api_call(&a, "GET", "/v1/sandboxes", NULL, API_TIMEOUT_SHORT, &r) < 0)
		goto out;
	if (r.status != 200 || !json_is_array(r.json)) {
		api_print_error(&r);
		goto out;
	}
	if (json) {
		json_dumpf(r.json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		rc = 0;
		goto out;
	}

	size_t n = json_array_size(r.json), i;
	json_t *sb;
	if (quiet) {
		for (i = 0; i < n; i++)
			printf("%s\n", api_str(json_array_get(r.json, i), "name"));
		rc = 0;
		goto out;
	}
	const char **cells = calloc(n ? n * 5 : 1, sizeof(*cells));
	char **ports = calloc(n ? n : 1, sizeof(*ports));
	if (!cells || !ports) {
		sbx_err("ls: out of memory (free some memory)");
		free(cells);
		free(ports);
		goto out;
	}
	for (i = 0; i < n; i++) {
		sb = json_array_get(r.json, i);
		ports[i] = cli_ports_list_text(json_object_get(sb, "ports"));
		cells[i * 5 + 0] = api_str(sb, "name");
		cells[i * 5 + 1] = api_str(sb, "agent");
		cells[i * 5 + 2] = api_str(sb, "status");
		cells[i * 5 + 3] = ports[i];
		cells[i * 5 + 4] = api_str(sb, "workspace");
	}
	cli_table_print(stdout, header, 5, cells, n);
	for (i = 0; i < n; i++)
		free(ports[i]);
	free(ports);
	free(cells);
	rc = 0;
out:
	api_resp_free(&r);
	api_close(&a);
	return rc;
}
