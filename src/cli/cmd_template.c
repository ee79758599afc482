/* `sbx template ls [--json] | build NAME [--force] [-q] | rm NAME`: templates in the cache.
 * Owns the user-facing template verb; the cache layout and building live in common/assets.c.
 * Never deletes anything but a built template's own directory, and never one being built. */
#include "cli/cli.h"
#include "common/progress.h"
#include "common/assets.h"
#include "common/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char template_help[] =
    "Usage: sbx template COMMAND\n"
    "\n"
    "Manage agent templates (read-only root images the sandboxes boot from).\n"
    "\n"
    "Commands:\n"
    "  ls [--json]             list templates and recipes: NAME, STATUS (ready, outdated:\n"
    "                          its recipe changed since, not built, unavailable), SIZE,\n"
    "                          BUILT, TIME (build time), AGENT (npm package@version)\n"
    "  build NAME [--force]    build NAME (and the guest kernel and initramfs if missing)\n"
    "                          unless it is ready; --force rebuilds it anyway (resolving\n"
    "                          the agent's npm version again). create and run rebuild an\n"
    "                          outdated template before use\n"
    "  rm NAME                 delete the built template NAME\n"
    "\n"
    "Options:\n"
    "  -q, --quiet   (build) no progress, only errors\n"
    "  -h, --help    show this help\n";

#define MAX_TEMPLATES 256

struct tmpl_info {
	char name[ASSETS_NAME_MAX];
	bool built, recipe;
	enum assets_tmpl_state state;
	long long size; /* rootfs.img bytes, -1 unknown */
	char built_at[40];
	time_t built_t;
	long long build_seconds; /* -1 unknown */
	char agent[200];	 /* "package@version", "package" (not built), or "" */
	char unavailable[256];	 /* the recipe's AGENT_UNAVAILABLE reason, or "" */
	json_t *meta;		 /* meta.json of a built template, or NULL */
};

static struct tmpl_info *find_info(struct tmpl_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static struct tmpl_info *add_info(struct tmpl_info *v, size_t *n, const char *name)
{
	struct tmpl_info *t = find_info(v, *n, name);
	if (t || *n >= MAX_TEMPLATES || strlen(name) >= sizeof(v[0].name))
		return t;
	t = &v[(*n)++];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, strlen(name) + 1);
	t->size = -1;
	t->build_seconds = -1;
	return t;
}

/* read meta.json of a built template; the image's own size wins over the recorded one */
static void load_meta(const struct sbx_paths *p, struct tmpl_info *t)
{
	char dir[PATH_MAX], f[PATH_MAX];
	struct stat st;

	if (assets_template_dir(p, t->name, dir) < 0)
		return;
	if (sbx_path_join(f, "%s/rootfs.img", dir) == 0 && stat(f, &st) == 0) {
		t->size = (long long)st.st_size;
		t->built_t = st.st_mtime;
	}
	if (sbx_path_join(f, "%s/meta.json", dir) < 0)
		return;
	json_t *m = json_load_file(f, 0, NULL);
	if (!json_is_object(m)) {
		json_decref(m);
		return;
	}
	t->meta = m;
	const char *at = json_string_value(json_object_get(m, "built_at"));
	if (at) {
		struct tm tm = {0};
		snprintf(t->built_at, sizeof(t->built_at), "%s", at);
		if (strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm))
			t->built_t = timegm(&tm);
	}
	json_t *secs = json_object_get(m, "build_seconds");
	if (json_is_integer(secs))
		t->build_seconds = (long long)json_integer_value(secs);
	json_t *agent = json_object_get(m, "agent");
	const char *pkg = json_string_value(json_object_get(agent, "package"));
	const char *ver = json_string_value(json_object_get(agent, "version"));
	if (pkg)
		snprintf(t->agent, sizeof(t->agent), "%s%s%s", pkg, ver ? "@" : "", ver ? ver : "");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct tmpl_info *)a)->name, ((const struct tmpl_info *)b)->name);
}

/* every recipe and every built template, sorted by name */
static size_t collect(const struct sbx_paths *p, struct tmpl_info *v)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	static char names[MAX_TEMPLATES][ASSETS_NAME_MAX];
	size_t nr = assets_recipe_names(p, names, MAX_TEMPLATES);
	for (size_t i = 0; i < nr; i++) {
		struct tmpl_info *t = add_info(v, &n, names[i]);
		if (t)
			t->recipe = true;
	}
	if (sbx_path_join(dir, "%s/templates", p->cache) == 0 && (d = opendir(dir))) {
		while ((de = readdir(d))) {
			if (!assets_name_valid(de->d_name) || !assets_template_built(p, de->d_name))
				continue;
			struct tmpl_info *t = add_info(v, &n, de->d_name);
			if (t)
				t->built = true;
		}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++) {
		v[i].state =
		    v[i].built ? assets_template_state(p, v[i].name) : ASSETS_TMPL_NOT_BUILT;
		if (v[i].built)
			load_meta(p, &v[i]);
		if (v[i].recipe) {
			assets_template_unavailable(p, v[i].name, v[i].unavailable,
						    sizeof(v[i].unavailable));
			if (!v[i].agent[0])
				assets_recipe_value(p, v[i].name, "AGENT_NPM", v[i].agent,
						    sizeof(v[i].agent));
		}
	}
	qsort(v, n, sizeof(v[0]), by_name);
	return n;
}

static const char *status_word(const struct tmpl_info *t)
{
	switch (t->state) {
	case ASSETS_TMPL_READY:
		return "ready";
	case ASSETS_TMPL_OUTDATED:
		return "outdated";
	case ASSETS_TMPL_NOT_BUILT:
		break;
	}
	return t->unavailable[0] ? "unavailable" : "not built";
}

/* one template as JSON: its meta.json's fields, then what ls knows beyond them */
static json_t *info_json(const struct sbx_paths *p, const struct tmpl_info *t)
{
	json_t *o = t->meta ? json_deep_copy(t->meta) : json_object();
	char hex[65], base[72];

	if (!o)
		return NULL;
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "status", json_string(status_word(t)));
	json_object_set_new(o, "built", json_boolean(t->built));
	json_object_set_new(o, "recipe", json_boolean(t->recipe));
	if (t->built) {
		json_object_set_new(o, "size_bytes", json_integer(t->size));
		if (!t->built_at[0])
			json_object_set_new(o, "built_at", json_null());
	}
	if (t->recipe) {
		json_object_set_new(o, "recipe_sha256_current",
				    assets_recipe_sha256(p, t->name, hex) == 0 ? json_string(hex)
									       : json_null());
		if (!json_object_get(o, "base") &&
		    assets_recipe_value(p, t->name, "BASE", base, sizeof(base)) == 0)
			json_object_set_new(o, "base", json_string(base));
		if (!json_object_get(o, "agent") && t->agent[0])
			json_object_set_new(o, "agent", json_pack("{s:s}", "package", t->agent));
	}
	if (t->unavailable[0])
		json_object_set_new(o, "unavailable", json_string(t->unavailable));
	return o;
}

static void free_infos(struct tmpl_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].meta);
		v[i].meta = NULL;
	}
}

static int template_ls(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {0, "json", CLI_ARG_NONE, 'j'},
	    {'q', "quiet", CLI_ARG_NONE, 'q'},
	    {0, NULL, 0, 0},
	};
	static const char *const header[] = {"NAME", "STATUS", "SIZE", "BUILT", "TIME", "AGENT"};
	static struct tmpl_info v[MAX_TEMPLATES];
	struct cli_parser ps;
	bool json = false, quiet = false;
	int id;

	cli_parser_init(&ps, argc, argv, "template", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(template_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			return cli_usage_error("template", "ls: unexpected argument '%s'",
					       ps.value);
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	size_t n = collect(p, v);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, info_json(p, &v[i]));
		free_infos(v, n);
		char *s = json_dumps(arr, JSON_INDENT(2));
		json_decref(arr);
		if (!s) {
			sbx_err("template ls: out of memory (free some memory)");
			return 1;
		}
		puts(s);
		free(s);
		return 0;
	}
	free_infos(v, n);
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			if (v[i].built)
				puts(v[i].name);
		return 0;
	}
	enum { NCOLS = 6 };
	static char cells[MAX_TEMPLATES][NCOLS][64];
	static const char *ptrs[MAX_TEMPLATES * NCOLS];
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		char(*c)[64] = cells[i];
		snprintf(c[0], sizeof(c[0]), "%s", v[i].name);
		snprintf(c[1], sizeof(c[1]), "%s", status_word(&v[i]));
		snprintf(c[2], sizeof(c[2]), "-");
		snprintf(c[3], sizeof(c[3]), "-");
		snprintf(c[4], sizeof(c[4]), "-");
		if (v[i].built) {
			progress_human_size(v[i].size, c[2], sizeof(c[2]));
			progress_human_age(v[i].built_t, now, c[3], sizeof(c[3]));
		}
		if (v[i].build_seconds >= 0)
			snprintf(c[4], sizeof(c[4]), "%lldm%02llds", v[i].build_seconds / 60,
				 v[i].build_seconds % 60);
		snprintf(c[5], sizeof(c[5]), "%s", v[i].agent[0] ? v[i].agent : "-");
		for (int k = 0; k < NCOLS; k++)
			ptrs[i * NCOLS + (size_t)k] = c[k];
	}
	cli_table_print(stdout, header, NCOLS, ptrs, n);
	return 0;
}

static int name_arg(struct cli_parser *ps, const char *sub, const char **name)
{
	if (*name)
		return cli_usage_error("template", "%s: unexpected argument '%s'", sub, ps->value);
	*name = ps->value;
	return 0;
}

static int template_build(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {
	    {'f', "force", CLI_ARG_NONE, 'f'},
	    {'q', "quiet", CLI_ARG_NONE, 'q'},
	    {0, NULL, 0, 0},
	};
	struct cli_parser ps;
	const char *name = NULL;
	bool force = false, quiet = false;
	struct sbx_assets a;
	int id;

	cli_parser_init(&ps, argc, argv, "template", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(template_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			if (name_arg(&ps, "build", &name))
				return 1;
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	if (!name)
		return cli_usage_error("template", "build: missing template NAME");
	if (!assets_name_valid(name)) {
		sbx_err(
		    "template build: invalid name '%s' (use lowercase letters, digits, - and _)",
		    name);
		return 1;
	}
	if (!assets_template_has_recipe(p, name)) {
		sbx_err("template build: unknown template '%s': no recipe "
			"%s/images/templates/%s.conf (see: sbx template ls)",
			name, p->libdir, name);
		return 1;
	}
	char why[256];
	if (assets_template_unavailable(p, name, why, sizeof(why))) {
		sbx_err(
		    "template build: template %s is unavailable here: %s (see: sbx template ls)",
		    name, why);
		return 1;
	}
	/* kernel + initramfs first (fast, and a broken network shows up before a long build) */
	if (assets_ensure(p, NULL, quiet, &a) < 0)
		return 1;
	if (assets_template_build(p, name, force, quiet) < 0)
		return 1;
	if (!quiet && !force && assets_template_current(p, name))
		printf("template %s is ready\n", name);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return r < 0 && errno != ENOENT ? -1 : 0;
}

static int template_rm(int argc, char **argv, const struct sbx_paths *p)
{
	static const struct cli_opt opts[] = {{0, NULL, 0, 0}};
	struct cli_parser ps;
	const char *name = NULL;
	char dir[PATH_MAX], lock[PATH_MAX], trash[PATH_MAX];
	int id;

	cli_parser_init(&ps, argc, argv, "template", opts, false);
	while ((id = cli_opt_next(&ps)) != CLI_OPT_END) {
		switch (id) {
		case CLI_OPT_ERROR:
			return 1;
		case CLI_OPT_HELP:
			fputs(template_help, stdout);
			return 0;
		case CLI_OPT_POSITIONAL:
			if (name_arg(&ps, "rm", &name))
				return 1;
			break;
		}
	}
	if (!name)
		return cli_usage_error("template", "rm: missing template NAME");
	if (!assets_name_valid(name) || assets_template_dir(p, name, dir) < 0) {
		sbx_err("template rm: invalid name '%s' (see: sbx template ls)", name);
		return 1;
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (assets_template_has_recipe(p, name))
			sbx_err("template rm: template %s is not built (nothing to remove)", name);
		else
			sbx_err("template rm: unknown template '%s' (see: sbx template ls)", name);
		return 1;
	}
	/* the build script holds this lock while it builds; refuse rather than race it */
	if (sbx_path_join(lock, "%s/templates/.lock-%s", p->cache, name) < 0 ||
	    sbx_path_join(trash, "%s/templates/.rm-%s.%d", p->cache, name, (int)getpid()) < 0)
		return 1;
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		sbx_err("template rm: template %s is being built (wait for the build to finish)",
			name);
		close(fd);
		return 1;
	}
	/* rename first so a reader never sees a half-deleted template */
	if (rename(dir, trash) < 0) {
		sbx_err("template rm: cannot remove %s: %s (check permissions)", dir,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	int r = nftw(trash, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (fd >= 0)
		close(fd);
	if (r != 0) {
		sbx_err("template rm: removing %s: %s (delete it by hand)", trash, strerror(errno));
		return 1;
	}
	printf("%s\n", name);
	return 0;
}

/**
 * cmd_template() - `sbx template ls|build|rm ...`; @argv[0] is "template".
 * Return: the exit status (0, or 1 with one error line printed).
 */
int cmd_template(int argc, char **argv, const struct sbx_paths *p)
{
	if (argc < 2) {
		fputs(template_help, stderr);
		return 1;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		fputs(template_help, stdout);
		return 0;
	}
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
		return template_ls(argc - 1, argv + 1, p);
	if (strcmp(sub, "build") == 0)
		return template_build(argc - 1, argv + 1, p);
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
		return template_rm(argc - 1, argv + 1, p);
	return cli_usage_error("template", "unknown command '%s' (use ls, build or rm)", sub);
}
