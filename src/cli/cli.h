/* The sbx CLI's verbs and the small pure helpers they share (flag parsing, sizes, names,
 * tables). Every helper here is testable without a daemon; nothing here talks to sbxd
 * except the cmd_* entry points. */
#ifndef SBX_CLI_CLI_H
#define SBX_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/paths.h"
#include "common/portspec.h"

#define SBX_VERSION "0.1.0"

/* ---- verbs: each returns the process exit status ---- */
int cmd_create(int argc, char **argv, const struct sbx_paths *p);
int cmd_run(int argc, char **argv, const struct sbx_paths *p);
int cmd_exec(int argc, char **argv, const struct sbx_paths *p);
int cmd_ls(int argc, char **argv, const struct sbx_paths *p);
int cmd_stop(int argc, char **argv, const struct sbx_paths *p);
int cmd_rm(int argc, char **argv, const struct sbx_paths *p);
int cmd_reset(int argc, char **argv, const struct sbx_paths *p);
int cmd_version(int argc, char **argv, const struct sbx_paths *p);
/* implemented in cmd_template.c (images engineer); argv[0] is "template" */
int cmd_template(int argc, char **argv, const struct sbx_paths *p);
/* implemented in cmd_policy.c; argv[0] is "policy" */
int cmd_policy(int argc, char **argv, const struct sbx_paths *p);
int cmd_ports(int argc, char **argv, const struct sbx_paths *p);
/* implemented in cmd_secret.c; argv[0] is "secret" */
int cmd_secret(int argc, char **argv, const struct sbx_paths *p);

/* ---- flag parsing (cli_args.c) ---- */

enum cli_arg { CLI_ARG_NONE, CLI_ARG_VALUE };

/* One flag a verb accepts: -s / --long, with or without a value. */
struct cli_opt {
	char shortname;	  /* 0: long only */
	const char *name; /* long name without "--" */
	enum cli_arg arg; /* takes a value? */
	int id;		  /* returned by cli_opt_next() */
};

/* Iterator state over argv[1..] of a verb. */
struct cli_parser {
	int argc;
	char **argv;
	const char *verb;	    /* for error messages ("exec") */
	const struct cli_opt *opts; /* terminated by an entry with id 0 */
	bool stop_at_positional;    /* options end at the first positional (exec) */
	int i;			    /* next argv index */
	const char *cluster;	    /* rest of a "-abc" cluster, or NULL */
	bool only_positional;	    /* after "--" or the first positional (exec) */
	bool after_dashdash;	    /* the current positional came after "--" */
	const char *value;	    /* value of the flag just returned */
};

#define CLI_OPT_END	   0  /* cli_opt_next(): argv exhausted */
#define CLI_OPT_POSITIONAL -1 /* cli_opt_next(): ->value is a positional argument */
#define CLI_OPT_ERROR	   -2 /* cli_opt_next(): error printed */
#define CLI_OPT_HELP	   -3 /* cli_opt_next(): -h / --help seen */

/**
 * cli_parser_init() - start parsing @argv[1..@argc-1] of @verb against @opts.
 * @stop_at_positional: true for verbs like exec whose command follows the first positional.
 */
void cli_parser_init(struct cli_parser *ps, int argc, char **argv, const char *verb,
		     const struct cli_opt *opts, bool stop_at_positional);

/**
 * cli_opt_next() - next flag or positional. Accepts -x, -xVALUE, -x VALUE, clusters (-it),
 * --long, --long=VALUE, --long VALUE and "--" (everything after is positional).
 * Return: the flag's id (->value set for flags with a value), CLI_OPT_POSITIONAL (->value is
 * the argument), CLI_OPT_HELP, CLI_OPT_END, or CLI_OPT_ERROR with one line printed, e.g.
 * "sbx: unknown flag --foo for exec (see sbx exec --help)".
 */
int cli_opt_next(struct cli_parser *ps);

/**
 * cli_usage_error() - print "sbx: <verb>: <msg> (see sbx <verb> --help)".
 * Return: 1, the exit status for bad input.
 */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * cli_parse_memory() - parse a memory size such as "4g", "512m", "1.5G", "2048" (MiB when no
 * unit; units k, m, g, t with an optional "b"/"ib" suffix, powers of 1024).
 * Return: size in MiB (>= 1), or -1 if malformed, zero, not a whole MiB, or over 1 TiB.
 */
long cli_parse_memory(const char *s);

/**
 * cli_parse_cpus() - parse a vCPU count 1..256. Return the count or -1.
 */
int cli_parse_cpus(const char *s);

/**
 * cli_name_valid() - true if @s is a valid sandbox name: [a-z0-9][a-z0-9_.-]{0,39}.
 */
bool cli_name_valid(const char *s);

/**
 * cli_name_sanitize() - turn arbitrary text (a directory name) into a valid sandbox name
 * fragment: lowercase, other characters -> '-', runs of '-' folded, leading/trailing
 * separators dropped, at most @outsz-1 (and 40) chars. Empty result -> "sandbox".
 */
void cli_name_sanitize(const char *in, char *out, size_t outsz);

/**
 * cli_mount_parse() - split an extra share argument "PATH[:ro|:rw]" into @path (size @len)
 * and *@readonly, expanding a leading "~" or "~/" from $HOME. The path is not made absolute
 * or checked here. Return: 0, or -1 if empty, too long, or "~" with HOME unset.
 */
int cli_mount_parse(const char *arg, char *path, size_t len, bool *readonly);

/**
 * cli_abspath() - @given made absolute the way the user sees it: relative to the shell's $PWD
 * (when that is the current directory), with "." and repeated "/" removed but symlinks kept, so
 * ~/proj stays ~/proj even when it is a link (the sandbox shows it there). A path with ".." is
 * resolved with realpath() instead. Return: 0, or -1 (too long, or ".." that does not resolve).
 */
int cli_abspath(const char *given, char *out, size_t len);

/* ---- table output (cli_args.c) ---- */

#define CLI_TABLE_MAX_COLS 8

/**
 * cli_table_print() - print @nrows rows of @ncols cells (row-major, @cells[r*ncols+c];
 * NULL counts as "") under @header, columns left-aligned and padded to the widest cell with
 * three spaces between columns, no trailing spaces.
 */
void cli_table_print(FILE *out, const char *const *header, size_t ncols, const char *const *cells,
		     size_t nrows);

/* ---- exec arguments (cmd_exec.c) ---- */

#define CLI_EXEC_MAX_ENV 256

struct exec_args {
	bool interactive, tty, detach;
	const char *workdir; /* -w */
	const char *user;    /* -u */
	char *env[CLI_EXEC_MAX_ENV +
		  1]; /* "K=V", NULL-terminated; owned (free with exec_args_free) */
	size_t nenv;
	const char *name; /* sandbox */
	char **argv;	  /* command, NULL-terminated (points into the caller's argv) */
	int argc;
	bool help;
};

/**
 * exec_args_parse() - parse `exec` flags; stops at the first positional (the sandbox name);
 * the rest is the command. `-e K` without '=' takes K from the local environment (skipped if
 * unset, like docker). Return 0, or 1 with one error line printed.
 */
int exec_args_parse(int argc, char **argv, struct exec_args *a);

/**
 * exec_args_free() - free the env strings exec_args_parse() made.
 */
void exec_args_free(struct exec_args *a);

/* ---- shared verb helpers ---- */

struct api;
struct json_t;

/* ---- published ports (cmd_ports.c), shared by ports, create and run ---- */

#define CLI_PORTS_MAX 32 /* -p / --publish (or --unpublish) flags in one command */

/* Port specs as given on the command line, parsed before any request. */
struct cli_ports {
	struct port_spec spec[CLI_PORTS_MAX];
	bool unpublish[CLI_PORTS_MAX]; /* `ports --unpublish`: take it away instead */
	int n;
};

/**
 * cli_ports_add() - parse @text (portspec_parse) and append it to @l as a publication
 * (@unpublish false) or a removal. Return 0, or 1 with one usage line printed for @verb,
 * e.g. "sbx: ports: port spec 80x: sandbox port "80x" is not ... (see sbx ports --help)".
 */
int cli_ports_add(struct cli_ports *l, const char *verb, const char *text, bool unpublish);

/**
 * cli_port_body() - the JSON body for @s: every field for POST (@unpublish false); for
 * DELETE sandbox_port and protocol, plus host_ip / host_port only when the spec named them.
 * Return: a new object (caller decrefs).
 */
struct json_t *cli_port_body(const struct port_spec *s, bool unpublish);

/**
 * cli_port_from_json() - read one publication object from sbxd into @out (host_ip,
 * host_port 0..65535, sandbox_port 1..65535, protocol tcp|udp) and *@active ("active",
 * true when absent). Everything is checked: sbxd's answer is parsed, not trusted.
 * Return: 0, or -1 when a field is missing or out of range.
 */
int cli_port_from_json(const struct json_t *o, struct port_spec *out, bool *active);

/**
 * cli_port_text() - publication @o as "127.0.0.1:49152->3000/tcp" (portspec_format), or with
 * @spaced "127.0.0.1:49152 -> 3000/tcp"; a host port of 0 (ephemeral, not bound yet) shows as
 * "<ephemeral>". Return: @out, or NULL when @o is malformed (cli_port_from_json).
 */
char *cli_port_text(const struct json_t *o, bool spaced, char *out, size_t n);

/**
 * cli_ports_list_text() - the PORTS cell of `sbx ls`: each publication in @ports (a JSON
 * array) as cli_port_text() makes it, joined with ", "; malformed entries skipped, ", ..."
 * when it does not fit. Return: a new string (caller frees), or NULL when out of memory.
 */
char *cli_ports_list_text(const struct json_t *ports);

/**
 * cli_ports_apply() - POST (or DELETE, for removals) each spec of @l for sandbox @name, in
 * order, printing "Published 127.0.0.1:49152 -> 3000/tcp" (" (bound when NAME starts)" when
 * sbxd says it is not active) or "Unpublished ..." lines to @out (NULL: none) and sbxd's
 * "warning" as "Warning: ..." on stderr. @quiet_same: print nothing for a publication that
 * already existed (200). Stops at the first failure.
 * Return: 0, or 1 with sbxd's error printed (one line).
 */
int cli_ports_apply(struct api *a, const char *name, const struct cli_ports *l, FILE *out,
		    bool quiet_same);

#define CLI_EXTRA_MAX 15 /* extra shares beside the workspace (sbxd takes 16 in all) */

/* What `create` (and `run` of an agent) asks sbxd for. */
struct create_args {
	const char *agent;
	const char *path;   /* workspace as given; NULL: the current directory */
	const char *name;   /* --name; NULL: sbxd picks <agent>-<basename> */
	long memory_mib;    /* 0: sbxd's default */
	int cpus;	    /* 0: sbxd's default */
	const char *engine; /* NULL: sbxd's default */
	bool quiet;
	const char *extras[CLI_EXTRA_MAX]; /* extra shares as given: "PATH[:ro]" */
	int nextras;
	struct cli_ports ports; /* -p / --publish, published once the sandbox exists */
};

/* Flag ids shared by create and run (cmd_create.c). */
enum {
	CREATE_OPT_NAME = 100,
	CREATE_OPT_MEMORY,
	CREATE_OPT_CPUS,
	CREATE_OPT_ENGINE,
	CREATE_OPT_PUBLISH
};

/**
 * create_args_flag() - apply create flag @id with @value to @c (validating it).
 * Return 0, or 1 with one error line printed (bad memory size, bad cpus, bad name, bad
 * port spec).
 */
int create_args_flag(struct create_args *c, const char *verb, int id, const char *value);

/**
 * cli_known_agents() - comma-separated agents sbx can build or has built, into @buf.
 */
void cli_known_agents(const struct sbx_paths *p, char *buf, size_t len);

/**
 * cli_mounts_json() - the "mounts" array for @c: the workspace @ws (rw) first, then each
 * extra share made absolute (cli_abspath). Return: the array, or NULL with one error printed.
 */
struct json_t *cli_mounts_json(const struct create_args *c, const char *ws);

/**
 * cli_create_sandbox() - check @c (agent known, workspace exists), POST /v1/sandboxes, then
 * make sure the agent's boot assets exist (building them with progress if needed).
 * Return 0 with *@out the new Sandbox (caller decrefs), or 1 with the error printed.
 */
int cli_create_sandbox(struct api *a, const struct sbx_paths *p, const struct create_args *c,
		       struct json_t **out);

/**
 * cli_start_sandbox() - make sure sandbox @name (agent @agent) is running: ensure its boot
 * assets, POST start with the long timeout and a spinner on a terminal, print the one-time TCG
 * notice. On success *@out is the running Sandbox object (caller json_decref()s it).
 * Return 0, or 1 with the error printed.
 */
int cli_start_sandbox(struct api *a, const struct sbx_paths *p, const char *name, const char *agent,
		      struct json_t **out);

/**
 * cli_policy_first_use() - when no default network policy was ever chosen and stdin and
 * stderr are terminals, ask once (balanced, allow-all, deny-all; Enter = balanced) and
 * PUT the answer; @quiet drops the confirmation line. Without a terminal it does nothing
 * at all (no request, no output): sandboxes stay default deny. Never fails the caller.
 */
void cli_policy_first_use(struct api *a, bool quiet);

/**
 * cli_tcg_notice() - print once per sbxd lifetime "sbx: KVM cannot run a stock kernel here
 * (<reason>); using QEMU TCG emulation (slower)", remembered in <runtime>/tcg-notice-shown.
 */
void cli_tcg_notice(const struct sbx_paths *p);

/**
 * cli_tcg_reason() - why KVM cannot run a stock kernel on this host, in a few words, into
 * @buf (e.g. "/dev/kvm is PVM"). Reads /sys and /proc only.
 */
void cli_tcg_reason(char *buf, size_t len);

#endif
