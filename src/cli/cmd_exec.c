/* `sbx exec [OPTIONS] NAME CMD [ARG...]`: one GET to sbxd for the sandbox's vsock socket
 * (starting it first if stopped), then straight to the guest agent over vsock. sbxd is never
 * in the data path; the fast path makes no request beyond that GET and never sleeps. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "cli/secret_env.h"
#include "common/err.h"
#include "proto/agent_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char exec_help[] =
    "Usage: sbx exec [OPTIONS] NAME CMD [ARG...]\n"
    "\n"
    "Run a command in sandbox NAME (starting it first if it is stopped). The exit\n"
    "status is the command's. Options end at NAME, so `sbx exec box ls -la` works.\n"
    "\n"
    "Options:\n"
    "  -i, --interactive   keep stdin open and send it to the command\n"
    "  -t, --tty           allocate a pseudo-terminal (use -it for a shell)\n"
    "  -d, --detach        start the command in the background and return\n"
    "  -e, --env K=V       set an environment variable (-e K: take K's value from here)\n"
    "  -w, --workdir DIR   working directory in the sandbox (default: the user's home)\n"
    "  -u, --user USER     user name or uid in the sandbox (default: agent; root works)\n"
    "  -h, --help          show this help\n";

enum { EXEC_OPT_ENV = 1, EXEC_OPT_WORKDIR, EXEC_OPT_USER };

void exec_args_free(struct exec_args *a)
{
	for (size_t i = 0; i < a->nenv; i++)
		free(a->env[i]);
	a->nenv = 0;
	a->env[0] = NULL;
}

static int add_env(struct exec_args *a, const char *kv)
{
	char *s;

	if (!*kv || *kv == '=')
		return cli_usage_error("exec", "bad -e '%s': use K=V or K", kv);
	if (a->nenv == CLI_EXEC_MAX_ENV)
		return cli_usage_error("exec", "too many -e flags (at most %d)", CLI_EXEC_MAX_ENV);
	if (strchr(kv, '=')) {
		s = strdup(kv);
	} else {
		const char *v = getenv(kv);
		if (!v)
			return 0; /* like docker: an unset local variable is left out */
		size_t n = strlen(kv) + strlen(v) + 2;
		s = malloc(n);
		if (s)
			snprintf(s, n, "%s=%s", kv, v);
	}
	if (!s) {
		sbx_err("exec: out of memory (free some memory)");
		return 1;
	}
	a->env[a->nenv++] = s;
	a->env[a->nenv] = NULL;
	return 0;
}

int exec_args_parse(int argc, char **argv, struct exec_args *a)
{
	static const struct cli_opt opts[] = {
	    {'i', "interactive", CLI_ARG_NONE, 'i'},
	    {'t', "tty", CLI_ARG_NONE, 't'},
	    {'d', "detach", CLI_ARG_NONE, 'd'},
	    {'e', "env", CLI_ARG_VALUE, EXEC_OPT_ENV},
	    {'w', "workdir", CLI_ARG_VALUE, EXEC_OPT_WORKDIR},
	    {'u', "user", CLI_ARG_VALUE, EXEC_OPT_USER},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	int id;

	memset(a, 0, sizeof(*a));
	cli_parser_init(&ps, argc, argv, "exec", opts, true);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			exec_args_free(a);
			return 1;
		case CLI_OPT_HELP:
			a->help = true;
			return 0;
		case CLI_OPT_POSITIONAL:
			a->name = ps.value;
			a->argv = argv + ps.i;
			a->argc = argc - ps.i;
			goto done;
		case 'i':
			a->interactive = true;
			break;
		case 't':
			a->tty = true;
			break;
		case 'd':
			a->detach = true;
			break;
		case EXEC_OPT_ENV:
			if (add_env(a, ps.value)) {
				exec_args_free(a);
				return 1;
			}
			break;
		case EXEC_OPT_WORKDIR:
			if (!*ps.value) {
				exec_args_free(a);
				return cli_usage_error("exec", "empty -w directory");
			}
			a->workdir = ps.value;
			break;
		case EXEC_OPT_USER:
			if (!*ps.value) {
				exec_args_free(a);
				return cli_usage_error("exec", "empty -u user");
			}
			a->user = ps.value;
			break;
		}
	}
done:
	if (!a->name) {
		exec_args_free(a);
		return cli_usage_error("exec", "missing NAME and CMD");
	}
	if (a->argc == 0) {
		exec_args_free(a);
		return cli_usage_error("exec", "missing CMD to run in %s", a->name);
	}
	if (a->detach && (a->interactive || a->tty)) {
		exec_args_free(a);
		return cli_usage_error("exec", "-d cannot be combined with -i or -t");
	}
	return 0;
}

/**
 * cmd_exec() - `sbx exec [OPTIONS] NAME CMD [ARG...]`.
 */
int cmd_exec(int argc, char **argv, const struct sbx_paths *p)
{
	struct exec_args ea;
	struct api a;
	json_t *sb = NULL;
	int rc;

	if (exec_args_parse(argc, argv, &ea))
		return 1;
	if (ea.help) {
		fputs(exec_help, stdout);
		return 0;
	}
	if (ea.tty && ea.interactive && !isatty(STDIN_FILENO)) {
		exec_args_free(&ea);
		sbx_err("exec -t: the input device is not a TTY (drop -t, or run from a terminal)");
		return 1;
	}
	if (!cli_name_valid(ea.name)) {
		sbx_err("no sandbox named %s (see sbx ls)", ea.name);
		exec_args_free(&ea);
		return 1;
	}
	if (api_init(&a, p) < 0) {
		exec_args_free(&ea);
		return 1;
	}
	rc = api_get_sandbox(&a, ea.name, &sb);
	if (rc == 1)
		sbx_err("no sandbox named %s (see sbx ls)", ea.name);
	if (rc == 0 && strcmp(api_str(sb, "status"), "running") != 0) {
		json_t *started;
		rc = cli_start_sandbox(&a, p, ea.name, api_str(sb, "agent"), &started);
		json_decref(sb);
		sb = rc == 0 ? started : NULL;
	}
	api_close(&a);
	if (rc) {
		exec_args_free(&ea);
		return 1;
	}

	const char *vs = api_str(sb, "vsock_socket");
	int fd = *vs ? agent_connect(vs, SBX_AGENT_PORT, 10000) : -1;
	if (fd < 0) {
		sbx_err("exec in %s: cannot reach the sandbox's agent at %s: %s (try sbx stop %s, "
			"then again)",
			ea.name, *vs ? vs : "(no vsock socket)",
			*vs ? strerror(errno) : "not running", ea.name);
		json_decref(sb);
		exec_args_free(&ea);
		return 1;
	}
	char **env = NULL;
	if (cli_secret_env_merge(sb, ea.env, ea.nenv, &env) < 0) {
		sbx_err("exec: out of memory (free some memory)");
		close(fd);
		json_decref(sb);
		exec_args_free(&ea);
		return 1;
	}
	struct agent_exec_opts o = {
	    .argv = ea.argv,
	    .env = env,
	    .cwd = ea.workdir,
	    .user = ea.user,
	    .tty = ea.tty,
	    .interactive = ea.interactive,
	    .detach = ea.detach,
	};
	rc = agent_exec_run(fd, &o);
	close(fd);
	cli_secret_env_free(env);
	json_decref(sb);
	exec_args_free(&ea);
	return rc < 0 ? 1 : rc;
}
