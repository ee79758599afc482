/* `sbx create AGENT [PATH] [EXTRA[:ro]...]`: validate locally (agent, workspace, shares,
 * sizes), ask sbxd to create the sandbox, then make sure the agent's boot assets exist (first
 * build shows progress). Never boots the VM; never invents the default name (sbxd does). */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "cli/secret_hostenv.h"
#include "common/assets.h"
#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char create_help[] =
    "Usage: sbx create [OPTIONS] AGENT [PATH] [EXTRA[:ro]...]\n"
    "\n"
    "Create a sandbox (a microVM with its own disk) for AGENT with workspace PATH\n"
    "(default: the current directory). PATH is shared into the VM read-write at the\n"
    "same absolute path, live both ways; each EXTRA directory is shared the same way,\n"
    "read-only with :ro (e.g. ~/docs:ro). A single file may be shared read-only\n"
    "(e.g. ~/.gitconfig:ro). The sandbox is left stopped; start and attach with\n"
    "`sbx run NAME`, or run commands with `sbx exec NAME CMD`.\n"
    "\n"
    "Options:\n"
    "      --name NAME     sandbox name (default: AGENT-<basename of PATH>, made unique)\n"
    "  -m, --memory SIZE   guest memory, e.g. 4g, 512m (default: half the host's RAM,\n"
    "                      between 512m and 32g)\n"
    "      --cpus N        virtual CPUs (default: host CPUs - 1, at least 1)\n"
    "      --engine E      VM engine: kvm or qemu (default: kvm where this host's\n"
    "                      KVM runs a stock kernel, else qemu; see sbx version)\n"
    "  -p, --publish SPEC  publish a port on the host when the sandbox runs\n"
    "                      ([[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp], repeatable;\n"
    "                      see sbx ports --help)\n"
    "  -q, --quiet         print only the sandbox name\n"
    "  -h, --help          show this help\n"
    "\n"
    "Agents: shell (more with `sbx template ls`).\n";

int create_args_flag(struct create_args *c, const char *verb, int id, const char *value)
{
	switch (id) {
	case CREATE_OPT_NAME:
		if (!cli_name_valid(value))
			return cli_usage_error(verb,
					       "bad sandbox name '%s': use 1-40 of a-z 0-9 _ . -, "
					       "starting with a letter or digit",
					       value);
		c->name = value;
		return 0;
	case CREATE_OPT_MEMORY:
		c->memory_mib = cli_parse_memory(value);
		if (c->memory_mib < 0)
			return cli_usage_error(verb, "bad memory size '%s': use e.g. 4g or 512m",
					       value);
		if (c->memory_mib < 128)
			return cli_usage_error(verb, "memory size '%s' is too small: at least 128m",
					       value);
		return 0;
	case CREATE_OPT_CPUS:
		c->cpus = cli_parse_cpus(value);
		if (c->cpus < 0)
			return cli_usage_error(verb, "bad cpu count '%s': use a number 1-256",
					       value);
		return 0;
	case CREATE_OPT_ENGINE:
		if (!*value)
			return cli_usage_error(verb, "empty engine name: use kvm or qemu");
		c->engine = value;
		return 0;
	case CREATE_OPT_PUBLISH:
		return cli_ports_add(&c->ports, verb, value, false);
	}
	return 1;
}

void cli_known_agents(const struct sbx_paths *p, char *buf, size_t len)
{
	char dir[PATH_MAX], names[32][64];
	size_t n = 0, used = 0;

	buf[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		if (sbx_path_join(dir, pass == 0 ? "%s/images/templates" : "%s/templates",
				  pass == 0 ? p->libdir : p->cache) < 0)
			continue;
		DIR *d = opendir(dir);
		struct dirent *e;
		if (!d)
			continue;
		while ((e = readdir(d)) && n < 32) {
			size_t l = strlen(e->d_name);
			if (e->d_name[0] == '.')
				continue;
			if (pass == 0) {
				if (l <= 5 || strcmp(e->d_name + l - 5, ".conf") != 0)
					continue;
				l -= 5;
			}
			if (l >= sizeof(names[0]))
				continue;
			memcpy(names[n], e->d_name, l);
			names[n][l] = '\0';
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup = dup || strcmp(names[i], names[n]) == 0;
			if (!dup)
				n++;
		}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	if (!n)
		snprintf(buf, len, "none found in %s/images/templates", p->libdir);
}

json_t *cli_mounts_json(const struct create_args *c, const char *ws)
{
	json_t *arr = json_array();
	char given[PATH_MAX], real[PATH_MAX];
	bool ro;

	json_array_append_new(arr, json_pack("{s:s,s:b}", "path", ws, "readonly", 0));
	for (int i = 0; i < c->nextras; i++) {
		if (cli_mount_parse(c->extras[i], given, sizeof(given), &ro) < 0) {
			sbx_err("share %s: not a usable path (give a directory or file, e.g. "
				"~/docs:ro)",
				c->extras[i]);
			json_decref(arr);
			return NULL;
		}
		errno = 0;
		if (cli_abspath(given, real, sizeof(real)) < 0 || access(real, F_OK) < 0) {
			sbx_err("share %s: %s (give an existing directory or file)", given,
				strerror(errno ? errno : ENAMETOOLONG));
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_pack("{s:s,s:b}", "path", real, "readonly", ro));
	}
	return arr;
}

int cli_create_sandbox(struct api *a, const struct sbx_paths *p, const struct create_args *c,
		       json_t **out)
{
	char ws[PATH_MAX], known[512];
	struct stat st;
	struct api_resp r;
	struct sbx_assets assets;

	*out = NULL;
	if (!assets_template_known(p, c->agent)) {
		cli_known_agents(p, known, sizeof(known));
		sbx_err("unknown agent %s (known: %s)", c->agent, known);
		return 1;
	}
	errno = 0;
	if (cli_abspath(c->path ? c->path : ".", ws, sizeof(ws)) < 0 || access(ws, F_OK) < 0) {
		if (!errno)
			errno = ENAMETOOLONG;
		sbx_err("workspace %s: %s (give an existing directory)", c->path ? c->path : ".",
			strerror(errno));
		return 1;
	}
	if (stat(ws, &st) < 0 || !S_ISDIR(st.st_mode)) {
		sbx_err("workspace %s: not a directory (give an existing directory)", ws);
		return 1;
	}

	json_t *mounts = cli_mounts_json(c, ws);
	if (!mounts)
		return 1;
	json_t *req =
	    json_pack("{s:s, s:s, s:o}", "agent", c->agent, "workspace", ws, "mounts", mounts);
	if (c->name)
		json_object_set_new(req, "name", json_string(c->name));
	if (c->memory_mib)
		json_object_set_new(req, "memory_mib", json_integer(c->memory_mib));
	if (c->cpus)
		json_object_set_new(req, "cpus", json_integer(c->cpus));
	if (c->engine)
		json_object_set_new(req, "engine", json_string(c->engine));
	int rc = api_call(a, "POST", "/v1/sandboxes", req, API_TIMEOUT_SHORT * 4, &r);
	json_decref(req);
	if (rc < 0) {
		api_resp_free(&r);
		return 1;
	}
	if (r.status != 201 && r.status != 200) {
		api_print_error(&r);
		api_resp_free(&r);
		return 1;
	}
	if (!json_is_object(r.json) || !*api_str(r.json, "name")) {
		sbx_err("create: sbxd answered without a sandbox (see %s/sbxd.log)", p->data);
		api_resp_free(&r);
		return 1;
	}
	*out = json_incref(r.json);
	api_resp_free(&r);
	/* a key in this shell's environment: the new sandbox's weakest secret */
	cli_secrets_from_env(a, api_str(*out, "name"), c->quiet);

	/* The sandbox exists now; fetch/build what booting it needs so the first start (and a
	 * first template build of several minutes) shows progress here, not a silent wait. */
	if (assets_ensure(p, c->agent, c->quiet, &assets) < 0) {
		sbx_err("sandbox %s was created but cannot start yet (fix the above, then sbx run "
			"%s)",
			api_str(*out, "name"), api_str(*out, "name"));
		json_decref(*out);
		*out = NULL;
		return 1;
	}
	return 0;
}

/**
 * cmd_create() - `sbx create [OPTIONS] AGENT [PATH]`.
 */
int cmd_create(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {0, "name", CLI_ARG_VALUE, CREATE_OPT_NAME},
	    {'m', "memory", CLI_ARG_VALUE, CREATE_OPT_MEMORY},
	    {0, "cpus", CLI_ARG_VALUE, CREATE_OPT_CPUS},
	    {0, "engine", CLI_ARG_VALUE, CREATE_OPT_ENGINE},
	    {'p', "publish", CLI_ARG_VALUE, CREATE_OPT_PUBLISH},
	    {'q', "quiet", CLI_ARG_NONE, 'q'},
	    {0, NULL, 0, 0},
	};
	struct create_args c = {0};
	struct cli_parser ps;
	const char *pos[2 + CLI_EXTRA_MAX];
	int npos = 0, id;

	cli_parser_init(&ps, argc, argv, "create", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(create_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			if (npos == 2 + CLI_EXTRA_MAX)
				return cli_usage_error("create",
						       "too many shares at '%s' (at most %d "
						       "beside the workspace)",
						       ps.value, CLI_EXTRA_MAX);
			pos[npos++] = ps.value;
			break;
		case 'q':
			c.quiet = true;
			break;
		default:
			if (create_args_flag(&c, "create", id, ps.value))
				return 1;
		}
	}
	if (npos == 0)
		return cli_usage_error("create", "missing AGENT");
	c.agent = pos[0];
	c.path = npos > 1 ? pos[1] : NULL;
	for (int i = 2; i < npos; i++)
		c.extras[c.nextras++] = pos[i];

	struct api a;
	json_t *sb;
	if (api_init(&a, p) < 0)
		return 1;
	cli_policy_first_use(&a, c.quiet);
	int rc = cli_create_sandbox(&a, p, &c, &sb);
	if (rc) {
		api_close(&a);
		return rc;
	}
	if (c.quiet)
		printf("%s\n", api_str(sb, "name"));
	else
		printf("Created sandbox %s (agent %s, workspace %s). Start it with: sbx run %s\n",
		       api_str(sb, "name"), api_str(sb, "agent"), api_str(sb, "workspace"),
		       api_str(sb, "name"));
	fflush(stdout);
	/* recorded now, bound when the sandbox starts */
	rc = cli_ports_apply(&a, api_str(sb, "name"), &c.ports, c.quiet ? NULL : stdout, false);
	api_close(&a);
	json_decref(sb);
	return rc;
}
