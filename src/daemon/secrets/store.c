/* The secret store (see store.h): an array of secrets in memory behind one mutex, and its
 * file, <config>/secrets.json, rewritten whole (temp file, fsync, rename, fsync of the
 * directory) on every change; with a keyring (keyring.h) the values go there before the file
 * is rewritten without them. Values are wiped before their memory is freed; no function
 * here logs a value or puts one in an error message. */
#include "daemon/secrets/store.h"
#include "common/err.h"
#include "common/paths.h"
#include "daemon/secrets/keyring.h"
#include "daemon/secrets/services.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_VERSION 1

struct entry {
	struct secret_info info;
	char *value; /* malloc'd, wiped before free; NULL: in a keyring sbxd cannot read now */
};

struct secret_store {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	struct entry *e;
	size_t n;
	struct keyring *kr; /* NULL: values live in the file */
};

static void value_free(char *v)
{
	if (v) {
		OPENSSL_cleanse(v, strlen(v));
		free(v);
	}
}

static bool scope_valid(const char *s)
{
	/* a sandbox name: [a-z0-9][a-z0-9_.-]{0,39} (store_name_valid's rule) */
	return s[0] == '\0' || (strlen(s) < SECRET_SCOPE_MAX && secret_name_valid(s));
}

static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static json_t *entry_json(const struct entry *e)
{
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:I}", "kind",
		      e->info.kind == SECRET_CUSTOM ? "custom" : "service", "name", e->info.name,
		      "scope", e->info.scope, "created_at", (json_int_t)e->info.created_at);
	if (o && e->info.in_keyring)
		json_object_set_new(o, "value_in", json_string("keyring"));
	else if (o)
		json_object_set_new(o, "value", json_string(e->value));
	if (o && e->info.from_env)
		json_object_set_new(o, "source", json_string("env"));
	if (o && e->info.kind == SECRET_CUSTOM) {
		json_object_set_new(o, "host", json_string(e->info.host));
		json_object_set_new(o, "env", json_string(e->info.env));
		json_object_set_new(o, "placeholder", json_string(e->info.placeholder));
	}
	return o;
}

/* Write @e[0..@n) to @path atomically. Return 0 or -1 with @err set. */
static int write_file(const char *path, const struct entry *e, size_t n, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
	json_t *arr = json_array(), *root;
	char *text;
	int fd, dfd;

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (sbx_mkdir_p(dir, 0700) < 0) {
		json_decref(arr);
		return seterr(err, errlen, -1, "cannot create %.200s: %s (check permissions)", dir,
			      strerror(errno));
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, entry_json(&e[i]));
	root = json_pack("{s:i,s:o}", "version", FILE_VERSION, "secrets", arr);
	text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	if (!text)
		return seterr(err, errlen, -1, "cannot save secrets: out of memory");
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		value_free(text);
		return seterr(err, errlen, -1, "cannot write %.200s: %s (check permissions)", tmp,
			      strerror(errno));
	}
	size_t len = strlen(text), at = 0;
	int rc = fchmod(fd, 0600);
	while (rc == 0 && at < len) {
		ssize_t w = write(fd, text + at, len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else
			at += (size_t)w;
	}
	if (rc == 0)
		rc = fsync(fd);
	int e2 = errno;
	close(fd);
	value_free(text);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		e2 = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		return seterr(err, errlen, -1, "cannot write %.200s: %s (check the disk)", path,
			      strerror(e2));
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Move the values @e[0..@n) holds outside @kr into it (marking them in_keyring). Return 0
 * or -1 with @err set (the entries moved so far stay moved: the file still has them too). */
static int keyring_sync(struct keyring *kr, struct entry *e, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].info.in_keyring || !e[i].value)
			continue;
		if (keyring_put(kr, &e[i].info, e[i].value, err, errlen) < 0)
			return -1;
		e[i].info.in_keyring = true;
	}
	return 0;
}

/* Store @e[0..@n): values into @kr (if any), then the file @path. Return 0 or -1 with @err. */
static int persist(const char *path, struct keyring *kr, struct entry *e, size_t n, char *err,
		   size_t errlen)
{
	if (kr && keyring_sync(kr, e, n, err, errlen) < 0)
		return -1;
	return write_file(path, e, n, err, errlen);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* One entry of the file into @e. Return 0 or -1 (malformed). */
static int entry_load(json_t *o, struct entry *e)
{
	const char *kind = jstr(o, "kind"), *name = jstr(o, "name"), *scope = jstr(o, "scope"),
		   *value = jstr(o, "value"), *source = jstr(o, "source"),
		   *value_in = jstr(o, "value_in");
	json_t *ts = json_object_get(o, "created_at");

	memset(e, 0, sizeof(*e));
	if (value_in && (strcmp(value_in, "keyring") != 0 || value))
		return -1;
	if (!kind || !name || !scope || !(value || value_in) || !json_is_integer(ts) ||
	    !secret_name_valid(name) || !scope_valid(scope) ||
	    (value && !secret_value_valid(value)))
		return -1;
	if (source && strcmp(source, "env") == 0) {
		if (strcmp(kind, "service") != 0 || !scope[0])
			return -1;
		e->info.from_env = true;
	} else if (source) {
		return -1;
	}
	if (strcmp(kind, "service") == 0) {
		if (!secret_service_find(name))
			return -1;
		e->info.kind = SECRET_SERVICE;
	} else if (strcmp(kind, "custom") == 0) {
		const char *host = jstr(o, "host"), *env = jstr(o, "env"),
			   *ph = jstr(o, "placeholder");
		if (!secret_host_valid(host) || !secret_env_valid(env) || !ph ||
		    strlen(ph) != SECRET_PH_MAX - 1 || strncmp(ph, "sbx-ph-", 7) != 0)
			return -1;
		e->info.kind = SECRET_CUSTOM;
		snprintf(e->info.host, sizeof(e->info.host), "%s", host);
		snprintf(e->info.env, sizeof(e->info.env), "%s", env);
		snprintf(e->info.placeholder, sizeof(e->info.placeholder), "%s", ph);
	} else {
		return -1;
	}
	snprintf(e->info.name, sizeof(e->info.name), "%.63s", name);
	snprintf(e->info.scope, sizeof(e->info.scope), "%s", scope);
	e->info.created_at = json_integer_value(ts);
	if (value_in) { /* the value is filled in by load() */
		e->info.in_keyring = true;
		return 0;
	}
	e->value = strdup(value);
	return e->value ? 0 : -1;
}

/* Fill in the values of @s's keyring-held entries from @s->kr; an entry whose item is gone
 * is dropped. Without a keyring, or one that fails, they stay without a value (unused, kept
 * in the file). Each case is one log line naming the secret, never its value. */
static void load_keyring_values(struct secret_store *s)
{
	char buf[SECRET_VALUE_MAX + 1], why[400];
	size_t out = 0, unreadable = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct entry *e = &s->e[i];
		const char *sc = e->info.scope[0] ? e->info.scope : "global";
		int rc = e->info.in_keyring && s->kr
			     ? keyring_get(s->kr, &e->info, buf, sizeof(buf), why, sizeof(why))
			     : 0;
		if (e->info.in_keyring && !s->kr) {
			unreadable++;
		} else if (rc == 1) {
			sbx_log("secret %s (%s) is gone from the keyring: dropped (set it again)",
				e->info.name, sc);
			continue;
		} else if (rc < 0) {
			sbx_log("%s (the secret is not used until sbxd can read it)", why);
		} else if (e->info.in_keyring && !secret_value_valid(buf)) {
			sbx_log("secret %s (%s): the keyring's value is not a usable key (set it "
				"again)",
				e->info.name, sc);
		} else if (e->info.in_keyring && !(e->value = strdup(buf))) {
			sbx_log("secret %s (%s): out of memory", e->info.name, sc);
		}
		s->e[out++] = *e;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	s->n = out;
	if (unreadable)
		sbx_log("%zu secret(s) in %s have their values in the keyring, which is not in use "
			"(SBX_SECRET_STORE, session bus): they are not used until it is",
			unreadable, s->path);
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		value_free(e[i].value);
	free(e);
}

static int load(struct secret_store *s, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *arr, *it;
	struct stat st;
	size_t i;
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : seterr(err, errlen, -1, "cannot read %.200s: %s (check permissions)",
				    s->path, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		sbx_log("%s was readable by others (mode %o): set to 0600", s->path,
			(unsigned)(st.st_mode & 0777));
		if (fchmod(fd, 0600) < 0)
			sbx_log("cannot chmod %s: %s", s->path, strerror(errno));
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	arr = json_object_get(root, "secrets");
	if (!json_is_object(root) || !json_is_array(arr)) {
		json_decref(root);
		return seterr(err, errlen, -1,
			      "cannot read %.200s: not a secrets file (line %d) (fix or remove it, "
			      "then set the secrets again)",
			      s->path, jerr.line);
	}
	s->e = calloc(json_array_size(arr) + 1, sizeof(*s->e));
	if (!s->e) {
		json_decref(root);
		return seterr(err, errlen, -1, "cannot read %.200s: out of memory", s->path);
	}
	json_array_foreach(arr, i, it)
	{
		if (entry_load(it, &s->e[s->n]) < 0) {
			value_free(s->e[s->n].value);
			json_decref(root);
			return seterr(err, errlen, -1,
				      "cannot read %.200s: secret #%zu is malformed (fix or remove "
				      "it, then set the secrets again)",
				      s->path, i + 1);
		}
		s->n++;
	}
	json_decref(root);
	load_keyring_values(s);
	return 0;
}

/* With a keyring, move the values the file still holds into it (a file written before, or
 * by sbxd in file mode). A failure leaves them in the file, logged. */
static void migrate(struct secret_store *s)
{
	char err[512];
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += !s->e[i].info.in_keyring;
	if (!s->kr || n == 0)
		return;
	if (persist(s->path, s->kr, s->e, s->n, err, sizeof(err)) < 0)
		sbx_log("secret values stay in %s for now: %s", s->path, err);
	else
		sbx_log("moved %zu secret value(s) from %s into the keyring", n, s->path);
}

int secret_store_open(const char *path, struct secret_store **out, char *err, size_t errlen)
{
	struct secret_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return seterr(err, errlen, -1, "cannot open the secret store: out of memory");
	if (strlen(path) >= sizeof(s->path)) {
		free(s);
		return seterr(err, errlen, -1, "secret store path is too long");
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	char install[PATH_MAX];
	snprintf(install, sizeof(install), "%s", path);
	char *slash = strrchr(install, '/');
	if (slash && slash != install)
		*slash = '\0';
	else
		snprintf(install, sizeof(install), "%s", slash ? "/" : ".");
	if (keyring_open(install, &s->kr, err, errlen) < 0 || load(s, err, errlen) < 0) {
		secret_store_close(s);
		return -1;
	}
	migrate(s);
	*out = s;
	return 0;
}

void secret_store_close(struct secret_store *s)
{
	if (!s)
		return;
	entries_free(s->e, s->n);
	keyring_close(s->kr);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const char *norm_scope(const char *scope)
{
	return scope ? scope : "";
}

/* Index of @name/@scope in @s, or -1. Caller holds the lock. */
static long find_index(const struct secret_store *s, const char *name, const char *scope)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].info.name, name) == 0 && strcmp(s->e[i].info.scope, scope) == 0)
			return (long)i;
	return -1;
}

static int placeholder_new(char *out)
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	memcpy(out, "sbx-ph-", 7);
	for (size_t i = 0; i < sizeof(r); i++) {
		out[7 + 2 * i] = hex[r[i] >> 4];
		out[8 + 2 * i] = hex[r[i] & 15];
	}
	out[7 + 2 * sizeof(r)] = '\0';
	return 0;
}

/* Check @spec and fill @e->info (not the value). Return 0 or 400 with @err. */
static int spec_check(const struct secret_spec *spec, struct entry *e, char *err, size_t errlen)
{
	const char *scope = norm_scope(spec->scope), *name = spec->name;
	char names[256], lower[SECRET_HOST_MAX];

	memset(e, 0, sizeof(*e));
	if (!scope_valid(scope))
		return seterr(err, errlen, 400, "'%.60s' is not a sandbox name", scope);
	if (!secret_value_valid(spec->value))
		return seterr(err, errlen, 400,
			      "bad value: give 1..%d bytes of printable ASCII, no control "
			      "characters or newlines, no leading or trailing space",
			      SECRET_VALUE_MAX);
	if (spec->from_env && (spec->kind != SECRET_SERVICE || !scope[0]))
		return seterr(err, errlen, 400,
			      "a key from the host environment is a service's, for one sandbox");
	if (spec->kind == SECRET_SERVICE) {
		if (!secret_service_find(name)) {
			secret_service_names(names, sizeof(names));
			return seterr(err, errlen, 400,
				      "unknown service '%.60s' (known: %s; for another host use "
				      "sbx secret set-custom)",
				      secret_name_valid(name) ? name : "?", names);
		}
	} else {
		if (!secret_host_valid(spec->host))
			return seterr(err, errlen, 400,
				      "bad host '%.100s': give a host name such as api.example.com",
				      spec->host && secret_name_valid(spec->host) ? spec->host
										  : "?");
		if (!secret_env_valid(spec->env))
			return seterr(err, errlen, 400,
				      "bad environment variable name: give [A-Za-z_][A-Za-z0-9_]*");
		size_t i;
		for (i = 0; spec->host[i]; i++)
			lower[i] =
			    (char)(spec->host[i] >= 'A' && spec->host[i] <= 'Z' ? spec->host[i] + 32
										: spec->host[i]);
		lower[i] = '\0';
		if (!name)
			name = lower;
		if (!secret_name_valid(name))
			return seterr(err, errlen, 400,
				      "bad name '%.60s': give [a-z0-9][a-z0-9._-]*, at most 63 "
				      "characters",
				      name);
		if (secret_service_find(name))
			return seterr(err, errlen, 400,
				      "'%s' is a known service's name (use sbx secret set %s, or "
				      "another name)",
				      name, name);
		snprintf(e->info.host, sizeof(e->info.host), "%s", lower);
		snprintf(e->info.env, sizeof(e->info.env), "%s", spec->env);
	}
	e->info.kind = spec->kind;
	e->info.from_env = spec->from_env;
	snprintf(e->info.name, sizeof(e->info.name), "%.63s", name);
	snprintf(e->info.scope, sizeof(e->info.scope), "%s", scope);
	e->info.created_at = (int64_t)time(NULL);
	return 0;
}

/* Delete removed secret @info's keyring item; a failure is logged (the file no longer names
 * it, so the item is only an orphan). Caller holds the lock. */
static void keyring_forget(struct secret_store *s, const struct secret_info *info)
{
	char err[512];

	if (!s->kr)
		sbx_log(
		    "secret %s (%s) was removed, but its keyring item stays: the keyring is not "
		    "in use",
		    info->name, info->scope[0] ? info->scope : "global");
	else if (keyring_del(s->kr, info, err, sizeof(err)) < 0)
		sbx_log("%s", err);
}

/* After a failed set of @info (index @at in @s, or -1 if new) whose value reached the
 * keyring: put the old value back, or delete the new item. Caller holds the lock. */
static void keyring_undo(struct secret_store *s, long at, const struct secret_info *info)
{
	char err[512];
	int rc;

	if (at >= 0 && s->e[at].info.in_keyring && s->e[at].value)
		rc = keyring_put(s->kr, info, s->e[at].value, err, sizeof(err));
	else
		rc = keyring_del(s->kr, info, err, sizeof(err));
	if (rc < 0)
		sbx_log("%s (after a failed write of %s)", err, s->path);
}

int secret_store_set(struct secret_store *s, const struct secret_spec *spec,
		     struct secret_info *out, bool *replaced, char *err, size_t errlen)
{
	struct entry ne, *arr;
	int rc = spec_check(spec, &ne, err, errlen);

	if (rc)
		return rc;
	ne.value = strdup(spec->value);
	if (!ne.value)
		return seterr(err, errlen, 500, "out of memory");
	pthread_mutex_lock(&s->lock);
	long at = find_index(s, ne.info.name, ne.info.scope);
	if (at >= 0 && s->e[at].info.kind != ne.info.kind) {
		rc = seterr(err, errlen, 400, "a %s secret named '%s' exists in that scope",
			    s->e[at].info.kind == SECRET_CUSTOM ? "custom" : "service",
			    ne.info.name);
		goto out;
	}
	if (at >= 0 && ne.info.from_env && !s->e[at].info.from_env) {
		if (out) /* the user's own key stays; the environment's is not used */
			*out = s->e[at].info;
		if (replaced)
			*replaced = false;
		goto out;
	}
	if (at >= 0)
		ne.info.created_at = s->e[at].info.created_at;
	if (ne.info.kind == SECRET_CUSTOM) {
		if (at >= 0)
			memcpy(ne.info.placeholder, s->e[at].info.placeholder, SECRET_PH_MAX);
		else if (placeholder_new(ne.info.placeholder) < 0) {
			rc = seterr(err, errlen, 500, "cannot make a placeholder: no randomness");
			goto out;
		}
	}
	arr = malloc((s->n + 1) * sizeof(*arr));
	if (!arr) {
		rc = seterr(err, errlen, 500, "out of memory");
		goto out;
	}
	if (s->n)
		memcpy(arr, s->e, s->n * sizeof(*arr));
	size_t n = s->n;
	if (at >= 0)
		arr[at] = ne;
	else
		arr[n++] = ne;
	if (persist(s->path, s->kr, arr, n, err, errlen) < 0) {
		if (arr[at >= 0 ? at : (long)n - 1].info.in_keyring)
			keyring_undo(s, at, &ne.info);
		free(arr);
		rc = 500;
		goto out;
	}
	if (at >= 0 && s->e[at].info.in_keyring && !s->kr)
		keyring_forget(s, &s->e[at].info); /* replaced by a value in the file */
	if (at >= 0)
		value_free(s->e[at].value);
	free(s->e);
	s->e = arr;
	s->n = n;
	ne.value = NULL; /* owned by the store now */
	if (out)
		*out = arr[at >= 0 ? at : (long)n - 1].info;
	if (replaced)
		*replaced = at >= 0;
out:
	pthread_mutex_unlock(&s->lock);
	value_free(ne.value);
	return rc;
}

int secret_store_list(struct secret_store *s, struct secret_info **out, size_t *n)
{
	pthread_mutex_lock(&s->lock);
	*out = malloc((s->n + 1) * sizeof(**out));
	if (!*out) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		(*out)[i] = s->e[i].info;
	*n = s->n;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool secret_applies(const struct secret_info *e, const char *sandbox, int64_t created)
{
	if (e->scope[0] == '\0')
		return e->created_at <= created;
	return sandbox && strcmp(e->scope, sandbox) == 0;
}

/* How well @e fits (sandbox, host): 0 not at all, higher is better: from the host
 * environment 1, global 2-3, the sandbox's own 4-5 (+1 for a service's key). */
static int match_rank(const struct entry *e, const char *sandbox, int64_t created, const char *host)
{
	int r;
	if (!e->value || !secret_applies(&e->info, sandbox, created))
		return 0;
	if (e->info.from_env)
		r = 0;
	else
		r = e->info.scope[0] ? 4 : 2;
	if (e->info.kind == SECRET_SERVICE) {
		if (!secret_service_has_host(secret_service_find(e->info.name), host))
			return 0;
		return r + 1;
	}
	size_t n = strlen(host);
	if (n && host[n - 1] == '.')
		n--;
	return strlen(e->info.host) == n && strncasecmp(e->info.host, host, n) == 0 ? r : 0;
}

int secret_store_find(struct secret_store *s, const char *sandbox, int64_t created,
		      const char *host, struct secret_info *info, char *value, size_t vlen)
{
	int best = 0;
	long at = -1;

	if (value && vlen < SECRET_VALUE_MAX + 1)
		return -1;
	if (!host)
		return 1;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		int r = match_rank(&s->e[i], sandbox, created, host);
		if (r > best) {
			best = r;
			at = (long)i;
		}
	}
	if (at >= 0) {
		if (info)
			*info = s->e[at].info;
		if (value)
			snprintf(value, vlen, "%s", s->e[at].value);
	}
	pthread_mutex_unlock(&s->lock);
	return at >= 0 ? 0 : 1;
}

/* Remove the entries matching @name and @scope (NULL: any) and rewrite the file. Caller
 * holds the lock.
 * Return how many were removed, or -1 with @err set. */
static int remove_where(struct secret_store *s, const char *name, const char *scope, char *err,
			size_t errlen)
{
	struct entry *arr = malloc((s->n + 1) * sizeof(*arr));
	size_t n = 0;

	if (!arr)
		return seterr(err, errlen, -1, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		bool drop = (!name || strcmp(s->e[i].info.name, name) == 0) &&
			    (!scope || strcmp(s->e[i].info.scope, scope) == 0);
		if (!drop)
			arr[n++] = s->e[i];
	}
	if (n == s->n) {
		free(arr);
		return 0;
	}
	if (persist(s->path, s->kr, arr, n, err, errlen) < 0) {
		free(arr);
		return -1;
	}
	int removed = (int)(s->n - n);
	for (size_t i = 0; i < s->n; i++) {
		bool drop = (!name || strcmp(s->e[i].info.name, name) == 0) &&
			    (!scope || strcmp(s->e[i].info.scope, scope) == 0);
		if (drop && s->e[i].info.in_keyring)
			keyring_forget(s, &s->e[i].info);
		if (drop)
			value_free(s->e[i].value);
	}
	free(s->e);
	s->e = arr;
	s->n = n;
	return removed;
}

int secret_store_remove(struct secret_store *s, const char *name, const char *scope, char *err,
			size_t errlen)
{
	if (!name)
		return 1;
	pthread_mutex_lock(&s->lock);
	int rc = remove_where(s, name, norm_scope(scope), err, errlen);
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? -1 : rc == 0;
}

int secret_store_remove_scope(struct secret_store *s, const char *sandbox, char *err, size_t errlen)
{
	if (!sandbox || !sandbox[0])
		return 0;
	pthread_mutex_lock(&s->lock);
	int rc = remove_where(s, NULL, sandbox, err, errlen);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int secret_store_clear(struct secret_store *s, char *err, size_t errlen)
{
	pthread_mutex_lock(&s->lock);
	int rc = remove_where(s, NULL, NULL, err, errlen);
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? -1 : 0;
}

static struct secret_store *g_store;

int secrets_init(const char *config_dir)
{
	char path[PATH_MAX], err[512];

	if (sbx_path_join(path, "%s/secrets.json", config_dir) < 0) {
		sbx_err("secret store path %s/secrets.json is too long", config_dir);
		return -1;
	}
	if (secret_store_open(path, &g_store, err, sizeof(err)) < 0) {
		sbx_err("%s", err);
		return -1;
	}
	return 0;
}

struct secret_store *secrets_default(void)
{
	return g_store;
}
