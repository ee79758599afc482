/* Unit tests of the OCI spec rewrite that gives containers the proxy CA (src/guest/oci_ca.c):
 * a Docker-made config.json gets the two /dev bind mounts and the five variables and keeps
 * every other member (checked with jansson); a user's variable wins; no /dev tmpfs, or a
 * second run, changes nothing; a process.json gets the variables; the scanner refuses what is
 * not JSON (truncated, too deep, bad escapes) and reads escaped strings right. */
#include "guest/gi.h"
#include "t.h"

#include <errno.h>
#include <jansson.h>

/* Shaped like what docker 20.10 writes for `docker run -it debian`. */
static const char docker_cfg[] =
    "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},"
    "\"args\":[\"bash\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
    "/bin\",\"HOSTNAME=0123456789ab\",\"TERM=xterm\"],\"cwd\":\"/\",\"capabilities\":{"
    "\"bounding\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\"],\"effective\":[\"CAP_CHOWN\"],"
    "\"inheritable\":[],\"permitted\":[\"CAP_CHOWN\"]},\"apparmorProfile\":\"docker-default\","
    "\"oomScoreAdj\":0},\"root\":{\"path\":\"/var/lib/docker/overlay2/x/merged\"},"
    "\"hostname\":\"0123456789ab\",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\","
    "\"source\":\"proc\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":"
    "\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\","
    "\"mode=755\",\"size=65536k\"]},{\"destination\":\"/dev/pts\",\"type\":\"devpts\","
    "\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\","
    "\"mode=0620\",\"gid=5\"]},{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},{\"destination\":\"/etc/resolv.conf\","
    "\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/x/resolv.conf\",\"options\":["
    "\"rbind\",\"rprivate\"]}],\"hooks\":{\"prestart\":[{\"path\":\"/proc/4242/exe\",\"args\":["
    "\"libnetwork-setkey\",\"-exec-root=/var/run/docker\",\"x\",\"y\"]}]},\"linux\":{"
    "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],\"memory\":{\"limit\":0},"
    "\"cpu\":{\"shares\":0}},\"cgroupsPath\":\"system.slice:docker:x\",\"namespaces\":[{\"type\":"
    "\"mount\"},{\"type\":\"network\"},{\"type\":\"uts\"},{\"type\":\"pid\"},{\"type\":\"ipc\"}],"
    "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/bus\"],\"seccomp\":{"
    "\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
    "\"SCMP_ACT_ALLOW\"}]}}}";

static const char *const vars[] = {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
				   "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS"};

#define CA_SRC	"/run/containerd/b/x/sbx-proxy-ca.crt"
#define BUN_SRC "/run/containerd/b/x/sbx-ca-bundle.crt"

static char out[1 << 16], out2[1 << 16];

static long patch(const char *in, enum gi_oci_kind k, char *o)
{
	return gi_oci_ca_patch(in, strlen(in), k, CA_SRC, BUN_SRC, o, sizeof(out));
}

/* The env array's value for @name, or NULL. Counts entries for @name in *@n. */
static const char *env_get(json_t *env, const char *name, int *n)
{
	const char *v = NULL;
	size_t i, kl = strlen(name);
	json_t *e;

	*n = 0;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);

		if (s && strncmp(s, name, kl) == 0 && s[kl] == '=') {
			v = s + kl + 1;
			(*n)++;
		}
	}
	return v;
}

/* How many mounts go to @dest; the last one's source into *@src. */
static int mounts_to(json_t *mounts, const char *dest, const char **src)
{
	size_t i;
	json_t *m;
	int n = 0;

	json_array_foreach(mounts, i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "destination")) ?: "", dest) == 0) {
			n++;
			*src = json_string_value(json_object_get(m, "source"));
		}
	}
	return n;
}

TEST(docker_config)
{
	long n = patch(docker_cfg, GI_OCI_CONFIG, out);
	json_error_t err;
	json_t *orig = json_loads(docker_cfg, 0, &err), *got;
	const char *key, *src = NULL;
	json_t *v;
	int cnt;

	CHECK(orig != NULL);
	CHECK(n > (long)strlen(docker_cfg));
	if (n <= 0)
		return;
	CHECK_EQ(gi_json_valid(out, (size_t)n), 0);
	got = json_loadb(out, (size_t)n, 0, &err);
	CHECK(got != NULL);
	if (!got || !orig)
		return;
	/* every original top-level member is there; only mounts and process changed */
	json_object_foreach(orig, key, v)
	{
		CHECK(json_object_get(got, key) != NULL);
		if (strcmp(key, "mounts") && strcmp(key, "process"))
			CHECK(json_equal(v, json_object_get(got, key)));
	}
	CHECK_EQ(json_object_size(got), json_object_size(orig));
	json_t *mounts = json_object_get(got, "mounts");
	CHECK_EQ(json_array_size(mounts), json_array_size(json_object_get(orig, "mounts")) + 2);
	for (size_t i = 0; i < json_array_size(json_object_get(orig, "mounts")); i++)
		CHECK(json_equal(json_array_get(mounts, i),
				 json_array_get(json_object_get(orig, "mounts"), i)));
	CHECK_EQ(mounts_to(mounts, "/dev/sbx-proxy-ca.crt", &src), 1);
	CHECK_STR(src, CA_SRC);
	CHECK_EQ(mounts_to(mounts, "/dev/sbx-ca-bundle.crt", &src), 1);
	CHECK_STR(src, BUN_SRC);
	json_t *m = json_array_get(mounts, json_array_size(mounts) - 1);
	CHECK_STR(json_string_value(json_object_get(m, "type")), "bind");
	json_t *opts = json_object_get(m, "options");
	CHECK_EQ(json_array_size(opts), 5);
	CHECK_STR(json_string_value(json_array_get(opts, 1)), "ro");
	json_t *env = json_object_get(json_object_get(got, "process"), "env");
	CHECK_EQ(json_array_size(env), 3 + 5);
	for (size_t i = 0; i < 5; i++) {
		const char *val = env_get(env, vars[i], &cnt);

		CHECK_EQ(cnt, 1);
		CHECK_STR(val, i == 4 ? "/dev/sbx-proxy-ca.crt" : "/dev/sbx-ca-bundle.crt");
	}
	CHECK_STR(env_get(env, "TERM", &cnt), "xterm");
	/* process: everything else equal */
	json_object_del(json_object_get(got, "process"), "env");
	json_object_del(json_object_get(orig, "process"), "env");
	CHECK(json_equal(json_object_get(got, "process"), json_object_get(orig, "process")));
	/* insertions only: removing the inserted bytes gives the input back */
	CHECK_EQ(memcmp(out, docker_cfg, 100), 0);

	/* a second run adds nothing */
	long n2 =
	    gi_oci_ca_patch(out, (size_t)n, GI_OCI_CONFIG, CA_SRC, BUN_SRC, out2, sizeof(out2));
	CHECK_EQ(n2, n);
	CHECK_EQ(memcmp(out, out2, (size_t)n), 0);
	json_decref(got);
	json_decref(orig);
}

TEST(user_env_wins)
{
	static char cfg[sizeof(docker_cfg) + 64];
	const char *p = strstr(docker_cfg, "\"TERM=xterm\"");
	json_error_t err;
	json_t *got;
	int cnt;
	long n;

	/* docker run -e SSL_CERT_FILE=/mine.pem, and NODE_EXTRA_CA_CERTS set empty */
	snprintf(cfg, sizeof(cfg), "%.*s\"SSL_CERT_FILE=/mine.pem\",\"NODE_EXTRA_CA_CERTS\",%s",
		 (int)(p - docker_cfg), docker_cfg, p);
	n = patch(cfg, GI_OCI_CONFIG, out);
	CHECK(n > 0);
	got = json_loadb(out, n > 0 ? (size_t)n : 0, 0, &err);
	CHECK(got != NULL);
	if (!got)
		return;
	json_t *env = json_object_get(json_object_get(got, "process"), "env");
	CHECK_STR(env_get(env, "SSL_CERT_FILE", &cnt), "/mine.pem");
	CHECK_EQ(cnt, 1);
	env_get(env, "NODE_EXTRA_CA_CERTS", &cnt);
	CHECK_EQ(cnt, 0); /* "NAME" alone counts as set */
	CHECK_STR(env_get(env, "CURL_CA_BUNDLE", &cnt), "/dev/sbx-ca-bundle.crt");
	CHECK_EQ(json_array_size(env), 5 + 3);
	json_decref(got);
}

TEST(no_dev_tmpfs_unchanged)
{
	static char cfg[sizeof(docker_cfg)];
	char *p;
	long n;

	memcpy(cfg, docker_cfg, sizeof(docker_cfg));
	p = strstr(cfg, "\"/dev\",\"type\":\"tmpfs\"");
	CHECK(p != NULL);
	if (!p)
		return;
	memcpy(p + 15, "bind\" ", 6); /* /dev is now a bind mount */
	n = patch(cfg, GI_OCI_CONFIG, out);
	CHECK_EQ(n, (long)strlen(cfg));
	CHECK_EQ(memcmp(out, cfg, strlen(cfg)), 0);
	/* no mounts at all */
	CHECK_EQ(patch("{\"process\":{\"env\":[]}}", GI_OCI_CONFIG, out), 22);
	CHECK_EQ(memcmp(out, "{\"process\":{\"env\":[]}}", 22), 0);
}

TEST(minimal_shapes)
{
	static const char *const cases[][2] = {
	    /* process without env: one is created */
	    {"{\"mounts\":[{\"destination\":\"/dev\",\"type\":\"tmpfs\"}],\"process\":{}}",
	     "{\"mounts\":[{\"destination\":\"/dev\",\"type\":\"tmpfs\"},{\"destination\":\"/dev/"
	     "sbx-proxy-ca.crt\",\"type\":\"bind\",\"source\":\"/c\",\"options\":[\"rbind\","
	     "\"ro\",\"nosuid\",\"nodev\",\"noexec\"]},{\"destination\":\"/dev/sbx-ca-bundle.crt\","
	     "\"type\":\"bind\",\"source\":\"/b\\\"q\",\"options\":[\"rbind\",\"ro\",\"nosuid\","
	     "\"nodev\",\"noexec\"]}],\"process\":{\"env\":[\"SSL_CERT_FILE=/dev/"
	     "sbx-ca-bundle.crt\","
	     "\"REQUESTS_CA_BUNDLE=/dev/sbx-ca-bundle.crt\",\"CURL_CA_BUNDLE=/dev/"
	     "sbx-ca-bundle.crt\","
	     "\"GIT_SSL_CAINFO=/dev/sbx-ca-bundle.crt\",\"NODE_EXTRA_CA_CERTS=/dev/"
	     "sbx-proxy-ca.crt\""
	     "]}}"},
	    /* process before mounts, one destination already there, env null left alone */
	    {" { \"process\" : { \"env\" : null } , \"mounts\" : [ {\"type\":\"tmpfs\","
	     "\"destination\":\"/dev\"}, {\"destination\":\"/dev/sbx-ca-bundle.crt\"} ] } ",
	     " { \"process\" : { \"env\" : null } , \"mounts\" : [ {\"type\":\"tmpfs\","
	     "\"destination\":\"/dev\"}, {\"destination\":\"/dev/sbx-ca-bundle.crt\"} ,{"
	     "\"destination\":\"/dev/sbx-proxy-ca.crt\",\"type\":\"bind\",\"source\":\"/c\","
	     "\"options\":[\"rbind\",\"ro\",\"nosuid\",\"nodev\",\"noexec\"]}] } "},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = gi_oci_ca_patch(cases[i][0], strlen(cases[i][0]), GI_OCI_CONFIG, "/c",
					 "/b\"q", out, sizeof(out));

		CHECK_EQ(n, (long)strlen(cases[i][1]));
		if (n > 0) {
			out[n] = 0;
			CHECK_STR(out, cases[i][1]);
			CHECK_EQ(gi_json_valid(out, (size_t)n), 0);
		}
	}
	/* too small an output buffer */
	errno = 0;
	CHECK_EQ(gi_oci_ca_patch(cases[0][0], strlen(cases[0][0]), GI_OCI_CONFIG, "/c", "/b", out,
				 strlen(cases[0][0]) + 10),
		 -1);
	CHECK_EQ(errno, ENOSPC);
}

TEST(process_file)
{
	static const char proc[] =
	    "{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":1000},\"args\":[\"sh\",\"-c\","
	    "\"echo \\\"]}\\\"\"],\"env\":[\"PATH=/usr/bin\",\"GIT_SSL_CAINFO=/x\"],\"cwd\":\"/\"}";
	json_error_t err;
	json_t *got;
	int cnt;
	long n = patch(proc, GI_OCI_PROCESS, out);

	CHECK(n > 0);
	got = json_loadb(out, n > 0 ? (size_t)n : 0, 0, &err);
	CHECK(got != NULL);
	if (!got)
		return;
	json_t *env = json_object_get(got, "env");
	CHECK_EQ(json_array_size(env), 2 + 4);
	CHECK_STR(env_get(env, "GIT_SSL_CAINFO", &cnt), "/x");
	CHECK_STR(env_get(env, "NODE_EXTRA_CA_CERTS", &cnt), "/dev/sbx-proxy-ca.crt");
	CHECK_STR(json_string_value(json_array_get(json_object_get(got, "args"), 2)),
		  "echo \"]}\"");
	CHECK(json_object_get(got, "mounts") == NULL);
	json_decref(got);
	/* a process without env gets one; an empty env gets the five */
	for (int k = 0; k < 2; k++) {
		n = patch(k ? "{\"env\":[]}" : "{}", GI_OCI_PROCESS, out);
		CHECK(n > 0);
		got = json_loadb(out, n > 0 ? (size_t)n : 0, 0, &err);
		CHECK_EQ(json_array_size(json_object_get(got, "env")), 5);
		json_decref(got);
	}
	CHECK_EQ(patch("[]", GI_OCI_PROCESS, out), -1); /* not an object */
}

TEST(root_path)
{
	char p[64];

	CHECK_EQ(gi_oci_root_path(docker_cfg, strlen(docker_cfg), p, sizeof(p)), 0);
	CHECK_STR(p, "/var/lib/docker/overlay2/x/merged");
	static const char esc[] = "{\"root\":{\"readonly\":true,\"path\":\"root\\u0066s\\/a\"}}";
	CHECK_EQ(gi_oci_root_path(esc, strlen(esc), p, sizeof(p)), 0);
	CHECK_STR(p, "rootfs/a");
	static const char nul[] = "{\"root\":{\"path\":\"a\\u0000b\"}}";
	CHECK_EQ(gi_oci_root_path(nul, strlen(nul), p, sizeof(p)), -1);
	CHECK_EQ(gi_oci_root_path("{\"root\":{}}", 11, p, sizeof(p)), -1);
	CHECK_EQ(gi_oci_root_path(esc, strlen(esc), p, 5), -1); /* does not fit */
	CHECK_EQ(gi_oci_root_path(esc, strlen(esc) - 1, p, sizeof(p)), -1);
}

TEST(scanner_rejects)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "[1,]",
	    "[1 2]",
	    "\"\\x\"",
	    "\"\\u12g4\"",
	    "\"a\nb\"",
	    "01",
	    "1.",
	    "-",
	    "1e",
	    "tru",
	    "nul",
	    "{} {}",
	    "{\"a\":1}]",
	    "[\"\\\"",
	    "{'a':1}",
	    "{\"a\" 1}",
	    "\"unterminated",
	    "[-]",
	    "{1:2}",
	};
	static const char *const good[] = {
	    "{}",
	    " [ ] ",
	    "-0.5e+3",
	    "\"\\ud83d\\ude00 \\\\ \\/ \\\" ]}\"",
	    "[true,false,null]",
	    "{\"a\":{\"b\":[1,{\"c\":\"}\"}]}}",
	};
	char deep[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(gi_json_valid(bad[i], strlen(bad[i])), -1);
		CHECK_EQ(patch(bad[i], GI_OCI_CONFIG, out), -1);
		CHECK_EQ(patch(bad[i], GI_OCI_PROCESS, out), -1);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(gi_json_valid(good[i], strlen(good[i])), 0);
	/* 64 levels pass, 65 do not */
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	CHECK_EQ(gi_json_valid(deep, 128), 0);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	CHECK_EQ(gi_json_valid(deep, 130), -1);
	/* deep nesting inside mounts and env */
	static char dm[4096];
	size_t o = (size_t)snprintf(dm, sizeof(dm), "{\"mounts\":[");
	for (int i = 0; i < 200; i++)
		dm[o++] = '[';
	CHECK_EQ(patch(dm, GI_OCI_CONFIG, out), -1);
	/* every truncation of the real config is refused */
	for (size_t k = 0; k < strlen(docker_cfg); k++)
		if (gi_oci_ca_patch(docker_cfg, k, GI_OCI_CONFIG, CA_SRC, BUN_SRC, out,
				    sizeof(out)) != -1) {
			CHECK(!"a truncated config was accepted");
			break;
		}
}

TEST(escaped_keys_and_strings)
{
	/* "m\u006funts" is "mounts"; a destination with escapes; brackets inside strings */
	static const char cfg[] =
	    "{\"x\":\"]}[{\\\"\",\"m\\u006funts\":[{\"destination\":\"\\/dev\",\"type\":"
	    "\"tmp\\u0066s\",\"note\":\"}]\"}],\"Process\":{\"env\":[\"A=\\\"]\"]}}";
	json_error_t err;
	json_t *got;
	long n = patch(cfg, GI_OCI_CONFIG, out);

	CHECK(n > (long)strlen(cfg));
	got = json_loadb(out, n > 0 ? (size_t)n : 0, 0, &err);
	CHECK(got != NULL);
	if (!got)
		return;
	CHECK_EQ(json_array_size(json_object_get(got, "mounts")), 3);
	CHECK_EQ(json_array_size(json_object_get(json_object_get(got, "Process"), "env")), 6);
	CHECK_STR(json_string_value(json_object_get(got, "x")), "]}[{\"");
	json_decref(got);
}

int main(void)
{
	RUN(docker_config);
	RUN(user_env_wins);
	RUN(no_dev_tmpfs_unchanged);
	RUN(minimal_shapes);
	RUN(process_file);
	RUN(root_path);
	RUN(scanner_rejects);
	RUN(escaped_keys_and_strings);
	T_EXIT();
}
