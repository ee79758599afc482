/* Host directory layout (see paths.h). */
#include "common/paths.h"
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sbx_path_join(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int sbx_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return (v && *v) ? v : NULL;
}

static int xdg(char *out, const char *var, const char *home_rel)
{
	const char *v = env_nonempty(var);
	if (v)
		return sbx_path_join(out, "%s/sbx", v);
	const char *home = env_nonempty("HOME");
	if (!home) {
		sbx_err("cannot find home directory: HOME is not set (set HOME or SBX_HOME)");
		return -1;
	}
	return sbx_path_join(out, "%s/%s/sbx", home, home_rel);
}

static int find_libdir(struct sbx_paths *p)
{
	const char *v = env_nonempty("SBX_LIBDIR");
	char cand[PATH_MAX];
	struct stat st;

	if (v)
		return sbx_path_join(p->libdir, "%s", v);
	/* build tree (build/sbx -> build/lib/sbx) or installed (prefix/bin -> prefix/lib/sbx) */
	const char *rel[] = {"%s/lib/sbx", "%s/../lib/sbx"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (sbx_path_join(cand, rel[i], p->bindir) == 0 && stat(cand, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (!realpath(cand, p->libdir))
				return sbx_path_join(p->libdir, "%s", cand);
			return 0;
		}
	}
	return sbx_path_join(p->libdir, "%s/lib/sbx", p->bindir);
}

int sbx_paths_init(struct sbx_paths *p)
{
	const char *home = env_nonempty("SBX_HOME");
	char exe[PATH_MAX];
	ssize_t n;

	memset(p, 0, sizeof(*p));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		sbx_err("cannot find own executable: /proc/self/exe: %s (is /proc mounted?)",
			strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if (sbx_path_join(p->bindir, "%s", exe) < 0)
		return -1;

	if (home) {
		if (sbx_path_join(p->data, "%s/data", home) < 0 ||
		    sbx_path_join(p->config, "%s/config", home) < 0 ||
		    sbx_path_join(p->runtime, "%s/run", home) < 0 ||
		    sbx_path_join(p->cache, "%s/cache", home) < 0)
			goto toolong;
	} else if (geteuid() == 0) {
		strcpy(p->data, "/var/lib/sbx");
		strcpy(p->runtime, "/run/sbx");
		strcpy(p->cache, "/var/cache/sbx");
		if (xdg(p->config, "XDG_CONFIG_HOME", ".config") < 0)
			return -1;
	} else {
		if (xdg(p->data, "XDG_DATA_HOME", ".local/share") < 0 ||
		    xdg(p->config, "XDG_CONFIG_HOME", ".config") < 0 ||
		    xdg(p->cache, "XDG_CACHE_HOME", ".cache") < 0)
			return -1;
		const char *rt = env_nonempty("XDG_RUNTIME_DIR");
		if ((rt ? sbx_path_join(p->runtime, "%s/sbx", rt)
			: sbx_path_join(p->runtime, "/tmp/sbx-%u", (unsigned)getuid())) < 0)
			goto toolong;
	}
	const char *cache = env_nonempty("SBX_CACHE_DIR");
	if (cache && sbx_path_join(p->cache, "%s", cache) < 0)
		goto toolong;
	return find_libdir(p);
toolong:
	sbx_err("directory path too long: SBX_HOME or XDG variables (use a shorter directory)");
	return -1;
}
