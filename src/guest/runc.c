/* The runc wrapper: sbx-init run as "runc" (/run/sbx/bin/runc, first in containerd's and
 * dockerd's PATH, so containerd-shim and BuildKit find it) gives each container and build
 * step the proxy CA: for create/run it writes the CA and a bundle (the image's own plus the
 * CA) into the OCI bundle directory and patches config.json (oci_ca.c); for exec it patches
 * the --process file. Then it execs the real runc with the same argv. Never fails a
 * container: any trouble is one stderr line and runc runs anyway. */
#include "guest/gi.h"
#include "proto/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BUNDLE_MAX (8u << 20) /* an image's CA bundle; Debian's is ~220 KiB */
#define NOTE	   "; container starts without the proxy CA"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define GI_RESOLVE_NO_MAGICLINKS 0x02
#define GI_RESOLVE_IN_ROOT	 0x10

/* struct open_how, spelled out: musl's headers do not carry <linux/openat2.h>. */
struct gi_open_how {
	uint64_t flags, mode, resolve;
};

static const char *const image_bundles[] = {
    "etc/ssl/certs/ca-certificates.crt",
    "etc/pki/tls/certs/ca-bundle.crt",
    "etc/ssl/cert.pem",
};

static const char *const real_runcs[] = {
    "/usr/sbin/runc",
    "/usr/bin/runc",
    "/usr/local/sbin/runc",
    "/usr/local/bin/runc",
};

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "sbx-runc: %s: %s" NOTE "\n", what, why);
}

/* What runc was asked to do, from its argv. */
struct runc_cmd {
	enum { CMD_OTHER, CMD_CREATE, CMD_EXEC } kind;
	const char *bundle;  /* create/run: the bundle directory ("." by default) */
	const char *process; /* exec: the --process file, or NULL */
};

/* "-x", "--x", "-x=v", "--x=v": the name @a carries (without dashes) is @name? */
static bool opt_is(const char *a, const char *name, const char **val)
{
	size_t n = strlen(name);

	*val = NULL;
	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, n) != 0 || (a[n] != 0 && a[n] != '='))
		return false;
	if (a[n] == '=')
		*val = a + n + 1;
	return true;
}

/* Whether option @a (a "-..." argument) is one of @names (taking a value); *@val: its
 * "=value" or NULL. */
static bool opt_any(const char *a, const char *const *names, const char **val)
{
	for (; *names; names++)
		if (opt_is(a, *names, val))
			return true;
	return false;
}

static void parse_argv(int argc, char **argv, struct runc_cmd *cmd)
{
	static const char *const global_val[] = {"root", "log",	     "log-format",
						 "criu", "rootless", NULL};
	static const char *const create_val[] = {"console-socket", "pid-file", "preserve-fds",
						 NULL};
	static const char *const exec_val[] = {"console-socket",
					       "pid-file",
					       "cwd",
					       "env",
					       "e",
					       "user",
					       "u",
					       "additional-gids",
					       "g",
					       "process-label",
					       "apparmor",
					       "cap",
					       "c",
					       "preserve-fds",
					       "cgroup",
					       "process",
					       "p",
					       NULL};
	const char *val;
	int i = 1;

	cmd->kind = CMD_OTHER;
	cmd->bundle = ".";
	cmd->process = NULL;
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++)
		if (opt_any(argv[i], global_val, &val) && !val)
			i++; /* its value */
	if (i >= argc)
		return;
	if (!strcmp(argv[i], "create") || !strcmp(argv[i], "run"))
		cmd->kind = CMD_CREATE;
	else if (!strcmp(argv[i], "exec"))
		cmd->kind = CMD_EXEC;
	else
		return;
	for (i++; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];

		if (cmd->kind == CMD_CREATE &&
		    (opt_is(a, "bundle", &val) || opt_is(a, "b", &val))) {
			if (!val && i + 1 < argc)
				val = argv[++i];
			if (val)
				cmd->bundle = val;
		} else if (cmd->kind == CMD_EXEC &&
			   (opt_is(a, "process", &val) || opt_is(a, "p", &val))) {
			if (!val && i + 1 < argc)
				val = argv[++i];
			cmd->process = val;
		} else if (opt_any(a, cmd->kind == CMD_CREATE ? create_val : exec_val, &val) &&
			   !val) {
			i++;
		}
	}
}

/* The image's own CA bundle: the first of image_bundles under the rootfs @root, resolved
 * inside it (symlinks and ".." cannot leave it). NULL when there is none. */
static char *image_bundle(const char *root, size_t *len)
{
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *b = NULL;

	if (rfd < 0)
		return NULL;
	for (size_t k = 0; !b && k < sizeof(image_bundles) / sizeof(image_bundles[0]); k++) {
		struct gi_open_how how = {.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
					  .resolve = GI_RESOLVE_IN_ROOT | GI_RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, rfd, image_bundles[k], &how, sizeof(how));

		b = gi_file_read_fd(fd, BUNDLE_MAX, len);
	}
	close(rfd);
	return b;
}

/* Build the bundle file's text: the image's bundle (or the guest's) with the CA block. */
static char *bundle_text(const char *cfg, size_t cfglen, const char *bundle_dir,
			 const struct gi_runc_paths *p, const char *pem, size_t pemlen,
			 size_t *outlen)
{
	char rp[PATH_MAX], root[PATH_MAX * 2];
	size_t oldlen = 0, cap;
	char *old = NULL, *out;

	if (gi_oci_root_path(cfg, cfglen, rp, sizeof(rp)) == 0) {
		if (rp[0] == '/')
			snprintf(root, sizeof(root), "%s", rp);
		else
			snprintf(root, sizeof(root), "%s/%s", bundle_dir, rp);
		old = image_bundle(root, &oldlen);
	}
	if (!old)
		old = gi_file_read(p->bundle, BUNDLE_MAX, &oldlen);
	cap = oldlen + pemlen + 256;
	out = malloc(cap);
	*outlen =
	    out ? gi_ca_bundle_merge(old ? old : "", old ? oldlen : 0, pem, pemlen, out, cap) : 0;
	free(old);
	if (!*outlen) {
		free(out);
		return NULL;
	}
	return out;
}

/* Rewrite the OCI document at @path (kind @kind) in place. Return 1, 0 (unchanged), -1. */
static int patch_file(const char *path, enum gi_oci_kind kind, const char *ca_src,
		      const char *bundle_src, const char **why)
{
	struct stat st;
	size_t len = 0, cap;
	char *in = gi_file_read(path, GI_OCI_SPEC_MAX, &len), *out;
	long n;
	int r = -1;

	*why = strerror(errno);
	if (!in || stat(path, &st) < 0)
		goto out_in;
	cap = len + 1024 + 12 * (strlen(ca_src) + strlen(bundle_src));
	out = malloc(cap);
	n = out ? gi_oci_ca_patch(in, len, kind, ca_src, bundle_src, out, cap) : -1;
	if (n < 0) {
		*why = out ? (errno == EINVAL ? "not an OCI document" : strerror(errno))
			   : "out of memory";
	} else if ((size_t)n == len && memcmp(in, out, len) == 0) {
		r = 0;
	} else if (gi_file_write_atomic(path, out, (size_t)n, st.st_mode & 07777, false) < 0) {
		*why = strerror(errno);
	} else {
		r = 1;
	}
	free(out);
out_in:
	free(in);
	return r;
}

static int prepare_create(const char *bundle, const struct gi_runc_paths *p, const char *pem,
			  size_t pemlen)
{
	char dir[PATH_MAX], cfgp[PATH_MAX + 16], cap_[PATH_MAX + 32], bun[PATH_MAX + 32];
	size_t cfglen = 0, blen = 0;
	const char *why;
	char *cfg, *btext;
	int r;

	if (!realpath(bundle, dir)) {
		fail(bundle, strerror(errno));
		return -1;
	}
	snprintf(cfgp, sizeof(cfgp), "%s/config.json", dir);
	snprintf(cap_, sizeof(cap_), "%s/sbx-proxy-ca.crt", dir);
	snprintf(bun, sizeof(bun), "%s/sbx-ca-bundle.crt", dir);
	cfg = gi_file_read(cfgp, GI_OCI_SPEC_MAX, &cfglen);
	if (!cfg) {
		fail(cfgp, strerror(errno));
		return -1;
	}
	btext = bundle_text(cfg, cfglen, dir, p, pem, pemlen, &blen);
	free(cfg);
	if (!btext) {
		fail(bun, "building the bundle: out of memory");
		return -1;
	}
	r = gi_file_write_atomic(cap_, pem, pemlen, 0644, false);
	if (r < 0 || gi_file_write_atomic(bun, btext, blen, 0644, false) < 0) {
		fail(r < 0 ? cap_ : bun, strerror(errno));
		free(btext);
		return -1;
	}
	free(btext);
	r = patch_file(cfgp, GI_OCI_CONFIG, cap_, bun, &why);
	if (r < 0)
		fail(cfgp, why);
	return r;
}

int gi_runc_prepare(int argc, char **argv, const struct gi_runc_paths *p)
{
	struct runc_cmd cmd;
	size_t pemlen = 0;
	const char *why;
	char *pem;
	int r;

	parse_argv(argc, argv, &cmd);
	if (cmd.kind == CMD_OTHER || (cmd.kind == CMD_EXEC && !cmd.process))
		return 0;
	pem = gi_file_read(p->ca, CA_PEM_MAX, &pemlen);
	if (!pem || gi_ca_pem_check(pem, pemlen) < 0) {
		free(pem);
		return 0; /* the guest does not trust a proxy CA: nothing to hand on */
	}
	if (cmd.kind == CMD_CREATE) {
		r = prepare_create(cmd.bundle, p, pem, pemlen);
	} else {
		r = patch_file(cmd.process, GI_OCI_PROCESS, "", "", &why);
		if (r < 0)
			fail(cmd.process, why);
	}
	free(pem);
	return r;
}

int gi_runc_main(int argc, char **argv)
{
	static const struct gi_runc_paths guest = {CA_GUEST_CERT, CA_GUEST_BUNDLE};
	struct stat self, st;
	bool have_self = stat("/proc/self/exe", &self) == 0;

	gi_runc_prepare(argc, argv, &guest);
	for (size_t k = 0; k < sizeof(real_runcs) / sizeof(real_runcs[0]); k++) {
		if (stat(real_runcs[k], &st) < 0 || !S_ISREG(st.st_mode) ||
		    access(real_runcs[k], X_OK) < 0)
			continue;
		if (have_self && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
			continue;
		execv(real_runcs[k], argv);
		fprintf(stderr, "sbx-runc: exec %s: %s\n", real_runcs[k], strerror(errno));
	}
	fprintf(stderr, "sbx-runc: no runc found (looked in /usr/sbin, /usr/bin, /usr/local/sbin, "
			"/usr/local/bin)\n");
	return 127;
}
