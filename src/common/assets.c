/* The guest's boot assets in the cache (see assets.h): finding them, and building what is
 * missing by running the images/ scripts with their progress rendered.
 * Owns the cache layout and naming (kernel dir choice, initramfs hash) and when a template is
 * current (the recipe hash, which build-template.sh computes alike); never builds anything
 * itself (the scripts do, atomically) and never deletes an asset another caller could be using
 * except stale initramfs files. */
#include "common/assets.h"
#include "common/progress.h"
#include "common/err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KERNEL_TIMEOUT_S    900
#define INITRAMFS_TIMEOUT_S 300
#define TEMPLATE_TIMEOUT_S  3600
#define LOG_TAIL_LINES	    12
#define STALE_INITRAMFS_S   3600
#define RECIPE_MAX_DEPTH    8
#define RECIPE_MAX_BYTES    (1 << 20)

bool assets_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '-' || c == '_' || c == '.'));
		if (!ok)
			return false;
	}
	return true;
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* version compare for kernel release strings: digit runs compare numerically */
static int vercmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			char *ea, *eb;
			unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

int assets_kernel_find(const struct sbx_paths *p, char *dir, char *kver, size_t kver_len)
{
	char base[PATH_MAX], cand[PATH_MAX], f[PATH_MAX];
	char best[256] = "";
	struct dirent *de;
	DIR *d;

	if (sbx_path_join(base, "%s/kernel", p->cache) < 0)
		return -1;
	d = opendir(base);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(best))
			continue;
		if (sbx_path_join(cand, "%s/%s", base, de->d_name) < 0)
			continue;
		if (sbx_path_join(f, "%s/vmlinux", cand) < 0 || !is_file(f))
			continue;
		if (sbx_path_join(f, "%s/version", cand) < 0 || !is_file(f))
			continue;
		if (sbx_path_join(f, "%s/modules", cand) < 0 || !is_dir(f))
			continue;
		if (!best[0] || vercmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return -1;
	if (kver && snprintf(kver, kver_len, "%s", best) >= (int)kver_len)
		return -1;
	return sbx_path_join(dir, "%s/%s", base, best);
}

/* FNV-1a, 64 bit: a cache key, not a security boundary */
static void fnv1a(uint64_t *h, const void *buf, size_t n)
{
	const unsigned char *b = buf;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ULL;
	}
}

static int hash_file(uint64_t *h, const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fnv1a(h, buf, (size_t)n);
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

int assets_initramfs_name(const char *sbx_init, const char *kver, const char *script, char *out,
			  size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	static const char sep = '\0';

	if (hash_file(&h, sbx_init) < 0)
		return -1;
	fnv1a(&h, &sep, 1);
	fnv1a(&h, kver, strlen(kver));
	fnv1a(&h, &sep, 1);
	if (hash_file(&h, script) < 0)
		return -1;
	if (snprintf(out, len, "%016llx.cpio", (unsigned long long)h) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int initramfs_path(const struct sbx_paths *p, const char *kver, char *out, bool report)
{
	char init[PATH_MAX], script[PATH_MAX], name[64];

	if (sbx_path_join(init, "%s/sbx-init", p->libdir) < 0 ||
	    sbx_path_join(script, "%s/images/initramfs.sh", p->libdir) < 0)
		return -1;
	if (!is_file(init)) {
		if (report)
			sbx_err(
			    "guest agent missing: no sbx-init at %s (run make, or set SBX_LIBDIR)",
			    init);
		return -1;
	}
	if (!is_file(script)) {
		if (report)
			sbx_err("image scripts missing: no %s (run make, or set SBX_LIBDIR)",
				script);
		return -1;
	}
	if (assets_initramfs_name(init, kver, script, name, sizeof(name)) < 0) {
		if (report)
			sbx_err("reading %s: %s (check the installation)", init, strerror(errno));
		return -1;
	}
	return sbx_path_join(out, "%s/initramfs/%s", p->cache, name);
}

int assets_template_dir(const struct sbx_paths *p, const char *name, char *out)
{
	if (!assets_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	return sbx_path_join(out, "%s/templates/%s", p->cache, name);
}

bool assets_template_built(const struct sbx_paths *p, const char *name)
{
	char dir[PATH_MAX], f[PATH_MAX];

	if (assets_template_dir(p, name, dir) < 0)
		return false;
	return sbx_path_join(f, "%s/rootfs.img", dir) == 0 && is_file(f) &&
	       sbx_path_join(f, "%s/meta.json", dir) == 0 && is_file(f);
}

bool assets_template_has_recipe(const struct sbx_paths *p, const char *name)
{
	char f[PATH_MAX];

	if (!assets_name_valid(name))
		return false;
	return sbx_path_join(f, "%s/images/templates/%s.conf", p->libdir, name) == 0 && is_file(f);
}

/* --- recipes: their files, hash and simple settings -------------------------------------- */

/* read @path (a recipe, at most RECIPE_MAX_BYTES) into a NUL-terminated malloc'd buffer */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECIPE_MAX_BYTES) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[got] = '\0';
	return buf;
}

/*
 * The value of the last line "@key=value" in @text: one optional quote (' or ") either side,
 * and trailing white space, removed. Return: 0, or -1 if absent or longer than @len - 1.
 */
static int recipe_line_value(const char *text, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	int found = -1;

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		const char *next = e ? e + 1 : l + n;
		if (n <= klen || strncmp(l, key, klen) != 0 || l[klen] != '=') {
			l = next;
			continue;
		}
		const char *v = l + klen + 1;
		n -= klen + 1;
		l = next;
		while (n && isspace((unsigned char)v[n - 1]))
			n--;
		if (n && (*v == '"' || *v == '\''))
			v++, n--;
		if (n && (v[n - 1] == '"' || v[n - 1] == '\''))
			n--;
		if (n >= len)
			continue;
		memcpy(out, v, n);
		out[n] = '\0';
		found = 0;
	}
	return found;
}

int assets_recipe_value(const struct sbx_paths *p, const char *name, const char *key, char *out,
			size_t len)
{
	char f[PATH_MAX];

	if (!assets_name_valid(name) ||
	    sbx_path_join(f, "%s/images/templates/%s.conf", p->libdir, name) < 0)
		return -1;
	char *text = read_small_file(f);
	if (!text)
		return -1;
	int r = recipe_line_value(text, key, out, len);
	free(text);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

size_t assets_recipe_names(const struct sbx_paths *p, char (*names)[ASSETS_NAME_MAX], size_t max)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (sbx_path_join(dir, "%s/images/templates", p->libdir) < 0 || !(d = opendir(dir)))
		return 0;
	while (n < max && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || l - 5 >= ASSETS_NAME_MAX || strcmp(de->d_name + l - 5, ".conf") != 0)
			continue;
		memcpy(names[n], de->d_name, l - 5);
		names[n][l - 5] = '\0';
		if (assets_name_valid(names[n]))
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	return n;
}

bool assets_template_unavailable(const struct sbx_paths *p, const char *name, char *reason,
				 size_t len)
{
	char buf[512];

	if (assets_recipe_value(p, name, "AGENT_UNAVAILABLE", buf, sizeof(buf)) < 0 || !buf[0])
		return false;
	if (reason)
		snprintf(reason, len, "%s", buf);
	return true;
}

/* the base recipe named by @name's BASE line, as build-template.sh's sed reads it: a name of
 * [a-z0-9][a-z0-9_.-]* (our names are the valid template names) */
static int recipe_base(const struct sbx_paths *p, const char *name, char *base, size_t len)
{
	if (assets_recipe_value(p, name, "BASE", base, len) < 0) {
		base[0] = '\0';
		return 0;
	}
	if (!assets_name_valid(base)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void hex_of(const unsigned char *md, unsigned n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* sha256 of the file @path into @hex (65 bytes) */
static int sha256_file(const char *path, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned mdlen = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *ctx;

	if (fd < 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			EVP_DigestUpdate(ctx, buf, (size_t)n);
	int saved = errno;
	close(fd);
	if (n == 0)
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	hex_of(md, mdlen, hex);
	return 0;
}

int assets_recipe_sha256(const struct sbx_paths *p, const char *name, char *hex)
{
	char chain[RECIPE_MAX_DEPTH][72], cur[72], f[PATH_MAX], fhex[65], line[PATH_MAX + 80];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int depth = 0;

	if (!assets_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(cur, sizeof(cur), "%s", name);
	for (;;) {
		if (depth == RECIPE_MAX_DEPTH) {
			errno = ELOOP;
			return -1;
		}
		if (!assets_template_has_recipe(p, cur)) {
			errno = ENOENT;
			return -1;
		}
		memcpy(chain[depth++], cur, sizeof(cur));
		char base[72];
		if (recipe_base(p, chain[depth - 1], base, sizeof(base)) < 0)
			return -1;
		if (!base[0])
			break;
		memcpy(cur, base, sizeof(cur));
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		errno = ENOMEM;
		return -1;
	}
	/* build-template.sh, then the outermost base first, the recipe itself last */
	for (int i = depth; i >= 0; i--) {
		char rel[96];
		if (i == depth)
			snprintf(rel, sizeof(rel), "build-template.sh");
		else
			snprintf(rel, sizeof(rel), "templates/%s.conf", chain[i]);
		if (sbx_path_join(f, "%s/images/%s", p->libdir, rel) < 0 ||
		    sha256_file(f, fhex) < 0) {
			int saved = errno;
			EVP_MD_CTX_free(ctx);
			errno = saved;
			return -1;
		}
		int n = snprintf(line, sizeof(line), "%s  %s\n", fhex, rel);
		EVP_DigestUpdate(ctx, line, (size_t)n);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_of(md, mdlen, hex);
	return 0;
}

enum assets_tmpl_state assets_template_state(const struct sbx_paths *p, const char *name)
{
	char dir[PATH_MAX], f[PATH_MAX], want[65];

	if (!assets_template_built(p, name))
		return ASSETS_TMPL_NOT_BUILT;
	if (!assets_template_has_recipe(p, name))
		return ASSETS_TMPL_READY; /* nothing to compare with (saved, imported) */
	if (assets_recipe_sha256(p, name, want) < 0)
		return ASSETS_TMPL_OUTDATED; /* a broken recipe: building it says why */
	if (assets_template_dir(p, name, dir) < 0 || sbx_path_join(f, "%s/meta.json", dir) < 0)
		return ASSETS_TMPL_OUTDATED;
	json_t *m = json_load_file(f, 0, NULL);
	const char *have = json_string_value(json_object_get(m, "recipe_sha256"));
	bool same = have && strcmp(have, want) == 0;
	json_decref(m);
	return same ? ASSETS_TMPL_READY : ASSETS_TMPL_OUTDATED;
}

bool assets_template_current(const struct sbx_paths *p, const char *name)
{
	return assets_template_state(p, name) == ASSETS_TMPL_READY;
}

bool assets_template_known(const struct sbx_paths *p, const char *name)
{
	return assets_template_has_recipe(p, name) || assets_template_built(p, name);
}

int assets_find(const struct sbx_paths *p, const char *tmpl, struct sbx_assets *out)
{
	char kdir[PATH_MAX], kver[256];
	const char *t = tmpl ? tmpl : "shell";

	memset(out, 0, sizeof(*out));
	if (assets_kernel_find(p, kdir, kver, sizeof(kver)) < 0) {
		sbx_err("guest kernel missing: none in %s/kernel (run: sbx template build %s)",
			p->cache, t);
		return -1;
	}
	if (sbx_path_join(out->kernel, "%s/vmlinux", kdir) < 0)
		return -1;
	if (initramfs_path(p, kver, out->initramfs, true) < 0)
		return -1;
	if (!is_file(out->initramfs)) {
		sbx_err("guest initramfs missing: no %s for this sbx-init (run: sbx template "
			"build %s)",
			out->initramfs, t);
		return -1;
	}
	if (!tmpl)
		return 0;
	if (!assets_name_valid(tmpl)) {
		sbx_err("template '%s': invalid name (use lowercase letters, digits, - and _)",
			tmpl);
		return -1;
	}
	if (!assets_template_built(p, tmpl)) {
		if (assets_template_has_recipe(p, tmpl))
			sbx_err("template %s is not built (run: sbx template build %s)", tmpl,
				tmpl);
		else
			sbx_err("unknown template '%s': no recipe and not built (see: sbx template "
				"ls)",
				tmpl);
		return -1;
	}
	char dir[PATH_MAX];
	if (assets_template_dir(p, tmpl, dir) < 0 ||
	    sbx_path_join(out->rootfs, "%s/rootfs.img", dir) < 0)
		return -1;
	return 0;
}

/* --- running the scripts ----------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void print_tail(const char *log_path)
{
	char lines[LOG_TAIL_LINES][256];
	char buf[4096];
	int n = 0;
	FILE *f = fopen(log_path, "r");

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "@@", 2) == 0) /* progress, and the error printed after */
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		size_t l = strlen(buf) < sizeof(lines[0]) ? strlen(buf) : sizeof(lines[0]) - 1;
		memcpy(lines[n % LOG_TAIL_LINES], buf, l);
		lines[n % LOG_TAIL_LINES][l] = '\0';
		n++;
	}
	fclose(f);
	if (n == 0)
		return;
	fprintf(stderr, "--- last lines of %s ---\n", log_path);
	for (int i = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0; i < n; i++)
		fprintf(stderr, "  %s\n", lines[i % LOG_TAIL_LINES]);
}

/* split buffered bytes into lines and hand complete ones to @fn */
struct linebuf {
	char buf[8192];
	size_t len;
};

static void linebuf_feed(struct linebuf *lb, const char *data, size_t n, struct progress *pr)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n' || lb->len == sizeof(lb->buf) - 1) {
			lb->buf[lb->len] = '\0';
			progress_feed(pr, lb->buf);
			lb->len = 0;
			if (c == '\n')
				continue;
		}
		if (c != '\r')
			lb->buf[lb->len++] = c;
	}
}

/**
 * assets_run_script() - run @argv (argv[0] an absolute program, e.g. /bin/bash, argv[1] the
 * script) with its stderr rendered as progress titled
 * @title and logged to @log_path, its stdout's first line captured into @result (PATH_MAX),
 * killed after @timeout_s. @what names the job in error lines.
 * Return: 0, or -1 with a one-line error (and the log tail) printed.
 */
int assets_run_script(char *const argv[], const char *title, const char *what, const char *log_path,
		      int timeout_s, bool quiet, char *result)
{
	int errp[2], outp[2];
	struct progress pr;
	struct linebuf lb = {.len = 0};
	char outbuf[PATH_MAX];
	size_t outlen = 0;
	FILE *log = fopen(log_path, "we");
	int status = 0;

	if (!log) {
		sbx_err("%s: cannot write log %s: %s (check permissions and free space)", what,
			log_path, strerror(errno));
		return -1;
	}
	setvbuf(log, NULL, _IOLBF, 0);
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		sbx_err("%s: pipe: %s (too many open files?)", what, strerror(errno));
		fclose(log);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		sbx_err("%s: fork: %s (system out of processes or memory)", what, strerror(errno));
		fclose(log);
		close(errp[0]), close(errp[1]), close(outp[0]), close(outp[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		dprintf(2, "@@error %s: cannot run %s: %s (install it)\n", what, argv[0],
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(errp[1]);
	close(outp[1]);

	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term, old_hup;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	progress_init(&pr, progress_mode_pick(quiet, stderr), stderr, log, title);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool timed_out = false, err_open = true, out_open = true;
	while (err_open || out_open) {
		struct pollfd fds[2] = {{.fd = err_open ? errp[0] : -1, .events = POLLIN},
					{.fd = out_open ? outp[0] : -1, .events = POLLIN}};
		int r = poll(fds, 2, 250);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (interrupted || now.tv_sec - t0.tv_sec >= timeout_s) {
			timed_out = !interrupted;
			kill(-pid, SIGTERM);
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0) {
			progress_tick(&pr);
			continue;
		}
		char buf[4096];
		if (fds[0].revents) {
			ssize_t n = read(errp[0], buf, sizeof(buf));
			if (n > 0)
				linebuf_feed(&lb, buf, (size_t)n, &pr);
			else if (n == 0 || errno != EINTR)
				err_open = false;
		}
		if (fds[1].revents) {
			ssize_t n = read(outp[0], buf, sizeof(buf));
			if (n > 0) {
				size_t room = sizeof(outbuf) - 1 - outlen;
				size_t c = (size_t)n < room ? (size_t)n : room;
				memcpy(outbuf + outlen, buf, c);
				outlen += c;
			} else if (n == 0 || errno != EINTR) {
				out_open = false;
			}
		}
	}
	if (lb.len) {
		lb.buf[lb.len] = '\0';
		progress_feed(&pr, lb.buf);
	}
	close(errp[0]);
	close(outp[0]);
	/* streams closed: the script is exiting (after a kill, its trap is cleaning up); wait
	 * a bounded time, then insist */
	int limit = timed_out || interrupted ? 100 : 600; /* tenths of a second */
	for (int waited = 0;; waited++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (waited == limit) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(100000);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);

	const char *script = argv[1] ? argv[1] : argv[0];
	bool ok = !timed_out && !interrupted && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	outbuf[outlen] = '\0';
	outbuf[strcspn(outbuf, "\n")] = '\0';
	if (ok && !outbuf[0]) {
		ok = false;
		snprintf(pr.error, sizeof(pr.error), "%s: %s printed no result (see %s)", what,
			 argv[1] ? argv[1] : argv[0], log_path);
	}
	progress_done(&pr, ok);
	fclose(log);
	if (ok) {
		snprintf(result, PATH_MAX, "%s", outbuf);
		return 0;
	}
	if (interrupted) {
		sbx_err("%s: interrupted (run the command again to resume)", what);
		return -1;
	}
	print_tail(log_path);
	if (timed_out)
		sbx_err("%s: timed out after %d s (see %s)", what, timeout_s, log_path);
	else if (pr.error[0])
		sbx_err("%s", pr.error);
	else if (WIFSIGNALED(status))
		sbx_err("%s: %s killed by signal %d (see %s)", what, script, WTERMSIG(status),
			log_path);
	else
		sbx_err("%s: %s exited with status %d (see %s)", what, script, WEXITSTATUS(status),
			log_path);
	return -1;
}

static int ensure_dir(const char *dir)
{
	if (sbx_mkdir_p(dir, 0755) < 0) {
		sbx_err("creating %s: %s (check permissions and free space)", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int ensure_kernel(const struct sbx_paths *p, bool quiet, char *kdir, char *kver,
			 size_t kver_len)
{
	char base[PATH_MAX], script[PATH_MAX], log[PATH_MAX], result[PATH_MAX];

	if (assets_kernel_find(p, kdir, kver, kver_len) == 0)
		return 0;
	if (sbx_path_join(base, "%s/kernel", p->cache) < 0 ||
	    sbx_path_join(script, "%s/images/kernel.sh", p->libdir) < 0 ||
	    sbx_path_join(log, "%s/.fetch.log", base) < 0 || ensure_dir(base) < 0)
		return -1;
	char *argv[] = {"/bin/bash", script, (char *)p->cache, NULL};
	if (assets_run_script(argv, "Fetching guest kernel", "fetching the guest kernel", log,
			      KERNEL_TIMEOUT_S, quiet, result) < 0)
		return -1;
	if (assets_kernel_find(p, kdir, kver, kver_len) < 0) {
		sbx_err("fetching the guest kernel: %s is not a complete kernel directory (see %s)",
			result, log);
		return -1;
	}
	return 0;
}

/* remove initramfs files other than @keep that nobody has touched for a while */
static void prune_initramfs(const char *dir, const char *keep)
{
	char f[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".cpio") != 0 || de->d_name[0] == '.')
			continue;
		if (sbx_path_join(f, "%s/%s", dir, de->d_name) < 0 || strcmp(f, keep) == 0)
			continue;
		if (stat(f, &st) == 0 && now - st.st_mtime > STALE_INITRAMFS_S)
			unlink(f);
	}
	closedir(d);
}

static int ensure_initramfs(const struct sbx_paths *p, bool quiet, const char *kdir,
			    const char *kver, char *out)
{
	char dir[PATH_MAX], script[PATH_MAX], init[PATH_MAX], log[PATH_MAX], result[PATH_MAX];

	if (initramfs_path(p, kver, out, true) < 0)
		return -1;
	if (is_file(out))
		return 0;
	if (sbx_path_join(dir, "%s/initramfs", p->cache) < 0 ||
	    sbx_path_join(script, "%s/images/initramfs.sh", p->libdir) < 0 ||
	    sbx_path_join(init, "%s/sbx-init", p->libdir) < 0 ||
	    sbx_path_join(log, "%s/.build.log", dir) < 0 || ensure_dir(dir) < 0)
		return -1;
	char *argv[] = {"/bin/bash", script, (char *)kdir, init, out, NULL};
	if (assets_run_script(argv, "Building initramfs", "building the guest initramfs", log,
			      INITRAMFS_TIMEOUT_S, quiet, result) < 0)
		return -1;
	if (!is_file(out)) {
		sbx_err("building the guest initramfs: %s was not written (see %s)", out, log);
		return -1;
	}
	prune_initramfs(dir, out);
	return 0;
}

int assets_template_build(const struct sbx_paths *p, const char *name, bool force, bool quiet)
{
	char dir[PATH_MAX], parent[PATH_MAX], script[PATH_MAX], log[PATH_MAX], result[PATH_MAX];
	char title[128], what[128];

	if (!assets_name_valid(name)) {
		sbx_err("template '%s': invalid name (use lowercase letters, digits, - and _)",
			name ? name : "");
		return -1;
	}
	enum assets_tmpl_state st = assets_template_state(p, name);
	if (!force && st == ASSETS_TMPL_READY)
		return 0;
	if (!assets_template_has_recipe(p, name)) {
		sbx_err("building template '%s': no recipe %s/images/templates/%s.conf (see: sbx "
			"template ls)",
			name, p->libdir, name);
		return -1;
	}
	char why[512];
	if (assets_template_unavailable(p, name, why, sizeof(why))) {
		sbx_err("template %s is unavailable here: %s (see: sbx template ls)", name, why);
		return -1;
	}
	if (assets_template_dir(p, name, dir) < 0 ||
	    sbx_path_join(parent, "%s/templates", p->cache) < 0 ||
	    sbx_path_join(script, "%s/images/build-template.sh", p->libdir) < 0 ||
	    sbx_path_join(log, "%s/.build-%s.log", parent, name) < 0 || ensure_dir(parent) < 0)
		return -1;
	snprintf(title, sizeof(title),
		 !force && st == ASSETS_TMPL_OUTDATED ? "Rebuilding template %s (recipe changed)"
						      : "Building template %s",
		 name);
	snprintf(what, sizeof(what), "building template %s", name);
	char *argv[] = {"/bin/bash", script, (char *)name, dir, force ? "--force" : NULL, NULL};
	if (assets_run_script(argv, title, what, log, TEMPLATE_TIMEOUT_S, quiet, result) < 0)
		return -1;
	if (!assets_template_built(p, name)) {
		sbx_err("building template %s: %s is incomplete after the build (see %s)", name,
			dir, log);
		return -1;
	}
	if (!assets_template_current(p, name)) {
		sbx_err("building template %s: the build in %s does not match its recipe (was the "
			"recipe edited during the build? run the command again)",
			name, dir);
		return -1;
	}
	return 0;
}

int assets_ensure(const struct sbx_paths *p, const char *tmpl, bool quiet, struct sbx_assets *out)
{
	char kdir[PATH_MAX], kver[256];

	memset(out, 0, sizeof(*out));
	if (tmpl && !assets_template_known(p, tmpl)) {
		if (!assets_name_valid(tmpl))
			sbx_err("template '%s': invalid name (use lowercase letters, digits, - and "
				"_)",
				tmpl);
		else
			sbx_err("unknown template '%s': no recipe and not built (see: sbx template "
				"ls)",
				tmpl);
		return -1;
	}
	if (ensure_dir(p->cache) < 0)
		return -1;
	if (ensure_kernel(p, quiet, kdir, kver, sizeof(kver)) < 0)
		return -1;
	if (ensure_initramfs(p, quiet, kdir, kver, out->initramfs) < 0)
		return -1;
	if (sbx_path_join(out->kernel, "%s/vmlinux", kdir) < 0)
		return -1;
	if (!tmpl)
		return 0;
	if (assets_template_build(p, tmpl, false, quiet) < 0)
		return -1;
	char dir[PATH_MAX];
	if (assets_template_dir(p, tmpl, dir) < 0 ||
	    sbx_path_join(out->rootfs, "%s/rootfs.img", dir) < 0)
		return -1;
	return 0;
}
