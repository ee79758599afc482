/* Unit tests of the runc wrapper's preparation (src/guest/runc.c, gi_runc_prepare): on a
 * temporary OCI bundle, create/run write the CA and the image's bundle merged with it and
 * patch config.json, whatever the argv form (--bundle=X, -b X, --bundle X, the current
 * directory, global options first); a symlink out of the rootfs is not followed; exec
 * patches the --process file; with no CA, nothing is touched. */
#include "guest/gi.h"
#include "t.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\nPROXYCA\n-----END CERTIFICATE-----\n";
static const char cfg_rel[] =
    "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":"
    "\"/\"},\"root\":{\"path\":\"rootfs\"},\"mounts\":[{\"destination\":\"/proc\",\"type\":"
    "\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":"
    "\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]}]}";

static char base[256];

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static char *path_of(const char *rel)
{
	static char p[16][512];
	static int k;

	k = (k + 1) % 16;
	snprintf(p[k], sizeof(p[k]), "%s/%s", base, rel);
	return p[k];
}

/* A fresh bundle dir NAME with rootfs/ and config.json. */
static void bundle(const char *name, const char *cfg)
{
	char d[512];

	snprintf(d, sizeof(d), "%s/%s", base, name);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/%s/rootfs", base, name);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/%s/config.json", base, name);
	put_file(d, cfg, 0600);
}

static struct gi_runc_paths paths(void)
{
	static char ca[512], gb[512];
	struct gi_runc_paths p = {ca, gb};

	snprintf(ca, sizeof(ca), "%s", path_of("ca.crt"));
	snprintf(gb, sizeof(gb), "%s", path_of("guest-bundle.crt"));
	return p;
}

/* config.json of bundle NAME has the two mounts and the variables. */
static void check_patched(const char *name)
{
	char p[512];
	json_error_t err;
	json_t *j;
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/config.json", base, name);
	j = json_load_file(p, 0, &err);
	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_EQ(json_array_size(json_object_get(j, "mounts")), 4);
	json_t *m = json_array_get(json_object_get(j, "mounts"), 2);
	char want[512];
	snprintf(want, sizeof(want), "%s/%s/sbx-proxy-ca.crt", base, name);
	CHECK_STR(json_string_value(json_object_get(m, "source")), want);
	CHECK_EQ(json_array_size(json_object_get(json_object_get(j, "process"), "env")), 6);
	json_decref(j);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600); /* the mode is kept */
	snprintf(p, sizeof(p), "%s/%s/sbx-proxy-ca.crt", base, name);
	CHECK_STR(slurp(p), ca_pem);
}

TEST(create_forms)
{
	struct gi_runc_paths p = paths();
	char cwd[512], *bun;

	bundle("b1", cfg_rel);
	bundle("b2", cfg_rel);
	bundle("b3", cfg_rel);
	bundle("b4", cfg_rel);
	/* b1: an image bundle in the rootfs */
	mkdir(path_of("b1/rootfs/etc"), 0755);
	mkdir(path_of("b1/rootfs/etc/ssl"), 0755);
	mkdir(path_of("b1/rootfs/etc/ssl/certs"), 0755);
	put_file(path_of("b1/rootfs/etc/ssl/certs/ca-certificates.crt"), "IMAGE-CAS\n", 0644);

	char b1[512];
	snprintf(b1, sizeof(b1), "%s", path_of("b1"));
	char *a1[] = {"runc",  "--root",      "/run/containerd/runc/moby",
		      "--log", "/x/log.json", "--log-format",
		      "json",  "create",      "--bundle",
		      b1,      "--pid-file",  "/x/pid",
		      "id1",   NULL};
	CHECK_EQ(gi_runc_prepare(13, a1, &p), 1);
	check_patched("b1");
	bun = slurp(path_of("b1/sbx-ca-bundle.crt"));
	CHECK(bun && strstr(bun, "IMAGE-CAS\n") == bun);
	CHECK(bun && strstr(bun, "PROXYCA") != NULL);

	char eq[600];
	snprintf(eq, sizeof(eq), "--bundle=%s", path_of("b2"));
	char *a2[] = {"runc", "--debug", "--root=/r", "run", "-d", eq, "id2", NULL};
	CHECK_EQ(gi_runc_prepare(7, a2, &p), 1);
	check_patched("b2");
	/* no image bundle: the guest's */
	bun = slurp(path_of("b2/sbx-ca-bundle.crt"));
	CHECK(bun && strstr(bun, "GUEST-CAS\n") == bun && strstr(bun, "PROXYCA"));

	char *a3[] = {"runc",	     "-systemd-cgroup",
		      "create",	     "--console-socket",
		      "/s",	     "-b",
		      path_of("b3"), "id3",
		      NULL};
	CHECK_EQ(gi_runc_prepare(8, a3, &p), 1);
	check_patched("b3");

	/* the bundle is the current directory */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ(chdir(path_of("b4")), 0);
	char *a4[] = {"runc", "create", "id4", NULL};
	CHECK_EQ(gi_runc_prepare(3, a4, &p), 1);
	CHECK_EQ(chdir(cwd), 0);
	check_patched("b4");

	/* twice: the config is not changed again */
	char before[4096];
	snprintf(before, sizeof(before), "%s", slurp(path_of("b1/config.json")));
	CHECK_EQ(gi_runc_prepare(13, a1, &p), 0);
	CHECK_STR(slurp(path_of("b1/config.json")), before);

	/* other subcommands: nothing */
	char *a5[] = {"runc", "--root", "create", "state", "id1", NULL};
	CHECK_EQ(gi_runc_prepare(5, a5, &p), 0);
	char *a6[] = {"runc", "delete", "--force", "id1", NULL};
	CHECK_EQ(gi_runc_prepare(4, a6, &p), 0);
}

TEST(symlink_stays_in_rootfs)
{
	struct gi_runc_paths p = paths();
	char *bun;

	bundle("s1", cfg_rel);
	mkdir(path_of("outside"), 0755);
	mkdir(path_of("outside/certs"), 0755);
	put_file(path_of("outside/certs/ca-certificates.crt"), "OUTSIDE\n", 0644);
	mkdir(path_of("s1/rootfs/etc"), 0755);
	mkdir(path_of("s1/rootfs/etc/ssl"), 0755);
	/* absolute and relative escapes */
	CHECK_EQ(symlink(path_of("outside/certs"), path_of("s1/rootfs/etc/ssl/certs")), 0);
	mkdir(path_of("s1/rootfs/etc/pki"), 0755);
	mkdir(path_of("s1/rootfs/etc/pki/tls"), 0755);
	CHECK_EQ(symlink("../../../../../outside/certs", path_of("s1/rootfs/etc/pki/tls/certs")),
		 0);
	put_file(path_of("s1/rootfs/etc/ssl/cert.pem"), "IMAGE-PEM\n", 0644);
	char *a[] = {"runc", "create", "-b", path_of("s1"), "x", NULL};
	CHECK_EQ(gi_runc_prepare(5, a, &p), 1);
	bun = slurp(path_of("s1/sbx-ca-bundle.crt"));
	CHECK(bun && !strstr(bun, "OUTSIDE"));
	CHECK(bun && strstr(bun, "IMAGE-PEM\n") == bun);

	/* an absolute root.path is taken as is */
	char cfg[1024];
	const char *r = strstr(cfg_rel, "\"rootfs\"");
	snprintf(cfg, sizeof(cfg), "%.*s\"%s\"%s", (int)(r - cfg_rel), cfg_rel,
		 path_of("s1/rootfs"), r + 8);
	bundle("s2", cfg);
	char *a2[] = {"runc", "create", "-b", path_of("s2"), "x", NULL};
	CHECK_EQ(gi_runc_prepare(5, a2, &p), 1);
	bun = slurp(path_of("s2/sbx-ca-bundle.crt"));
	CHECK(bun && strstr(bun, "IMAGE-PEM\n") == bun);
}

TEST(exec_process)
{
	struct gi_runc_paths p = paths();
	json_error_t err;
	json_t *j;

	put_file(path_of("proc.json"), "{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"}",
		 0640);
	char *a[] = {"runc",	 "--root",     "/r", "exec", "--process", path_of("proc.json"),
		     "--detach", "--pid-file", "/p", "id",   NULL};
	CHECK_EQ(gi_runc_prepare(10, a, &p), 1);
	j = json_load_file(path_of("proc.json"), 0, &err);
	CHECK(j != NULL);
	CHECK_EQ(json_array_size(json_object_get(j, "env")), 6);
	json_decref(j);
	char *a2[] = {"runc", "exec", "-t", "id", "ls", NULL}; /* no process file */
	CHECK_EQ(gi_runc_prepare(5, a2, &p), 0);
	/* a bad process file: told, and runc still runs (-1, nothing written) */
	put_file(path_of("bad.json"), "{\"env\":[", 0640);
	char *a3[] = {"runc", "exec", "-p", path_of("bad.json"), "id", NULL};
	CHECK_EQ(gi_runc_prepare(5, a3, &p), -1);
	CHECK_STR(slurp(path_of("bad.json")), "{\"env\":[");
}

TEST(no_ca_no_change)
{
	struct gi_runc_paths p = paths();

	p.ca = path_of("absent.crt");
	bundle("n1", cfg_rel);
	char *a[] = {"runc", "create", "-b", path_of("n1"), "x", NULL};
	CHECK_EQ(gi_runc_prepare(5, a, &p), 0);
	CHECK_STR(slurp(path_of("n1/config.json")), cfg_rel);
	CHECK(access(path_of("n1/sbx-proxy-ca.crt"), F_OK) < 0);
	CHECK(access(path_of("n1/sbx-ca-bundle.crt"), F_OK) < 0);
	/* a CA file that is not a PEM certificate counts as none */
	static char junk[512];
	snprintf(junk, sizeof(junk), "%s", path_of("junk.crt"));
	put_file(junk, "not a certificate\n", 0644);
	p.ca = junk;
	CHECK_EQ(gi_runc_prepare(5, a, &p), 0);
	CHECK_STR(slurp(path_of("n1/config.json")), cfg_rel);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/sbx-runc-test.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	put_file(path_of("ca.crt"), ca_pem, 0644);
	put_file(path_of("guest-bundle.crt"), "GUEST-CAS\n", 0644);
	RUN(create_forms);
	RUN(symlink_stays_in_rootfs);
	RUN(exec_process);
	RUN(no_ca_no_change);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 1;
	T_EXIT();
}
