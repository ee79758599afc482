/* sbxd's secret store: API keys the user gave (`sbx secret`), kept in
 * <config>/secrets.json (mode 0600, rewritten atomically) and in memory behind a mutex; the
 * values themselves in the desktop keyring instead when one is offered (keyring.h,
 * SBX_SECRET_STORE). The only place a key's value lives in sbxd; it never logs or returns a
 * value except through secret_store_find(), for the injecting proxy. */
#ifndef SBX_DAEMON_SECRETS_STORE_H
#define SBX_DAEMON_SECRETS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_NAME_MAX	 64   /* name: [a-z0-9][a-z0-9._-]{0,62} */
#define SECRET_SCOPE_MAX 41   /* "" (global) or a sandbox name */
#define SECRET_HOST_MAX	 254  /* custom: a host name, lowercase */
#define SECRET_ENV_MAX	 128  /* custom: [A-Za-z_][A-Za-z0-9_]{0,126} */
#define SECRET_PH_MAX	 40   /* "sbx-ph-" + 32 hex digits */
#define SECRET_VALUE_MAX 8192 /* bytes of a value */

enum secret_kind { SECRET_SERVICE, SECRET_CUSTOM };

/* A secret without its value: what may be listed. */
struct secret_info {
	enum secret_kind kind;
	char name[SECRET_NAME_MAX];	 /* the service, or the custom secret's name */
	char scope[SECRET_SCOPE_MAX];	 /* "" global, else a sandbox name */
	char host[SECRET_HOST_MAX];	 /* custom only ("" for a service: see services.h) */
	char env[SECRET_ENV_MAX];	 /* custom only */
	char placeholder[SECRET_PH_MAX]; /* custom only: what the guest sees in env */
	int64_t created_at;		 /* unix seconds; kept when the value is replaced */
	bool from_env;			 /* a service's key taken from the host environment
					    of `sbx create` (weakest; never replaces a stored one) */
	bool in_keyring;		 /* its value is in the keyring, not secrets.json */
};

/* What to store: a service secret (name, scope) or a custom one (also host, env). */
struct secret_spec {
	enum secret_kind kind;
	const char *name;  /* service name; custom: NULL derives it from host */
	const char *scope; /* NULL or "": global */
	const char *host;  /* custom only */
	const char *env;   /* custom only */
	const char *value; /* NUL-terminated */
	bool from_env;	   /* service, scoped to a sandbox: from the host environment */
};

struct secret_store;

/**
 * secret_store_open() - read @path (a missing file is an empty store) into a new store.
 * The file's directory is created (0700) when it is first written. Where values go follows
 * SBX_SECRET_STORE (keyring_open(), with the file's directory as the install): with the
 * keyring, entries the file holds as {"value_in": "keyring"} get their values from it (an
 * item gone from the keyring drops its entry, logged; a keyring that cannot be read keeps
 * the entry unusable until it can), and values still in the file are moved into the keyring
 * at once. Without it, keyring-held entries are listed but never used.
 * @err: one line on failure (@errlen bytes), naming the file and what to do.
 * Return: 0 with *@out set, or -1.
 */
int secret_store_open(const char *path, struct secret_store **out, char *err, size_t errlen);

/**
 * secret_store_close() - free @s, wiping every value from memory first.
 */
void secret_store_close(struct secret_store *s);

/**
 * secret_value_valid() - true if @v is a usable value: 1..SECRET_VALUE_MAX bytes of
 * printable ASCII (0x20..0x7e), not starting or ending with a space.
 */
bool secret_value_valid(const char *v);

/**
 * secret_name_valid() - true if @n matches [a-z0-9][a-z0-9._-]{0,62}.
 */
bool secret_name_valid(const char *n);

/**
 * secret_env_valid() - true if @e is an environment variable name [A-Za-z_][A-Za-z0-9_]*
 * shorter than SECRET_ENV_MAX.
 */
bool secret_env_valid(const char *e);

/**
 * secret_host_valid() - true if @h is a host name: dot-separated labels of [A-Za-z0-9-]
 * (1..63, no leading or trailing '-'), at most 253 bytes, not all digits and dots.
 */
bool secret_host_valid(const char *h);

/**
 * secret_store_set() - add @spec, replacing the secret of the same name and scope (which
 * keeps its created_at and, if custom, its placeholder), and rewrite the file. With the
 * keyring the value is stored there first, and the file then names it without the value. Service
 * names must be known (services.h); a custom name must not be a service's name. A @spec from_env
 * must be a service scoped to a sandbox, and never replaces a secret the user stored there:
 * then nothing changes and @out gets the stored one.
 * @out: the secret now under that name and scope (no value); @replaced: whether one was
 * replaced (may be NULL).
 * Return: 0, or 400 (bad input) / 500 (file) with @err set; the store is unchanged then.
 */
int secret_store_set(struct secret_store *s, const struct secret_spec *spec,
		     struct secret_info *out, bool *replaced, char *err, size_t errlen);

/**
 * secret_store_list() - every secret, without values, in a new array (free() it).
 * Return: 0 with *@out / *@n set, or -1 (out of memory).
 */
int secret_store_list(struct secret_store *s, struct secret_info **out, size_t *n);

/**
 * secret_store_find() - the secret to use for a connection of sandbox @sandbox (NULL: none)
 * to @host. A global secret applies only to sandboxes created at or after it was set
 * (@created: the sandbox's created_at). A secret the user stored for @sandbox beats a global
 * one, which beats one taken from the host environment; within a tier a service's key beats
 * a custom one. @info (may be NULL) gets the secret, @value (@vlen bytes, at least
 * SECRET_VALUE_MAX + 1; may be NULL) its value.
 * Return: 0 found, 1 none, -1 @vlen too small.
 */
int secret_store_find(struct secret_store *s, const char *sandbox, int64_t created,
		      const char *host, struct secret_info *info, char *value, size_t vlen);

/**
 * secret_applies() - whether @e is in force for sandbox @sandbox created at @created: scoped
 * to it, or global and set at or before @created.
 */
bool secret_applies(const struct secret_info *e, const char *sandbox, int64_t created);

/**
 * secret_store_remove() - remove the secret @name of scope @scope (NULL/"": global). Here
 * and in the two below, keyring items are deleted once the file no longer names them.
 * Return: 0 removed, 1 none such, or -1 with @err set (file not rewritten; nothing removed).
 */
int secret_store_remove(struct secret_store *s, const char *name, const char *scope, char *err,
			size_t errlen);

/**
 * secret_store_remove_scope() - remove every secret scoped to sandbox @sandbox (sbx rm).
 * Return: how many were removed, or -1 with @err set (nothing removed).
 */
int secret_store_remove_scope(struct secret_store *s, const char *sandbox, char *err,
			      size_t errlen);

/**
 * secret_store_clear() - remove every secret (sbx reset). Return 0, or -1 with @err set.
 */
int secret_store_clear(struct secret_store *s, char *err, size_t errlen);

/**
 * secrets_init() - open sbxd's store, <@config_dir>/secrets.json, as the process-wide one.
 * Return: 0, or -1 with one line printed (sbxd start-up fails then).
 */
int secrets_init(const char *config_dir);

/**
 * secrets_default() - the process-wide store opened by secrets_init(), or NULL before.
 */
struct secret_store *secrets_default(void);

#endif
