/* `sbx version`: the client's version and what sbxd reports (version, API, engine, accel).
 * Read-only; starts sbxd like every verb that needs it. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"

static const char version_help[] = "Usage: sbx version\n"
				   "\n"
				   "Show the versions of sbx and sbxd, sbxd's API level, the\n"
				   "default engine (kvm or qemu) and why, and the accelerator\n"
				   "it uses (kvm or tcg).\n";

/**
 * cmd_version() - `sbx version`.
 */
int cmd_version(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {{0, NULL, 0, 0}};
	struct cli_parser ps;
	int id;

	cli_parser_init(&ps, argc, argv, "version", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		if (id == CLI_OPT_ERROR)
			return 1;
		if (id == CLI_OPT_HELP) {
			fputs(version_help, stdout);
			return 0;
		}
		return cli_usage_error("version", "unexpected argument '%s'", ps.value);
	}

	struct api a;
	struct api_resp r;
	int rc = 1;

	printf("Client:  sbx %s\n", SBX_VERSION);
	fflush(stdout);
	if (api_init(&a, p) < 0)
		return 1;
	if (api_call(&a, "GET", "/v1/version", NULL, API_TIMEOUT_SHORT, &r) == 0) {
		if (r.status == 200 && json_is_object(r.json)) {
			printf("Server:  sbxd %s (API %lld)\n", api_str(r.json, "version"),
			       (long long)json_integer_value(json_object_get(r.json, "api")));
			printf("Engine:  %s (accel %s)\n", api_str(r.json, "engine_default"),
			       api_str(r.json, "accel"));
			if (*api_str(r.json, "engine_why"))
				printf("         default because: %s\n",
				       api_str(r.json, "engine_why"));
			rc = 0;
		} else {
			api_print_error(&r);
		}
	}
	api_resp_free(&r);
	api_close(&a);
	return rc;
}
