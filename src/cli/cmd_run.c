/* `sbx run AGENT|NAME [PATH] [EXTRA[:ro]...] [-- ARGS]`: find or create the sandbox, start it
 * (assets, spinner, the one-time TCG notice) and attach an interactive session running the
 * agent's command in the workspace.
 * Leaves the sandbox running when the session ends; never stops or deletes anything. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "cli/secret_env.h"
#include "common/assets.h"
#include "common/err.h"
#include "engine/accel.h"
#include "proto/agent_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char run_help[] =
    "Usage: sbx run [OPTIONS] AGENT|NAME [PATH] [EXTRA[:ro]...] [-- ARGS...]\n"
    "\n"
    "Start a sandbox and attach to its agent. NAME: an existing sandbox (started if\n"
    "stopped). AGENT: reuse this agent's sandbox for workspace PATH (default: the\n"
    "current directory) or create one, sharing PATH read-write at the same absolute\n"
    "path and each EXTRA directory too (read-only with :ro, e.g. ~/docs:ro; a single\n"
    "file only read-only, e.g. ~/.gitconfig:ro). For the shell agent the session is\n"
    "`bash -l` as user agent in the workspace, with ARGS appended. For an agent it is\n"
    "the agent's CLI in its autonomous mode in the workspace (ARGS starting with '-'\n"
    "are added to its flags; otherwise ARGS are the whole command line), inside\n"
    "the sandbox's tmux session \"agent\": detach with Ctrl-b d or by closing the\n"
    "terminal; the agent keeps running and `sbx run NAME` attaches to it again (ARGS\n"
    "apply when it starts). Leaving keeps the sandbox running (`sbx stop NAME`).\n"
    "\n"
    "Options:\n"
    "  -p, --publish SPEC  publish a port on the host before attaching (kept with the\n"
    "                      sandbox; [[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp|/udp],\n"
    "                      repeatable; see sbx ports --help)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Options used when a sandbox is created:\n"
    "      --name NAME     sandbox name (default: AGENT-<basename of PATH>)\n"
    "  -m, --memory SIZE   guest memory, e.g. 4g, 512m\n"
    "      --cpus N        virtual CPUs\n"
    "      --engine E      VM engine: kvm or qemu (default: kvm where this host's\n"
    "                      KVM runs a stock kernel, else qemu; see sbx version)\n";

void cli_tcg_reason(char *buf, size_t len)
{
	if (accel_probe(buf, len) == ENGINE_ACCEL_KVM || !buf[0]) {
		snprintf(buf, len, "sbxd is configured for TCG");
		return;
	}
	/* the notice already says "cannot run a stock kernel": keep the reason short */
	char *dup = strstr(buf, ", which cannot run a stock kernel");
	if (dup)
		*dup = '\0';
}

/* sbxd's pid as text (its lifetime's identity), or "" if unknown. */
static void sbxd_identity(const struct sbx_paths *p, char *id, size_t len)
{
	char path[PATH_MAX];
	ssize_t n = -1;

	id[0] = '\0';
	if (sbx_path_join(path, "%s/sbxd.pid", p->runtime) == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, id, len - 1);
			close(fd);
		}
	}
	id[n > 0 ? n : 0] = '\0';
	id[strcspn(id, "\n")] = '\0';
	if (!id[0])
		snprintf(id, len, "shown");
}

static bool tcg_notice_due(const struct sbx_paths *p, char *path, char *id, size_t idlen)
{
	char seen[64] = "";

	if (sbx_path_join(path, "%s/tcg-notice-shown", p->runtime) < 0)
		return false;
	sbxd_identity(p, id, idlen);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, seen, sizeof(seen) - 1);
		close(fd);
		seen[n > 0 ? n : 0] = '\0';
		seen[strcspn(seen, "\n")] = '\0';
	}
	return strcmp(seen, id) != 0;
}

void cli_tcg_notice(const struct sbx_paths *p)
{
	char path[PATH_MAX], id[64], why[256] = "";

	if (!tcg_notice_due(p, path, id, sizeof(id)))
		return;
	cli_tcg_reason(why, sizeof(why));
	sbx_err("KVM cannot run a stock kernel here (%s); using QEMU TCG emulation (slower)", why);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s\n", id);
		close(fd);
	}
}

int cli_start_sandbox(struct api *a, const struct sbx_paths *p, const char *name, const char *agent,
		      json_t **out)
{
	char path[128], label[96], nfile[PATH_MAX], id[64];
	struct sbx_assets assets;
	struct api_resp r;

	*out = NULL;
	if (*agent && assets_ensure(p, agent, false, &assets) < 0)
		return 1;
	/* say why it is slow before the wait, not after */
	if (tcg_notice_due(p, nfile, id, sizeof(id))) {
		if (api_call(a, "GET", "/v1/version", NULL, API_TIMEOUT_SHORT, &r) == 0 &&
		    strcmp(api_str(r.json, "accel"), "tcg") == 0)
			cli_tcg_notice(p);
		api_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/start", name);
	snprintf(label, sizeof(label), "Starting sandbox %s", name);
	a->spinner = label;
	if (api_call(a, "POST", path, NULL, API_TIMEOUT_BOOT, &r) < 0) {
		api_resp_free(&r);
		return 1;
	}
	if (r.status == 404) {
		sbx_err("no sandbox named %s (see sbx ls)", name);
		api_resp_free(&r);
		return 1;
	}
	if (r.status != 200 || !json_is_object(r.json)) {
		api_print_error(&r);
		api_resp_free(&r);
		return 1;
	}
	*out = json_incref(r.json);
	api_resp_free(&r);
	if (strcmp(api_str(*out, "accel"), "tcg") == 0)
		cli_tcg_notice(p);
	return 0;
}

/* An existing sandbox of @agent for workspace @ws, to reuse (caller decrefs), or NULL. */
static json_t *find_for_workspace(struct api *a, const char *agent, const char *ws)
{
	struct api_resp r;
	json_t *hit = NULL, *sb;
	size_t i;

	if (api_call(a, "GET", "/v1/sandboxes", NULL, API_TIMEOUT_SHORT, &r) == 0 &&
	    r.status == 200 && json_is_array(r.json)) {
		for (i = 0; i < json_array_size(r.json); i++) {
			sb = json_array_get(r.json, i);
			if (strcmp(api_str(sb, "agent"), agent) == 0 &&
			    strcmp(api_str(sb, "workspace"), ws) == 0) {
				hit = json_incref(sb);
				break;
			}
		}
	}
	api_resp_free(&r);
	return hit;
}

/* True if @sb's extra shares (mounts after the workspace) are exactly @want's (in order). */
static bool same_extras(json_t *sb, json_t *want)
{
	json_t *have = json_object_get(sb, "mounts");
	size_t n = json_array_size(want);

	if (json_array_size(have) != n)
		return false;
	for (size_t i = 1; i < n; i++) {
		json_t *h = json_array_get(have, i), *w = json_array_get(want, i);
		if (strcmp(api_str(h, "path"), api_str(w, "path")) != 0 ||
		    json_is_true(json_object_get(h, "readonly")) !=
			json_is_true(json_object_get(w, "readonly")))
			return false;
	}
	return true;
}

/* The agent's command from its template's meta.json ("agent": {"command": [...]}, the CLI with
 * its autonomous-mode flags), or NULL when the template records none. Caller decrefs. */
static json_t *agent_command(const struct sbx_paths *p, const char *agent)
{
	char dir[PATH_MAX], meta[PATH_MAX];
	json_t *root, *cmd;

	if (assets_template_dir(p, agent, dir) < 0 || sbx_path_join(meta, "%s/meta.json", dir) < 0)
		return NULL;
	root = json_load_file(meta, 0, NULL);
	cmd = json_object_get(json_object_get(root, "agent"), "command");
	if (!json_is_array(cmd) || !json_array_size(cmd) || json_array_size(cmd) > 32) {
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(cmd); i++)
		if (!json_is_string(json_array_get(cmd, i))) {
			json_decref(root);
			return NULL;
		}
	json_incref(cmd);
	json_decref(root);
	return cmd;
}

/* The session's argv: shell -> `bash -l ARGS`; an agent -> its CLI (+ ARGS) inside the guest's
 * tmux session "agent", created on the first run and attached to by every later one, so the
 * agent keeps working when the terminal goes away and `sbx run NAME` comes back to it (without
 * a terminal: the CLI directly). Strings point into @cmd or @args; free the array only. */
static char **session_argv(const char *agent, json_t *cmd, bool tty, char **args, int nargs)
{
	size_t ncmd = cmd ? json_array_size(cmd) : 1;
	char **v = calloc(ncmd + (size_t)nargs + 12, sizeof(*v));
	int n = 0;

	if (!v)
		return NULL;
	if (strcmp(agent, "shell") == 0 || !*agent) {
		v[n++] = "bash";
		v[n++] = "-l";
	} else if (tty) {
		static char *tmux[] = {"tmux",	      "-u", "-f", "/etc/sbx/tmux.conf",
				       "new-session", "-A", "-s", "agent",
				       "--"};
		for (size_t i = 0; i < sizeof(tmux) / sizeof(*tmux); i++)
			v[n++] = tmux[i];
	}
	/* ARGS starting with '-' go after the agent's default flags; a first word that is not a
	 * flag replaces the agent's command line (Docker Sandboxes' rule) */
	if (strcmp(agent, "shell") != 0 && *agent && (nargs == 0 || args[0][0] == '-')) {
		if (cmd)
			for (size_t i = 0; i < ncmd; i++)
				v[n++] = (char *)json_string_value(json_array_get(cmd, i));
		else
			v[n++] = (char *)agent;
	}
	for (int i = 0; i < nargs; i++)
		v[n++] = args[i];
	v[n] = NULL;
	return v;
}

static int attach(const struct sbx_paths *p, const char *name, json_t *sb, char **args, int nargs)
{
	const char *vs = api_str(sb, "vsock_socket");
	const char *agent = api_str(sb, "agent");
	json_t *cmd = strcmp(agent, "shell") ? agent_command(p, agent) : NULL;
	bool term = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	char **argv = session_argv(agent, cmd, term, args, nargs);
	int fd, rc;

	if (!argv) {
		sbx_err("run: out of memory (free some memory)");
		json_decref(cmd);
		return 1;
	}
	fd = *vs ? agent_connect(vs, SBX_AGENT_PORT, 10000) : -1;
	if (fd < 0) {
		sbx_err("run %s: cannot reach the sandbox's agent at %s: %s (try sbx stop %s, then "
			"again)",
			name, *vs ? vs : "(no vsock socket)", *vs ? strerror(errno) : "not running",
			name);
		free(argv);
		json_decref(cmd);
		return 1;
	}
	char **env = NULL;
	if (cli_secret_env_merge(sb, NULL, 0, &env) < 0) {
		sbx_err("run: out of memory (free some memory)");
		close(fd);
		free(argv);
		json_decref(cmd);
		return 1;
	}
	struct agent_exec_opts o = {
	    .argv = argv,
	    .env = env,
	    .user = "agent",
	    .tty = term, /* without a terminal: pipes, so `echo cmd | sbx run box` works */
	    .interactive = true,
	};
	rc = agent_exec_run(fd, &o);
	close(fd);
	cli_secret_env_free(env);
	free(argv);
	json_decref(cmd);
	return rc < 0 ? 1 : rc;
}

/* The agents `sbx run` knows (one per recipe), and those that cannot be built here, why. */
static void print_agents(const struct sbx_paths *p)
{
	static char names[32][ASSETS_NAME_MAX];
	size_t n = assets_recipe_names(p, names, 32), used = 0;
	char line[512] = "", why[256];

	for (size_t i = 0; i < n && used < sizeof(line); i++) {
		if (assets_template_unavailable(p, names[i], NULL, 0))
			continue;
		int w =
		    snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "", names[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	printf("\nAgents: %s\n", used ? line : "(no recipes found)");
	for (size_t i = 0; i < n; i++)
		if (assets_template_unavailable(p, names[i], why, sizeof(why)))
			printf("Not available here: %s: %s\n", names[i], why);
}

/**
 * cmd_run() - `sbx run [OPTIONS] AGENT|NAME [PATH] [-- ARGS...]`.
 */
int cmd_run(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {0, "name", CLI_ARG_VALUE, CREATE_OPT_NAME},
	    {'m', "memory", CLI_ARG_VALUE, CREATE_OPT_MEMORY},
	    {0, "cpus", CLI_ARG_VALUE, CREATE_OPT_CPUS},
	    {0, "engine", CLI_ARG_VALUE, CREATE_OPT_ENGINE},
	    {'p', "publish", CLI_ARG_VALUE, CREATE_OPT_PUBLISH},
	    {0, NULL, 0, 0},
	};
	struct create_args c = {0};
	struct cli_parser ps;
	const char *pos[2 + CLI_EXTRA_MAX];
	int npos = 0, id, nargs = 0;
	char **args = NULL;

	cli_parser_init(&ps, argc, argv, "run", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(run_help, stdout);
			print_agents(p);
			return 0;
		case CLI_OPT_POSITIONAL:
			if (ps.after_dashdash) {
				args = argv + ps.i - 1;
				nargs = argc - ps.i + 1;
				ps.i = argc;
				break;
			}
			if (npos == 2 + CLI_EXTRA_MAX)
				return cli_usage_error("run",
						       "too many arguments at '%s' (put "
						       "the agent's arguments after --)",
						       ps.value);
			pos[npos++] = ps.value;
			break;
		default:
			if (create_args_flag(&c, "run", id, ps.value))
				return 1;
		}
	}
	if (npos == 0)
		return cli_usage_error("run", "missing AGENT or NAME");

	struct api a;
	json_t *sb = NULL, *running = NULL;
	int rc;
	char ws[PATH_MAX];

	if (api_init(&a, p) < 0)
		return 1;
	cli_policy_first_use(&a, c.quiet);
	rc = cli_name_valid(pos[0]) ? api_get_sandbox(&a, pos[0], &sb) : 1;
	if (rc < 0)
		goto out;
	if (rc == 1) {
		/* not a sandbox: an agent; reuse its sandbox for this workspace unless --name */
		c.agent = pos[0];
		c.path = npos > 1 ? pos[1] : NULL;
		for (int i = 2; i < npos; i++)
			c.extras[c.nextras++] = pos[i];
		if (!assets_template_known(p, c.agent)) {
			char known[512];
			cli_known_agents(p, known, sizeof(known));
			sbx_err("unknown agent %s (known: %s; or a sandbox name from sbx ls)",
				c.agent, known);
			rc = 1;
			goto out;
		}
		if (!c.name && cli_abspath(c.path ? c.path : ".", ws, sizeof(ws)) == 0)
			sb = find_for_workspace(&a, c.agent, ws);
		if (sb && c.nextras) {
			json_t *want = cli_mounts_json(&c, ws);
			bool same = want && same_extras(sb, want);
			json_decref(want);
			if (!want) {
				rc = 1;
				goto out;
			}
			if (!same) {
				sbx_err(
				    "sandbox %s already exists for %s with other shares (sbx rm "
				    "%s first, or pick a new one with --name)",
				    api_str(sb, "name"), ws, api_str(sb, "name"));
				rc = 1;
				goto out;
			}
		}
		if (!sb && (rc = cli_create_sandbox(&a, p, &c, &sb)) != 0)
			goto out;
	} else if (npos > 1) {
		rc = cli_usage_error("run",
				     "%s is an existing sandbox; PATH applies only when "
				     "creating one",
				     pos[0]);
		goto out;
	}

	const char *name = api_str(sb, "name");
	if (strcmp(api_str(sb, "status"), "running") == 0) {
		running = json_incref(sb);
		rc = 0;
	} else {
		rc = cli_start_sandbox(&a, p, name, api_str(sb, "agent"), &running);
	}
	/* after the start, so an ephemeral port shows bound; stdout is the session's */
	if (rc == 0)
		rc = cli_ports_apply(&a, name, &c.ports, stderr, true);
	api_close(&a);
	if (rc == 0)
		rc = attach(p, name, running, args, nargs);
	json_decref(running);
	json_decref(sb);
	return rc;
out:
	api_close(&a);
	json_decref(sb);
	return rc ? rc : 1;
}
