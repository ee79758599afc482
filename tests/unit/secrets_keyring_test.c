/* Unit tests of secret values in the desktop keyring (src/daemon/secrets/keyring.c and the
 * store's use of it) against a real Secret Service: a private dbus-daemon and an unlocked
 * gnome-keyring-daemon in a temporary HOME, both killed at exit. Checked through libsecret
 * directly: values go to the keyring and never to secrets.json, come back on reopen, leave
 * on remove/clear, are put back when the file cannot be written, migrate from an old file; file
 * mode, no bus, a dead bus and a locked keyring all fall back to the file, quickly. */
#include "daemon/secrets/keyring.h"
#include "daemon/secrets/store.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <libsecret/secret.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char top[] = "/tmp/sbx-keyring-test-XXXXXX";
static char cfg[PATH_MAX], path[PATH_MAX + 16], bus_addr[512];
static char err[1024];
static pid_t bus_pid = -1, keyring_pid = -1;

/* Must match keyring.c's schema: the test reads the keyring as any libsecret client would. */
static const SecretSchema schema = {
    "dev.sbx.Secret",
    SECRET_SCHEMA_NONE,
    {
	{"install", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"kind", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"name", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{"scope", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{NULL, 0},
    },
    0,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* Under ASan (make SAN=1): GLib's D-Bus code makes a few one-time allocations (3 of 8 bytes
 * on the first store and on the first lookup) that LeakSanitizer reports. They are suppressed
 * only beneath libsecret's entry points, which needs full unwinding to be seen (the system
 * GLib has no frame pointers). Both hooks are read only by the sanitizer runtime. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:secret_password_storev_sync\n"
	       "leak:secret_password_lookupv_sync\n"
	       "leak:secret_password_clearv_sync\n";
}

static void stop_daemons(void)
{
	pid_t *pids[] = {&keyring_pid, &bus_pid};
	for (size_t i = 0; i < 2; i++) {
		if (*pids[i] > 0) {
			kill(*pids[i], SIGTERM);
			waitpid(*pids[i], NULL, 0);
			*pids[i] = -1;
		}
	}
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 16];
	stop_daemons();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
}

/* Whether @prog is an executable in PATH. */
static int in_path(const char *prog)
{
	char buf[PATH_MAX], p[PATH_MAX + 64];
	const char *env = getenv("PATH");
	snprintf(buf, sizeof(buf), "%s", env ? env : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(p, sizeof(p), "%s/%s", d, prog);
		if (access(p, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* Start @argv with stdin from @in_fd (-1: /dev/null) and stdout to @out_fd (-1: /dev/null). */
static pid_t spawn(char *const argv[], int in_fd, int out_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test, even on a crash */
	int null = open("/dev/null", O_RDWR);
	dup2(in_fd >= 0 ? in_fd : null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	execvp(argv[0], argv);
	_exit(127);
}

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A private session bus (no activation: nothing starts behind our back) and an unlocked
 * gnome-keyring on it. Return 0, or -1 with the reason printed. */
static int start_daemons(void)
{
	char p[PATH_MAX + 64], conf[PATH_MAX + 1024];
	int fds[2];

	snprintf(p, sizeof(p), "%s/home", top);
	mkdir(p, 0700);
	setenv("HOME", p, 1);
	snprintf(p, sizeof(p), "%s/run", top);
	mkdir(p, 0700);
	setenv("XDG_RUNTIME_DIR", p, 1);
	unsetenv("XDG_DATA_HOME");
	unsetenv("GNOME_KEYRING_CONTROL");
	snprintf(conf, sizeof(conf),
		 "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
		 "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		 "<busconfig><type>session</type><listen>unix:path=%s/bus.sock</listen>"
		 "<auth>EXTERNAL</auth><policy context=\"default\"><allow send_destination=\"*\" "
		 "eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>"
		 "</busconfig>\n",
		 top);
	snprintf(p, sizeof(p), "%s/bus.conf", top);
	write_file(p, conf);
	char cf[PATH_MAX + 80];
	snprintf(cf, sizeof(cf), "--config-file=%s", p);
	char *bus_argv[] = {"dbus-daemon", cf, "--nofork", "--print-address=1", NULL};
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	bus_pid = spawn(bus_argv, -1, fds[1]);
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(bus_addr) - 1 && (r = read(fds[0], bus_addr + n, 1)) == 1 &&
	       bus_addr[n] != '\n')
		n++;
	bus_addr[n] = '\0';
	close(fds[0]);
	if (n == 0) {
		fprintf(stderr, "dbus-daemon printed no address\n");
		return -1;
	}
	setenv("DBUS_SESSION_BUS_ADDRESS", bus_addr, 1);
	char *kr_argv[] = {"gnome-keyring-daemon", "--foreground", "--unlock",
			   "--components=secrets", NULL};
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	keyring_pid = spawn(kr_argv, fds[0], -1);
	close(fds[0]);
	if (write(fds[1], "test-password", 13) != 13)
		return -1;
	close(fds[1]);
	/* ready when the probe sees an unlocked default collection */
	setenv("SBX_SECRET_STORE", "keyring", 1);
	time_t end = time(NULL) + 15;
	while (time(NULL) < end) {
		struct keyring *k = NULL;
		if (keyring_open(cfg, &k, err, sizeof(err)) == 0 && k) {
			keyring_close(k);
			unsetenv("SBX_SECRET_STORE");
			return 0;
		}
		usleep(100000);
	}
	fprintf(stderr, "the keyring never became usable: %s\n", err);
	return -1;
}

/* The keyring's value for service/custom @name in @scope of install @install, or NULL
 * (g_free()/secret_password_free() it). Read through libsecret, not our code. */
static char *lookup(const char *install, const char *kind, const char *name, const char *scope)
{
	GError *ge = NULL;
	char *v = secret_password_lookup_sync(&schema, NULL, &ge, "install", install, "kind", kind,
					      "name", name, "scope", scope, NULL);
	if (ge) {
		fprintf(stderr, "libsecret lookup: %s\n", ge->message);
		g_error_free(ge);
	}
	return v;
}

static int lookup_is(const char *install, const char *kind, const char *name, const char *scope,
		     const char *want)
{
	char *v = lookup(install, kind, name, scope);
	int ok = want ? v && strcmp(v, want) == 0 : v == NULL;
	secret_password_free(v);
	return ok;
}

static char *slurp(const char *p)
{
	static char buf[65536];
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static struct secret_store *open_store(void)
{
	struct secret_store *s = NULL;
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), 0);
	if (!s)
		fprintf(stderr, "open: %s\n", err);
	return s;
}

static int set_svc(struct secret_store *s, const char *name, const char *scope, const char *v)
{
	struct secret_spec sp = {.kind = SECRET_SERVICE, .name = name, .scope = scope, .value = v};
	return secret_store_set(s, &sp, NULL, NULL, err, sizeof(err));
}

/* The value secret_store_find() gives sandbox "sb" (created late) for @host, or "". */
static const char *found(struct secret_store *s, const char *host)
{
	static char v[SECRET_VALUE_MAX + 1];
	v[0] = '\0';
	if (secret_store_find(s, "sb", INT64_MAX, host, NULL, v, sizeof(v)) != 0)
		v[0] = '\0';
	return v;
}

static size_t count(struct secret_store *s, int *in_keyring)
{
	struct secret_info *all = NULL;
	size_t n = 0;
	CHECK_EQ(secret_store_list(s, &all, &n), 0);
	*in_keyring = 0;
	for (size_t i = 0; i < n; i++)
		*in_keyring += all[i].in_keyring;
	free(all);
	return n;
}

TEST(set_goes_to_keyring_not_file)
{
	int kr;
	unlink(path);
	struct secret_store *s = open_store();
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-keyring-1"), 0);
	const char *f = slurp(path);
	CHECK(strstr(f, "sk-ant-keyring-1") == NULL);
	CHECK(strstr(f, "\"value_in\": \"keyring\"") != NULL);
	CHECK(strstr(f, "\"value\"") == NULL);
	CHECK(lookup_is(cfg, "service", "anthropic", "", "sk-ant-keyring-1"));
	CHECK_EQ(count(s, &kr), 1);
	CHECK_EQ(kr, 1);
	CHECK_STR(found(s, "api.anthropic.com"), "sk-ant-keyring-1");
	/* replacing updates the one item */
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-keyring-2"), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", "sk-ant-keyring-2"));
	CHECK(strstr(slurp(path), "sk-ant-keyring") == NULL);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	secret_store_close(s);

	s = open_store(); /* the value comes back from the keyring */
	if (!s)
		return;
	CHECK_STR(found(s, "api.anthropic.com"), "sk-ant-keyring-2");
	CHECK_EQ(count(s, &kr), 1);
	CHECK_EQ(kr, 1);
	secret_store_close(s);
}

TEST(remove_and_clear_delete_items)
{
	struct secret_spec cu = {.kind = SECRET_CUSTOM,
				 .scope = "sb",
				 .host = "api.example.com",
				 .env = "EX_KEY",
				 .value = "custom-value-1"};
	int kr;
	unlink(path);
	struct secret_store *s = open_store();
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-a"), 0);
	CHECK_EQ(set_svc(s, "openai", "sb", "sk-openai-b"), 0);
	CHECK_EQ(secret_store_set(s, &cu, NULL, NULL, err, sizeof(err)), 0);
	CHECK(lookup_is(cfg, "custom", "api.example.com", "sb", "custom-value-1"));
	CHECK(lookup_is(cfg, "service", "openai", "sb", "sk-openai-b"));
	CHECK_STR(found(s, "api.example.com"), "custom-value-1");

	CHECK_EQ(secret_store_remove(s, "anthropic", NULL, err, sizeof(err)), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", NULL));
	CHECK(strstr(slurp(path), "anthropic") == NULL);
	CHECK(lookup_is(cfg, "service", "openai", "sb", "sk-openai-b"));

	CHECK_EQ(secret_store_remove_scope(s, "sb", err, sizeof(err)), 2);
	CHECK(lookup_is(cfg, "service", "openai", "sb", NULL));
	CHECK(lookup_is(cfg, "custom", "api.example.com", "sb", NULL));

	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-c"), 0);
	CHECK_EQ(set_svc(s, "github", "sb", "ghp-d"), 0);
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", NULL));
	CHECK(lookup_is(cfg, "service", "github", "sb", NULL));
	CHECK_EQ(count(s, &kr), 0);
	secret_store_close(s);
}

TEST(failed_write_changes_nothing)
{
	char sub[PATH_MAX + 32];
	unlink(path);
	struct secret_store *s = open_store();
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-before"), 0);
	/* the file cannot be replaced any more: a non-empty directory stands in its place */
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/x", path);
	CHECK(mkdir(path, 0700) == 0 && mkdir(sub, 0700) == 0);
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-after"), 500);
	CHECK(strstr(err, "sk-ant") == NULL);
	CHECK(lookup_is(cfg, "service", "anthropic", "", "sk-ant-before"));
	CHECK_STR(found(s, "api.anthropic.com"), "sk-ant-before");
	CHECK_EQ(set_svc(s, "openai", NULL, "sk-openai-never"), 500);
	CHECK(lookup_is(cfg, "service", "openai", "", NULL));
	CHECK_STR(found(s, "api.openai.com"), "");
	rmdir(sub);
	rmdir(path);
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", NULL));
	secret_store_close(s);
}

TEST(file_values_migrate)
{
	int kr;
	write_file(path, "{\"version\": 1, \"secrets\": [{\"kind\": \"service\", \"name\": "
			 "\"anthropic\", \"scope\": \"\", \"value\": \"sk-ant-old-file\", "
			 "\"created_at\": 1000}]}\n");
	chmod(path, 0600);
	struct secret_store *s = open_store();
	if (!s)
		return;
	CHECK_STR(found(s, "api.anthropic.com"), "sk-ant-old-file");
	CHECK(lookup_is(cfg, "service", "anthropic", "", "sk-ant-old-file"));
	CHECK(strstr(slurp(path), "sk-ant-old-file") == NULL);
	CHECK(strstr(slurp(path), "\"value_in\": \"keyring\"") != NULL);
	CHECK_EQ(count(s, &kr), 1);
	CHECK_EQ(kr, 1);
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	secret_store_close(s);
}

TEST(missing_item_drops_entry)
{
	int kr;
	unlink(path);
	struct secret_store *s = open_store();
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-gone"), 0);
	CHECK_EQ(set_svc(s, "openai", NULL, "sk-openai-stays"), 0);
	secret_store_close(s);
	CHECK(secret_password_clear_sync(&schema, NULL, NULL, "install", cfg, "kind", "service",
					 "name", "anthropic", "scope", "", NULL));
	s = open_store();
	if (!s)
		return;
	CHECK_EQ(count(s, &kr), 1);
	CHECK_STR(found(s, "api.openai.com"), "sk-openai-stays");
	CHECK_STR(found(s, "api.anthropic.com"), "");
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	secret_store_close(s);
}

TEST(installs_do_not_collide)
{
	char cfg2[PATH_MAX + 8], path2[PATH_MAX + 32];
	struct secret_store *a, *b = NULL;
	snprintf(cfg2, sizeof(cfg2), "%s/cfg2", top);
	snprintf(path2, sizeof(path2), "%s/secrets.json", cfg2);
	unlink(path);
	a = open_store();
	CHECK_EQ(secret_store_open(path2, &b, err, sizeof(err)), 0);
	if (!a || !b)
		return;
	CHECK_EQ(set_svc(a, "anthropic", NULL, "value-of-a"), 0);
	CHECK_EQ(set_svc(b, "anthropic", NULL, "value-of-b"), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", "value-of-a"));
	CHECK(lookup_is(cfg2, "service", "anthropic", "", "value-of-b"));
	CHECK_EQ(secret_store_clear(b, err, sizeof(err)), 0);
	CHECK(lookup_is(cfg, "service", "anthropic", "", "value-of-a"));
	CHECK_EQ(secret_store_clear(a, err, sizeof(err)), 0);
	secret_store_close(a);
	secret_store_close(b);
}

TEST(file_mode_never_uses_keyring)
{
	int kr;
	unlink(path);
	struct secret_store *s = open_store(); /* auto: one secret into the keyring */
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-in-keyring"), 0);
	secret_store_close(s);

	setenv("SBX_SECRET_STORE", "file", 1);
	s = open_store();
	if (!s)
		goto out;
	CHECK_EQ(set_svc(s, "openai", NULL, "sk-openai-in-file"), 0);
	CHECK(strstr(slurp(path), "sk-openai-in-file") != NULL);
	CHECK(lookup_is(cfg, "service", "openai", "", NULL));
	/* the keyring-held one is listed, kept in the file, but not used without its value */
	CHECK_EQ(count(s, &kr), 2);
	CHECK_EQ(kr, 1);
	CHECK_STR(found(s, "api.anthropic.com"), "");
	CHECK(strstr(slurp(path), "\"value_in\": \"keyring\"") != NULL);
	CHECK(strstr(slurp(path), "sk-ant-in-keyring") == NULL);
	secret_store_close(s);

	setenv("SBX_SECRET_STORE", "auto", 1); /* back: the file's value moves to the keyring */
	s = open_store();
	if (!s)
		goto out;
	CHECK_STR(found(s, "api.anthropic.com"), "sk-ant-in-keyring");
	CHECK_STR(found(s, "api.openai.com"), "sk-openai-in-file");
	CHECK(lookup_is(cfg, "service", "openai", "", "sk-openai-in-file"));
	CHECK(strstr(slurp(path), "sk-openai-in-file") == NULL);
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	secret_store_close(s);
out:
	unsetenv("SBX_SECRET_STORE");
}

TEST(bad_mode_refused)
{
	struct secret_store *s = NULL;
	setenv("SBX_SECRET_STORE", "vault", 1);
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "SBX_SECRET_STORE") != NULL);
	unsetenv("SBX_SECRET_STORE");
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* With the current bus setting: auto falls back to the file within ~2 s, keyring fails. */
static void check_fallback(void)
{
	int kr;
	unlink(path);
	double t0 = now_s();
	struct secret_store *s = open_store();
	CHECK(now_s() - t0 < 3.0);
	if (!s)
		return;
	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-fallback"), 0);
	CHECK(strstr(slurp(path), "sk-ant-fallback") != NULL);
	CHECK_EQ(count(s, &kr), 1);
	CHECK_EQ(kr, 0);
	secret_store_close(s);
	unlink(path);

	setenv("SBX_SECRET_STORE", "keyring", 1);
	t0 = now_s();
	s = NULL;
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), -1);
	CHECK(now_s() - t0 < 3.0);
	CHECK(strstr(err, "keyring") != NULL);
	secret_store_close(s);
	unsetenv("SBX_SECRET_STORE");
}

TEST(locked_keyring_falls_back)
{
	GError *ge = NULL;
	GDBusConnection *c = g_dbus_connection_new_for_address_sync(
	    bus_addr,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &ge);
	CHECK(c != NULL);
	if (!c) {
		g_clear_error(&ge);
		return;
	}
	const char *objs[] = {"/org/freedesktop/secrets/collection/login", NULL};
	GVariant *r = g_dbus_connection_call_sync(
	    c, "org.freedesktop.secrets", "/org/freedesktop/secrets",
	    "org.freedesktop.Secret.Service", "Lock", g_variant_new("(^ao)", objs), NULL,
	    G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &ge);
	CHECK(r != NULL);
	if (r)
		g_variant_unref(r);
	g_clear_error(&ge);
	g_dbus_connection_close_sync(c, NULL, NULL);
	g_object_unref(c);
	check_fallback();
}

TEST(no_bus_falls_back)
{
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	check_fallback();
}

TEST(dead_bus_falls_back)
{
	/* a socket that accepts connections into its backlog but never answers */
	char addr[PATH_MAX + 32];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", top);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0);
	snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	check_fallback();
	close(fd);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
}

int main(void)
{
	static const char *const need[][2] = {{"dbus-daemon", "dbus-daemon"},
					      {"gnome-keyring-daemon", "gnome-keyring"}};
	for (size_t i = 0; i < 2; i++)
		if (!in_path(need[i][0])) {
			printf("FAIL setup: %s not found (install the Debian package %s: "
			       "deps/install.sh deps/test.txt)\n",
			       need[i][0], need[i][1]);
			return 1;
		}
	if (!mkdtemp(top))
		return 1;
	atexit(cleanup);
	snprintf(cfg, sizeof(cfg), "%s/cfg", top);
	snprintf(path, sizeof(path), "%s/secrets.json", cfg);
	if (start_daemons() < 0) {
		printf("FAIL setup: cannot start a private session bus and gnome-keyring-daemon\n");
		return 1;
	}
	RUN(set_goes_to_keyring_not_file);
	RUN(remove_and_clear_delete_items);
	RUN(failed_write_changes_nothing);
	RUN(file_values_migrate);
	RUN(missing_item_drops_entry);
	RUN(installs_do_not_collide);
	RUN(file_mode_never_uses_keyring);
	RUN(bad_mode_refused);
	RUN(locked_keyring_falls_back);
	secret_service_disconnect();
	stop_daemons();
	RUN(no_bus_falls_back);
	RUN(dead_bus_falls_back);
	T_EXIT();
}
