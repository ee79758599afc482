/* Who an exec runs as, and with which environment: user lookup in the guest's /etc/passwd,
 * supplementary groups, and the default environment. Never switches the calling process's
 * identity except in gi_user_switch(), which only a child about to exec calls. */
#include "guest/gi.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool gi_switch_users;

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void from_passwd(struct gi_user *u, const struct passwd *pw)
{
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->in_passwd = true;
	copy(u->name, sizeof(u->name), pw->pw_name);
	copy(u->home, sizeof(u->home), pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/");
	copy(u->shell, sizeof(u->shell),
	     pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
}

int gi_user_resolve(const char *spec, struct gi_user *u, char *err, size_t errlen)
{
	const struct passwd *pw;
	char *end;
	unsigned long n;

	memset(u, 0, sizeof(*u));
	if (!gi_switch_users) {
		pw = getpwuid(getuid());
		if (pw) {
			from_passwd(u, pw);
		} else {
			u->uid = getuid();
			u->gid = getgid();
			snprintf(u->name, sizeof(u->name), "%u", (unsigned)u->uid);
			copy(u->home, sizeof(u->home), "/");
			copy(u->shell, sizeof(u->shell), "/bin/sh");
		}
		return 0;
	}
	if (!spec || !spec[0])
		spec = "agent";
	errno = 0;
	n = strtoul(spec, &end, 10);
	if (spec[0] >= '0' && spec[0] <= '9' && *end == 0 && errno == 0 && n < 0xfffffffful) {
		pw = getpwuid((uid_t)n);
		if (pw) {
			from_passwd(u, pw);
			return 0;
		}
		/* a numeric uid need not exist in passwd (as with docker -u) */
		u->uid = (uid_t)n;
		u->gid = (gid_t)n;
		copy(u->name, sizeof(u->name), spec);
		copy(u->home, sizeof(u->home), "/");
		copy(u->shell, sizeof(u->shell), "/bin/sh");
		return 0;
	}
	pw = getpwnam(spec);
	if (!pw) {
		snprintf(err, errlen, "unknown user %s in the sandbox", spec);
		return -1;
	}
	from_passwd(u, pw);
	return 0;
}

int gi_user_switch(const struct gi_user *u)
{
	if (!gi_switch_users)
		return 0;
	if (u->in_passwd ? initgroups(u->name, u->gid) < 0 : setgroups(0, NULL) < 0)
		return -1;
	if (setgid(u->gid) < 0 || setuid(u->uid) < 0)
		return -1;
	return 0;
}

/* Append "k=v" built in e->buf. */
static int add_kv(struct gi_env *e, const char *k, const char *v)
{
	size_t need = strlen(k) + strlen(v) + 2;

	if (e->n >= GI_ENV_MAX || sizeof(e->buf) - e->used < need)
		return -1;
	e->v[e->n++] = e->buf + e->used;
	snprintf(e->buf + e->used, need, "%s=%s", k, v);
	e->used += need;
	return 0;
}

/* Egress: every process names the relay's explicit proxy; the first six take GI_PROXY_URL. */
static const char *const proxy_vars[] = {"HTTP_PROXY",	"HTTPS_PROXY", "ALL_PROXY", "http_proxy",
					 "https_proxy", "all_proxy",   "NO_PROXY",  "no_proxy"};

int gi_env_build(struct gi_env *e, const struct gi_user *u, bool tty, const char *const *req)
{
	size_t i, j;

	e->n = e->used = 0;
	if (add_kv(e, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0 ||
	    add_kv(e, "HOME", u->home) < 0 || add_kv(e, "USER", u->name) < 0 ||
	    add_kv(e, "LOGNAME", u->name) < 0 || add_kv(e, "SHELL", u->shell) < 0 ||
	    add_kv(e, "LANG", "C.UTF-8") < 0 || (tty && add_kv(e, "TERM", "xterm-256color") < 0))
		return -1;
	for (i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		if (add_kv(e, proxy_vars[i], i < 6 ? GI_PROXY_URL : GI_NO_PROXY) < 0)
			return -1;
	for (i = 0; gi_ca_trusted && gi_ca_env[i][0]; i++)
		if (add_kv(e, gi_ca_env[i][0], gi_ca_env[i][1]) < 0)
			return -1;
	for (i = 0; req && req[i]; i++) {
		const char *eq = strchr(req[i], '=');
		size_t kl = eq ? (size_t)(eq - req[i]) + 1 : strlen(req[i]);

		for (j = 0; j < e->n; j++)
			if (strncmp(e->v[j], req[i], kl) == 0)
				break;
		if (j == e->n) {
			if (e->n >= GI_ENV_MAX)
				return -1;
			e->n++;
		}
		e->v[j] = (char *)req[i];
	}
	e->v[e->n] = NULL;
	return 0;
}
