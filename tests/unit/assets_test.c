/* Unit tests for the boot-asset cache logic (common/assets.c) and the progress protocol and
 * rendering (cli/progress.c), with fake files in a temp dir. Never touches the real cache and
 * never runs the real images/ scripts (fake scripts stand in for them). */
#include "common/progress.h"
#include "common/assets.h"
#include "t.h"

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
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	T_EXIT();
}
