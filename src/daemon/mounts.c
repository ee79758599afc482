/* Shares of a sandbox in sbxd: checks each requested mount (absolute, existing directory or a
 * read-only regular file, not a guest system directory, not nested or doubled, workspace first)
 * and that all of them fit the guest kernel's command line. Never touches the store or an
 * engine. */
#include "daemon/sandbox.h"
#include "engine/engine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Guest directories a share must not cover: the guest's own system would vanish under it. */
static const char *const guest_system_dirs[] = {"/",	"/bin",	  "/boot", "/dev", "/etc",
						"/lib", "/lib64", "/proc", "/run", "/sbin",
						"/sys", "/usr",	  "/var",  NULL};
static const char *const guest_system_trees[] = {"/dev", "/proc", "/sys", "/run/sbx", NULL};

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1);
}

bool sandbox_path_normal(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p; p++)
		if (*p == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || !p[2])) ||
				  (p[1] == '.' && p[2] == '.' && (p[3] == '/' || !p[3])) ||
				  (!p[1] && p != path)))
			return false;
	return true;
}

static bool system_path(const char *p)
{
	for (int i = 0; guest_system_dirs[i]; i++)
		if (strcmp(p, guest_system_dirs[i]) == 0)
			return true;
	for (int i = 0; guest_system_trees[i]; i++)
		if (path_under(p, guest_system_trees[i]))
			return true;
	return false;
}

/* Check one requested share and store in @m the path the guest sees it at: @path as given
 * when it is normalized (a symlink such as ~/proj -> /data/proj stays ~/proj; the host
 * serves what it points to, resolved at each start), else its realpath. Return 0, or 400 +
 * @err. */
static int mount_check(const char *path, bool readonly, struct sbx_mount *m, char *err)
{
	char real[PATH_MAX];
	const char *shown;
	struct stat st;

	if (!path || path[0] != '/' || strlen(path) >= PATH_MAX) {
		sandbox_seterr(err, "bad mount %s: not an absolute path (give the full path)",
			       path ? path : "(none)");
		return 400;
	}
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			sandbox_seterr(err,
				       "bad mount %s: the path has a control character (rename it)",
				       path);
			return 400;
		}
	if (!realpath(path, real) || stat(real, &st) < 0) {
		sandbox_seterr(err, "bad mount %s: %s (create it first)", path, strerror(errno));
		return 400;
	}
	if (S_ISREG(st.st_mode) && !readonly) {
		sandbox_seterr(err,
			       "bad mount %s: a single file can only be shared read-only (add :ro)",
			       path);
		return 400;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		sandbox_seterr(
		    err, "bad mount %s: not a directory or regular file (share a directory)", path);
		return 400;
	}
	shown = sandbox_path_normal(path) ? path : real;
	if (system_path(shown) || system_path(real)) {
		sandbox_seterr(err,
			       "bad mount %s: it would hide or expose the sandbox's own system "
			       "directories (share a directory of yours)",
			       path);
		return 400;
	}
	snprintf(m->path, sizeof(m->path), "%s", shown);
	m->readonly = readonly;
	m->file = S_ISREG(st.st_mode);
	return 0;
}

int sandbox_mounts_from_req(const struct sbxd_ctx *ctx, const struct sandbox_create_req *req,
			    struct sbx_sandbox *sb, char *err)
{
	struct engine_share sh[STORE_MOUNTS_MAX];
	size_t total = 0;
	char *line;
	int rc;

	sb->n_mounts = 0;
	if (req->n_mounts <= 0)
		return 0;
	if (req->n_mounts > STORE_MOUNTS_MAX) {
		sandbox_seterr(err, "too many mounts: %d (at most %d)", req->n_mounts,
			       STORE_MOUNTS_MAX);
		return 400;
	}
	for (int i = 0; i < req->n_mounts; i++) {
		struct sbx_mount *m = &sb->mounts[i];
		rc = mount_check(req->mounts[i].path, req->mounts[i].readonly, m, err);
		if (rc)
			return rc;
		for (int j = 0; j < i; j++) {
			const char *o = sb->mounts[j].path;
			if (strcmp(o, m->path) == 0) {
				sandbox_seterr(err,
					       "bad mount %s: shared twice (give each path once)",
					       req->mounts[i].path);
				return 400;
			}
			if (path_under(m->path, o) || path_under(o, m->path)) {
				sandbox_seterr(
				    err,
				    "bad mount %s: %s and %s are nested (share only the outer "
				    "one)",
				    req->mounts[i].path, path_under(m->path, o) ? o : m->path,
				    path_under(m->path, o) ? m->path : o);
				return 400;
			}
		}
		sh[i].path = m->path;
		sh[i].readonly = m->readonly;
		sh[i].file = m->file;
		total += strlen(m->path);
		sb->n_mounts++;
	}
	if (strcmp(sb->mounts[0].path, sb->workspace) != 0) {
		sandbox_seterr(
		    err,
		    "bad mounts: the first mount (%s) must be the workspace (%s) (put the "
		    "workspace first)",
		    sb->mounts[0].path, sb->workspace);
		return 400;
	}
	/* sbx-init learns the shares from the kernel command line (2048 bytes at most). */
	struct engine_vm_spec probe = {.name = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				       .accel = ctx->accel,
				       .tsc_khz = ctx->tsc_khz};
	size_t room = engine_cmdline_room(&probe);
	line = malloc(room + 1);
	rc = line && engine_shares_cmdline(sh, sb->n_mounts, line, room + 1) >= 0 ? 0 : 400;
	free(line);
	if (rc)
		sandbox_seterr(
		    err,
		    "bad mounts: %u paths of %zu bytes in all do not fit the guest kernel's "
		    "command line (%zu bytes left; share fewer or shorter paths)",
		    sb->n_mounts, total, room);
	return rc;
}
