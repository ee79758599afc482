/* Unit tests for the boot-asset cache logic (common/assets.c) and the progress protocol and
 * rendering (cli/progress.c), with fake files in a temp dir. Never touches the real cache and
 * never runs the real images/ scripts (fake scripts stand in for them). */
#include "common/progress.h"
#include "common/assets.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[PATH_MAX];

static void write_file(const char *content, int mode, const char *fmt, ...)
{
	char path[PATH_MAX], dir[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	sbx_path_join(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	sbx_mkdir_p(dir, 0755);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
}

static void make_dir(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	sbx_mkdir_p(path, 0755);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void fake_paths(struct sbx_paths *p, const char *tag)
{
	memset(p, 0, sizeof(*p));
	sbx_path_join(p->cache, "%s/%s/cache", root, tag);
	sbx_path_join(p->libdir, "%s/%s/lib", root, tag);
	make_dir("%s", p->cache);
	make_dir("%s/images/templates", p->libdir);
}

static void fake_kernel(const struct sbx_paths *p, const char *kver, bool complete)
{
	write_file("\177ELF", 0644, "%s/kernel/%s/vmlinux", p->cache, kver);
	write_file(kver, 0644, "%s/kernel/%s/version", p->cache, kver);
	if (complete)
		make_dir("%s/kernel/%s/modules", p->cache, kver);
}

/* run @fn with stderr captured into @buf */
static int capture_stderr(char *buf, size_t len, int (*fn)(void *), void *arg)
{
	char path[PATH_MAX];
	sbx_path_join(path, "%s/stderr.txt", root);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	int r = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

TEST(parse_step_count_msg_error)
{
	struct progress_line pl;

	CHECK_EQ(progress_parse_line("@@step 2 7 Installing packages", &pl), PROG_STEP);
	CHECK_EQ(pl.a, 2);
	CHECK_EQ(pl.b, 7);
	CHECK_STR(pl.text, "Installing packages");
	CHECK_EQ(progress_parse_line("@@count 37 412", &pl), PROG_COUNT);
	CHECK_EQ(pl.a, 37);
	CHECK_EQ(pl.b, 412);
	CHECK_EQ(progress_parse_line("@@msg kernel ready", &pl), PROG_MSG);
	CHECK_STR(pl.text, "kernel ready");
	CHECK_EQ(progress_parse_line("@@error building x: failed (fix it)", &pl), PROG_ERROR);
	CHECK_STR(pl.text, "building x: failed (fix it)");
	CHECK_EQ(progress_parse_line("Unpacking bash (5.2) ...", &pl), PROG_LOG);
	CHECK_STR(pl.text, "Unpacking bash (5.2) ...");
	CHECK_EQ(progress_parse_line("", &pl), PROG_LOG);
}

TEST(parse_rejects_malformed)
{
	struct progress_line pl;
	const char *bad[] = {"@@step 3 2 more than all",
			     "@@step 0 2 zero",
			     "@@step x 2 t",
			     "@@step 2",
			     "@@step -1 3 t",
			     "@@count 5 3",
			     "@@count 1 0",
			     "@@count 1 2 extra",
			     "@@count 99999999999999999999 1",
			     "@@stepper 1 2 x",
			     "@@",
			     "@@msg",
			     "@step 1 2 x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (progress_parse_line(bad[i], &pl) != PROG_LOG) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
	CHECK_EQ(progress_parse_line("@@step 1 1", &pl), PROG_STEP); /* empty text is fine */
	CHECK_STR(pl.text, "");
}

TEST(format_status_bar_and_fit)
{
	struct progress pr;
	char buf[256];

	progress_init(&pr, PROGRESS_QUIET, stderr, NULL, "Building template shell");
	progress_feed(&pr, "@@step 2 4 Installing packages");
	progress_feed(&pr, "@@count 206 412");
	progress_format_status(&pr, 41, 0, buf, sizeof(buf));
	CHECK_STR(buf, "[2/4] Installing packages  206/412 [##########..........] 0:41");
	progress_feed(&pr, "@@step 3 4 Packing");
	progress_format_status(&pr, 125, 0, buf, sizeof(buf));
	CHECK_STR(buf, "[3/4] Packing  2:05"); /* a new step drops the old count */
	progress_feed(&pr, "@@step 4 4 A very long step description that will not fit at all");
	progress_feed(&pr, "@@count 1 2");
	progress_format_status(&pr, 0, 60, buf, sizeof(buf));
	CHECK(strlen(buf) < 60);
	CHECK(strstr(buf, "1/2 [##########..........] 0:00") != NULL);
}

TEST(plain_mode_prints_steps_and_logs_the_rest)
{
	char *out = NULL, *log = NULL;
	size_t outn = 0, logn = 0;
	FILE *fo = open_memstream(&out, &outn), *fl = open_memstream(&log, &logn);
	struct progress pr;

	progress_init(&pr, PROGRESS_PLAIN, fo, fl, "Fetching guest kernel");
	progress_feed(&pr, "@@step 1 2 Downloading");
	progress_feed(&pr, "Get:1 http://deb.debian.org linux-image");
	progress_feed(&pr, "@@count 1 2");
	progress_feed(&pr, "@@error fetching: broken (retry)");
	progress_done(&pr, true);
	fclose(fo);
	fclose(fl);
	CHECK(strstr(out, "Fetching guest kernel: [1/2] Downloading (0:00)\n") != NULL);
	CHECK(strstr(out, "Get:1") == NULL);
	CHECK(strstr(out, "Fetching guest kernel: done") != NULL);
	CHECK(strstr(log, "Get:1 http://deb.debian.org linux-image\n") != NULL);
	CHECK_STR(pr.error, "fetching: broken (retry)");
	free(out);
	free(log);
}

TEST(quiet_mode_prints_nothing)
{
	char *out = NULL;
	size_t outn = 0;
	FILE *fo = open_memstream(&out, &outn);
	struct progress pr;

	progress_init(&pr, PROGRESS_QUIET, fo, NULL, "x");
	progress_feed(&pr, "@@step 1 2 Downloading");
	progress_feed(&pr, "@@msg hello");
	progress_done(&pr, true);
	fclose(fo);
	CHECK_EQ(outn, 0);
	free(out);
}

TEST(human_size_and_age)
{
	char b[32];
	progress_human_size(512, b, sizeof(b));
	CHECK_STR(b, "512 B");
	progress_human_size(3 * 1024 * 1024 + 400 * 1024, b, sizeof(b));
	CHECK_STR(b, "3.4 MiB");
	progress_human_size(261LL * 1024 * 1024, b, sizeof(b));
	CHECK_STR(b, "261 MiB");
	progress_human_size(-1, b, sizeof(b));
	CHECK_STR(b, "-");
	progress_human_age(1000, 1030, b, sizeof(b));
	CHECK_STR(b, "just now");
	progress_human_age(1000, 1000 + 60, b, sizeof(b));
	CHECK_STR(b, "1 minute ago");
	progress_human_age(1000, 1000 + 3 * 3600 + 5, b, sizeof(b));
	CHECK_STR(b, "3 hours ago");
	progress_human_age(1000, 1000 + 2 * 86400, b, sizeof(b));
	CHECK_STR(b, "2 days ago");
}

TEST(name_validation)
{
	CHECK(assets_name_valid("shell"));
	CHECK(assets_name_valid("claude-code_2.x"));
	CHECK(!assets_name_valid(""));
	CHECK(!assets_name_valid(NULL));
	CHECK(!assets_name_valid("../etc"));
	CHECK(!assets_name_valid("a/b"));
	CHECK(!assets_name_valid("-x"));
	CHECK(!assets_name_valid(".hidden"));
	CHECK(!assets_name_valid("Shell"));
	CHECK(!assets_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
}

TEST(kernel_find_picks_newest_complete)
{
	struct sbx_paths p;
	char dir[PATH_MAX], kver[64], want[PATH_MAX];

	fake_paths(&p, "kf");
	CHECK_EQ(assets_kernel_find(&p, dir, kver, sizeof(kver)), -1);
	fake_kernel(&p, "6.1.0-9-cloud-amd64", true);
	fake_kernel(&p, "6.1.0-56-cloud-amd64", true);
	fake_kernel(&p, "6.1.0-99-cloud-amd64", false); /* no modules/: half-made */
	make_dir("%s/kernel/.tmp-6.1.0-77-cloud-amd64.abc", p.cache);
	CHECK_EQ(assets_kernel_find(&p, dir, kver, sizeof(kver)), 0);
	CHECK_STR(kver, "6.1.0-56-cloud-amd64"); /* 56 > 9 numerically */
	sbx_path_join(want, "%s/kernel/6.1.0-56-cloud-amd64", p.cache);
	CHECK_STR(dir, want);
}

TEST(initramfs_name_tracks_inputs)
{
	char a[64], b[64], c[64], d[64], init[PATH_MAX], script[PATH_MAX];

	sbx_path_join(init, "%s/ih/sbx-init", root);
	sbx_path_join(script, "%s/ih/initramfs.sh", root);
	write_file("init-v1", 0755, "%s", init);
	write_file("script", 0755, "%s", script);
	CHECK_EQ(assets_initramfs_name(init, "6.1.0-56", script, a, sizeof(a)), 0);
	CHECK_EQ(strlen(a), 16 + 5);
	CHECK(strcmp(a + 16, ".cpio") == 0);
	CHECK_EQ(assets_initramfs_name(init, "6.1.0-56", script, b, sizeof(b)), 0);
	CHECK_STR(a, b);
	CHECK_EQ(assets_initramfs_name(init, "6.1.0-57", script, c, sizeof(c)), 0);
	CHECK(strcmp(a, c) != 0);
	write_file("init-v2", 0755, "%s", init);
	CHECK_EQ(assets_initramfs_name(init, "6.1.0-56", script, d, sizeof(d)), 0);
	CHECK(strcmp(a, d) != 0);
	CHECK_EQ(assets_initramfs_name("/nonexistent/sbx-init", "x", script, d, sizeof(d)), -1);
}

static const struct sbx_paths *find_p;
static struct sbx_assets find_out;
static const char *find_tmpl;
static int do_find(void *arg)
{
	(void)arg;
	return assets_find(find_p, find_tmpl, &find_out);
}

TEST(find_reports_what_is_missing)
{
	struct sbx_paths p;
	char err[2048], name[64], want[PATH_MAX], init[PATH_MAX], script[PATH_MAX];

	fake_paths(&p, "find");
	find_p = &p;
	find_tmpl = "shell";
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "guest kernel missing") != NULL);
	CHECK(strstr(err, "sbx template build shell") != NULL);
	CHECK(strchr(err, '\n') == err + strlen(err) - 1); /* one line */

	fake_kernel(&p, "6.1.0-56-cloud-amd64", true);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "sbx-init") != NULL); /* libdir has no sbx-init yet */

	sbx_path_join(init, "%s/sbx-init", p.libdir);
	sbx_path_join(script, "%s/images/initramfs.sh", p.libdir);
	write_file("init", 0755, "%s", init);
	write_file("#!/bin/bash\n", 0755, "%s", script);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "initramfs missing") != NULL);

	CHECK_EQ(assets_initramfs_name(init, "6.1.0-56-cloud-amd64", script, name, sizeof(name)),
		 0);
	write_file("cpio", 0644, "%s/initramfs/%s", p.cache, name);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "unknown template 'shell'") != NULL);

	write_file("PACKAGES=(bash)\n", 0644, "%s/images/templates/shell.conf", p.libdir);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "template shell is not built (run: sbx template build shell)") != NULL);

	write_file("img", 0644, "%s/templates/shell/rootfs.img", p.cache);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1); /* no meta.json */
	write_file("{}", 0644, "%s/templates/shell/meta.json", p.cache);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), 0);
	CHECK_STR(err, "");
	sbx_path_join(want, "%s/kernel/6.1.0-56-cloud-amd64/vmlinux", p.cache);
	CHECK_STR(find_out.kernel, want);
	sbx_path_join(want, "%s/initramfs/%s", p.cache, name);
	CHECK_STR(find_out.initramfs, want);
	sbx_path_join(want, "%s/templates/shell/rootfs.img", p.cache);
	CHECK_STR(find_out.rootfs, want);

	find_tmpl = NULL; /* kernel + initramfs only */
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), 0);
	CHECK_STR(find_out.rootfs, "");
	find_tmpl = "../../etc";
	CHECK_EQ(capture_stderr(err, sizeof(err), do_find, NULL), -1);
	CHECK(strstr(err, "invalid name") != NULL);
}

TEST(template_known)
{
	struct sbx_paths p;

	fake_paths(&p, "known");
	CHECK(!assets_template_known(&p, "shell"));
	write_file("PACKAGES=(bash)\n", 0644, "%s/images/templates/shell.conf", p.libdir);
	CHECK(assets_template_known(&p, "shell"));
	CHECK(assets_template_has_recipe(&p, "shell"));
	CHECK(!assets_template_built(&p, "shell"));
	write_file("img", 0644, "%s/templates/mine/rootfs.img", p.cache);
	write_file("{}", 0644, "%s/templates/mine/meta.json", p.cache);
	CHECK(assets_template_known(&p, "mine"));
	CHECK(!assets_template_has_recipe(&p, "mine"));
	CHECK(!assets_template_known(&p, "nope"));
	CHECK(!assets_template_known(&p, "../known/lib/images/templates/shell"));
}

struct run_case {
	const char *body;
	int timeout;
	char result[PATH_MAX];
	char log[PATH_MAX];
};

static int do_run(void *arg)
{
	struct run_case *rc = arg;
	char script[PATH_MAX];
	sbx_path_join(script, "%s/run/job.sh", root);
	sbx_path_join(rc->log, "%s/run/job.log", root);
	write_file(rc->body, 0644, "%s", script);
	char *argv[] = {"/bin/bash", script, NULL};
	return assets_run_script(argv, "Test job", "running the test job", rc->log, rc->timeout,
				 true, rc->result);
}

TEST(run_script_success_failure_timeout)
{
	struct run_case rc = {.timeout = 20};
	char err[4096];

	rc.body = "echo '@@step 1 1 Working' >&2; echo some log >&2; echo /the/result\n";
	CHECK_EQ(capture_stderr(err, sizeof(err), do_run, &rc), 0);
	CHECK_STR(rc.result, "/the/result");
	CHECK_STR(err, ""); /* quiet: nothing */

	rc.body = "echo 'apt said no' >&2; echo '@@error fetching x: no network (retry)' >&2;"
		  " exit 3\n";
	CHECK_EQ(capture_stderr(err, sizeof(err), do_run, &rc), -1);
	CHECK(strstr(err, "apt said no") != NULL); /* the log tail */
	CHECK(strstr(err, "sbx: fetching x: no network (retry)\n") != NULL);

	rc.body = "echo partial >&2; exit 4\n"; /* no @@error: a generic line naming the log */
	CHECK_EQ(capture_stderr(err, sizeof(err), do_run, &rc), -1);
	CHECK(strstr(err, "running the test job:") != NULL);
	CHECK(strstr(err, "status 4") != NULL);
	CHECK(strstr(err, rc.log) != NULL);

	rc.body = "exit 0\n"; /* success but no result line */
	CHECK_EQ(capture_stderr(err, sizeof(err), do_run, &rc), -1);
	CHECK(strstr(err, "printed no result") != NULL);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc.timeout = 1;
	rc.body = "sleep 30 & wait\n"; /* the child's own children die with the group */
	CHECK_EQ(capture_stderr(err, sizeof(err), do_run, &rc), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 8);
	CHECK(strstr(err, "timed out after 1 s") != NULL);
}

/* the first line of `sh -c @cmd`'s stdout into @out */
static void sh_line(char *out, size_t len, const char *cmd)
{
	FILE *f = popen(cmd, "r");
	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	pclose(f);
}

/* a libdir with build-template.sh, shell.conf and claude.conf (BASE=shell) */
static void fake_recipes(struct sbx_paths *p, const char *tag)
{
	fake_paths(p, tag);
	write_file("#!/bin/bash\necho build\n", 0755, "%s/images/build-template.sh", p->libdir);
	write_file("PACKAGES=(bash)\n", 0644, "%s/images/templates/shell.conf", p->libdir);
	write_file("# an agent\nBASE=shell\n. \"$(dirname \"${BASH_SOURCE[0]}\")/$BASE.conf\"\n"
		   "AGENT_NPM='@anthropic-ai/claude-code'\nAGENT_COMMAND=(claude)\n",
		   0644, "%s/images/templates/claude.conf", p->libdir);
}

TEST(recipe_sha256_is_the_sha256sum_of_its_files)
{
	struct sbx_paths p;
	char a[65], b[65], want[256], cmd[PATH_MAX + 200];

	fake_recipes(&p, "rh");
	CHECK_EQ(assets_recipe_sha256(&p, "claude", a), 0);
	CHECK_EQ(strlen(a), 64);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s/images' && sha256sum build-template.sh templates/shell.conf "
		 "templates/claude.conf | sha256sum | cut -d' ' -f1",
		 p.libdir);
	sh_line(want, sizeof(want), cmd);
	CHECK_STR(a, want);
	CHECK_EQ(assets_recipe_sha256(&p, "shell", b), 0); /* no base: script + itself */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s/images' && sha256sum build-template.sh templates/shell.conf | sha256sum "
		 "| cut -d' ' -f1",
		 p.libdir);
	sh_line(want, sizeof(want), cmd);
	CHECK_STR(b, want);

	/* any of the files changing changes it: the base, the script, the recipe itself */
	write_file("PACKAGES=(bash docker.io)\n", 0644, "%s/images/templates/shell.conf", p.libdir);
	CHECK_EQ(assets_recipe_sha256(&p, "claude", b), 0);
	CHECK(strcmp(a, b) != 0);
	memcpy(a, b, sizeof(a));
	write_file("#!/bin/bash\necho build v2\n", 0755, "%s/images/build-template.sh", p.libdir);
	CHECK_EQ(assets_recipe_sha256(&p, "claude", b), 0);
	CHECK(strcmp(a, b) != 0);

	/* the real script computes the same (when the tests run from the source tree) */
	if (access("images/build-template.sh", R_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp images/build-template.sh '%s/images/'", p.libdir);
		CHECK_EQ(system(cmd), 0);
		CHECK_EQ(assets_recipe_sha256(&p, "claude", a), 0);
		snprintf(cmd, sizeof(cmd),
			 "bash '%s/images/build-template.sh' --recipe-sha256 claude 2>&1",
			 p.libdir);
		sh_line(want, sizeof(want), cmd);
		CHECK_STR(a, want);
	}

	errno = 0;
	CHECK_EQ(assets_recipe_sha256(&p, "nope", a), -1);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(assets_recipe_sha256(&p, "../x", a), -1);
	CHECK_EQ(errno, EINVAL);
	write_file("BASE=gone\n", 0644, "%s/images/templates/orphan.conf", p.libdir);
	CHECK_EQ(assets_recipe_sha256(&p, "orphan", a), -1);
	CHECK_EQ(errno, ENOENT);
	write_file("BASE=\"loop-b\"\n", 0644, "%s/images/templates/loop-a.conf", p.libdir);
	write_file("BASE='loop-a'\n", 0644, "%s/images/templates/loop-b.conf", p.libdir);
	CHECK_EQ(assets_recipe_sha256(&p, "loop-a", a), -1);
	CHECK_EQ(errno, ELOOP);
	write_file("BASE=../../etc/passwd\n", 0644, "%s/images/templates/evil.conf", p.libdir);
	CHECK_EQ(assets_recipe_sha256(&p, "evil", a), -1);
	CHECK_EQ(errno, EINVAL);
}

TEST(recipe_values_and_unavailable)
{
	struct sbx_paths p;
	char v[128];

	fake_recipes(&p, "rv");
	CHECK_EQ(assets_recipe_value(&p, "claude", "AGENT_NPM", v, sizeof(v)), 0);
	CHECK_STR(v, "@anthropic-ai/claude-code"); /* quotes removed */
	CHECK_EQ(assets_recipe_value(&p, "claude", "BASE", v, sizeof(v)), 0);
	CHECK_STR(v, "shell");
	CHECK_EQ(assets_recipe_value(&p, "shell", "AGENT_NPM", v, sizeof(v)), -1); /* own file */
	CHECK_EQ(assets_recipe_value(&p, "claude", "AGENT", v, sizeof(v)), -1);	   /* whole key */
	CHECK_EQ(assets_recipe_value(&p, "nope", "BASE", v, sizeof(v)), -1);
	CHECK_EQ(assets_recipe_value(&p, "claude", "AGENT_NPM", v, 5), -1); /* does not fit */
	CHECK(!assets_template_unavailable(&p, "claude", v, sizeof(v)));

	write_file(
	    "BASE=shell\nAGENT_NPM=x\n# AGENT_UNAVAILABLE=\"commented out\"\n"
	    "AGENT_UNAVAILABLE=\"first\"\nAGENT_UNAVAILABLE=\"its postinstall downloads from "
	    "github.com (not reachable here)\"  \n",
	    0644, "%s/images/templates/blocked.conf", p.libdir);
	CHECK(assets_template_unavailable(&p, "blocked", v, sizeof(v)));
	CHECK_STR(v, "its postinstall downloads from github.com (not reachable here)");
	CHECK(assets_template_unavailable(&p, "blocked", NULL, 0));

	char names[8][ASSETS_NAME_MAX];
	write_file("x", 0644, "%s/images/templates/Bad.conf", p.libdir);
	write_file("x", 0644, "%s/images/templates/notes.txt", p.libdir);
	write_file("x", 0644, "%s/images/templates/.conf", p.libdir);
	CHECK_EQ(assets_recipe_names(&p, names, 8), 3);
	CHECK_STR(names[0], "blocked");
	CHECK_STR(names[1], "claude");
	CHECK_STR(names[2], "shell");
	CHECK_EQ(assets_recipe_names(&p, names, 1), 1);
}

/* a built template with meta.json recording @sha (NULL: no recipe_sha256 field) */
static void fake_built(const struct sbx_paths *p, const char *name, const char *sha)
{
	char meta[256];
	if (sha)
		snprintf(meta, sizeof(meta), "{\"name\": \"%s\", \"recipe_sha256\": \"%s\"}", name,
			 sha);
	else
		snprintf(meta, sizeof(meta), "{\"name\": \"%s\"}", name);
	write_file("img", 0644, "%s/templates/%s/rootfs.img", p->cache, name);
	write_file(meta, 0644, "%s/templates/%s/meta.json", p->cache, name);
}

TEST(template_state_follows_the_recipe)
{
	struct sbx_paths p;
	char sha[65];

	fake_recipes(&p, "st");
	CHECK_EQ(assets_template_state(&p, "claude"), ASSETS_TMPL_NOT_BUILT);
	CHECK_EQ(assets_recipe_sha256(&p, "claude", sha), 0);
	fake_built(&p, "claude", sha);
	CHECK_EQ(assets_template_state(&p, "claude"), ASSETS_TMPL_READY);
	CHECK(assets_template_current(&p, "claude"));
	/* the base recipe changes: the agent template is outdated, but still built */
	write_file("PACKAGES=(bash git)\n", 0644, "%s/images/templates/shell.conf", p.libdir);
	CHECK_EQ(assets_template_state(&p, "claude"), ASSETS_TMPL_OUTDATED);
	CHECK(!assets_template_current(&p, "claude"));
	CHECK(assets_template_built(&p, "claude"));
	/* built before hashes were recorded: outdated */
	fake_built(&p, "shell", NULL);
	CHECK_EQ(assets_template_state(&p, "shell"), ASSETS_TMPL_OUTDATED);
	fake_built(&p, "shell", "zz");
	CHECK_EQ(assets_template_state(&p, "shell"), ASSETS_TMPL_OUTDATED);
	/* a template with no recipe (saved, imported) has nothing to be outdated against */
	fake_built(&p, "mine", NULL);
	CHECK_EQ(assets_template_state(&p, "mine"), ASSETS_TMPL_READY);
	/* unreadable meta.json */
	write_file("{not json", 0644, "%s/templates/claude/meta.json", p.cache);
	CHECK_EQ(assets_template_state(&p, "claude"), ASSETS_TMPL_OUTDATED);
}

static const struct sbx_paths *build_p;
static const char *build_name;
static bool build_force;
static int do_build(void *arg)
{
	(void)arg;
	return assets_template_build(build_p, build_name, build_force, true);
}

/* a stand-in build-template.sh: counts its runs, fails when the recipe says FAIL=1, else
 * writes the template with the recipe hash the real script would record */
static const char fake_build_script[] =
    "#!/bin/bash\n"
    "set -eu\n"
    "name=$1 out=$2 here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
    "echo run >>\"$here/runs\"\n"
    "if grep -q '^FAIL=1' \"$here/templates/$name.conf\"; then\n"
    "  echo '@@error building template '$name': Unable to locate package nope' >&2; exit 1\n"
    "fi\n"
    "h=$(cd \"$here\" && sha256sum build-template.sh templates/$name.conf | sha256sum | cut "
    "-d' ' -f1)\n"
    "mkdir -p \"$out.new\" && echo new >\"$out.new/rootfs.img\"\n"
    "printf '{\"recipe_sha256\": \"%s\"}' \"$h\" >\"$out.new/meta.json\"\n"
    "rm -rf \"$out\" && mv \"$out.new\" \"$out\" && echo \"$out\"\n";

static int count_runs(const struct sbx_paths *p)
{
	char f[PATH_MAX], line[32];
	int n = 0;
	sbx_path_join(f, "%s/images/runs", p->libdir);
	FILE *fp = fopen(f, "r");
	while (fp && fgets(line, sizeof(line), fp))
		n++;
	if (fp)
		fclose(fp);
	return n;
}

TEST(build_rebuilds_outdated_and_keeps_old_on_failure)
{
	struct sbx_paths p;
	char err[4096], img[PATH_MAX], content[16] = "";

	fake_paths(&p, "rb");
	write_file(fake_build_script, 0755, "%s/images/build-template.sh", p.libdir);
	write_file("PACKAGES=(bash)\n", 0644, "%s/images/templates/agent.conf", p.libdir);
	build_p = &p;
	build_name = "agent";
	build_force = false;
	CHECK_EQ(capture_stderr(err, sizeof(err), do_build, NULL), 0);
	CHECK_EQ(count_runs(&p), 1);
	CHECK_EQ(assets_template_state(&p, "agent"), ASSETS_TMPL_READY);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_build, NULL), 0); /* current: no run */
	CHECK_EQ(count_runs(&p), 1);

	write_file("PACKAGES=(bash git)\n", 0644, "%s/images/templates/agent.conf", p.libdir);
	CHECK_EQ(assets_template_state(&p, "agent"), ASSETS_TMPL_OUTDATED);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_build, NULL), 0); /* outdated: rebuilt */
	CHECK_EQ(count_runs(&p), 2);
	CHECK_EQ(assets_template_state(&p, "agent"), ASSETS_TMPL_READY);

	/* a failing rebuild leaves the previous build in place (outdated) */
	sbx_path_join(img, "%s/templates/agent/rootfs.img", p.cache);
	write_file("old", 0644, "%s", img);
	write_file("PACKAGES=(bash nope)\nFAIL=1\n", 0644, "%s/images/templates/agent.conf",
		   p.libdir);
	CHECK_EQ(capture_stderr(err, sizeof(err), do_build, NULL), -1);
	CHECK_EQ(count_runs(&p), 3);
	CHECK(strstr(err, "building template agent: Unable to locate package nope") != NULL);
	FILE *f = fopen(img, "r");
	CHECK(f && fgets(content, sizeof(content), f));
	if (f)
		fclose(f);
	CHECK_STR(content, "old");
	CHECK_EQ(assets_template_state(&p, "agent"), ASSETS_TMPL_OUTDATED);

	/* an unavailable agent is refused with its reason, without running the script */
	write_file("PACKAGES=(bash)\nAGENT_UNAVAILABLE=\"needs github.com\"\n", 0644,
		   "%s/images/templates/blocked.conf", p.libdir);
	build_name = "blocked";
	CHECK_EQ(capture_stderr(err, sizeof(err), do_build, NULL), -1);
	CHECK(strstr(err, "template blocked is unavailable here: needs github.com") != NULL);
	CHECK_EQ(count_runs(&p), 3);
}

int main(void)
{
	sbx_path_join(root, "/tmp/sbx-assets-test.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	RUN(parse_step_count_msg_error);
	RUN(parse_rejects_malformed);
	RUN(format_status_bar_and_fit);
	RUN(plain_mode_prints_steps_and_logs_the_rest);
	RUN(quiet_mode_prints_nothing);
	RUN(human_size_and_age);
	RUN(name_validation);
	RUN(kernel_find_picks_newest_complete);
	RUN(initramfs_name_tracks_inputs);
	RUN(find_reports_what_is_missing);
	RUN(template_known);
	RUN(run_script_success_failure_timeout);
	RUN(recipe_sha256_is_the_sha256sum_of_its_files);
	RUN(recipe_values_and_unavailable);
	RUN(template_state_follows_the_recipe);
	RUN(build_rebuilds_outdated_and_keeps_old_on_failure);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	T_EXIT();
}
