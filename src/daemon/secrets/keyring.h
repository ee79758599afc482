/* Secret values in the desktop keyring (the freedesktop Secret Service, over the session
 * D-Bus) through libsecret, for the secret store (store.c). Holds values only for the length
 * of a call and wipes them; never logs one, never prompts, never waits on D-Bus unbounded. */
#ifndef SBX_DAEMON_SECRETS_KEYRING_H
#define SBX_DAEMON_SECRETS_KEYRING_H

#include "daemon/secrets/store.h"

#include <stddef.h>

#define KEYRING_PROBE_MS 2000 /* the whole availability probe */
#define KEYRING_CALL_MS	 5000 /* one store, lookup or delete */

/* Where values go, from SBX_SECRET_STORE. */
enum keyring_mode {
	KEYRING_AUTO,	 /* "auto" or unset: the keyring when it answers, unlocked; else the file */
	KEYRING_FILE,	 /* "file": never the keyring */
	KEYRING_REQUIRED /* "keyring": the keyring, or sbxd does not start */
};

struct keyring;

/**
 * keyring_mode_get() - read SBX_SECRET_STORE.
 * @mode: set on success.
 * @err: one line (@errlen bytes) on a value other than auto, file or keyring.
 * Return: 0, or -1.
 */
int keyring_mode_get(enum keyring_mode *mode, char *err, size_t errlen);

/**
 * keyring_open() - decide whether values go to the keyring: in mode auto or keyring, it
 * is used iff DBUS_SESSION_BUS_ADDRESS is set, a Secret Service answers on that bus
 * (org.freedesktop.secrets owned or activatable) and its default collection exists and is
 * unlocked; the probe takes at most KEYRING_PROBE_MS and never prompts. In mode auto a bus
 * that is set but unusable is logged in one line and the file is used.
 * @install: what tells this install's items from another's on the same keyring (the
 * config directory).
 * @out: the keyring, or NULL when values stay in the file.
 * @err: one line (@errlen bytes) on failure.
 * Return: 0, or -1 (a bad SBX_SECRET_STORE, or mode keyring and no usable keyring).
 */
int keyring_open(const char *install, struct keyring **out, char *err, size_t errlen);

/**
 * keyring_close() - free @k (NULL is fine) and drop libsecret's connection.
 */
void keyring_close(struct keyring *k);

/**
 * keyring_put() - store @value as the item of secret @e (kind, name, scope), replacing it.
 * @err: one line (@errlen bytes) on failure, never holding the value.
 * Return: 0, or -1.
 */
int keyring_put(struct keyring *k, const struct secret_info *e, const char *value, char *err,
		size_t errlen);

/**
 * keyring_get() - copy the value of secret @e's item into @buf (@cap bytes, NUL-terminated);
 * libsecret's copy is wiped.
 * @err: one line (@errlen bytes) when -1 is returned.
 * Return: 0 found, 1 no such item, -1 the keyring failed or the value does not fit.
 */
int keyring_get(struct keyring *k, const struct secret_info *e, char *buf, size_t cap, char *err,
		size_t errlen);

/**
 * keyring_del() - delete secret @e's item (none is fine).
 * @err: one line (@errlen bytes) on failure.
 * Return: 0, or -1.
 */
int keyring_del(struct keyring *k, const struct secret_info *e, char *err, size_t errlen);

#endif
