/* The keyring backend of the secret store (see keyring.h): items of the libsecret schema
 * "dev.sbx.Secret" keyed by install, kind, name and scope. Every D-Bus wait is bounded by a
 * deadline thread that cancels the call; a locked keyring is never unlocked (no prompt). */
#include "daemon/secrets/keyring.h"
#include "common/err.h"

#include <errno.h>
#include <libsecret/secret.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SS_NAME	      "org.freedesktop.secrets"
#define SS_PATH	      "/org/freedesktop/secrets"
#define SS_IFACE      "org.freedesktop.Secret.Service"
#define SS_COLL_IFACE "org.freedesktop.Secret.Collection"

struct keyring {
	char install[PATH_MAX];
};

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

/* A timer that cancels a GCancellable when it runs out, so no sync call waits longer. */
struct deadline {
	GCancellable *cancel;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct timespec end; /* CLOCK_MONOTONIC */
	bool done, running;
};

static void *deadline_main(void *arg)
{
	struct deadline *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->done) {
		if (pthread_cond_timedwait(&d->cv, &d->mu, &d->end) == ETIMEDOUT) {
			g_cancellable_cancel(d->cancel);
			break;
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void deadline_start(struct deadline *d, int ms)
{
	pthread_condattr_t ca;

	memset(d, 0, sizeof(*d));
	d->cancel = g_cancellable_new();
	clock_gettime(CLOCK_MONOTONIC, &d->end);
	d->end.tv_sec += ms / 1000;
	d->end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->end.tv_nsec >= 1000000000L) {
		d->end.tv_sec++;
		d->end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	d->running = pthread_create(&d->th, NULL, deadline_main, d) == 0;
	if (!d->running) /* no timer thread: refuse rather than risk an unbounded wait */
		g_cancellable_cancel(d->cancel);
}

/* Milliseconds left before @d runs out (at least 1). */
static int deadline_left(const struct deadline *d)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(d->end.tv_sec - now.tv_sec) * 1000 +
		       (d->end.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 1 ? 1 : (int)ms;
}

static void deadline_stop(struct deadline *d)
{
	if (d->running) {
		pthread_mutex_lock(&d->mu);
		d->done = true;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->th, NULL);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	g_object_unref(d->cancel);
}

int keyring_mode_get(enum keyring_mode *mode, char *err, size_t errlen)
{
	const char *v = getenv("SBX_SECRET_STORE");

	if (!v || !v[0] || strcmp(v, "auto") == 0)
		*mode = KEYRING_AUTO;
	else if (strcmp(v, "file") == 0)
		*mode = KEYRING_FILE;
	else if (strcmp(v, "keyring") == 0)
		*mode = KEYRING_REQUIRED;
	else {
		snprintf(err, errlen,
			 "SBX_SECRET_STORE=%.40s is not a store (give auto, file or keyring)", v);
		return -1;
	}
	return 0;
}

/* One call on @c, bounded by @d. Return its reply or NULL with @why set. */
static GVariant *probe_call(GDBusConnection *c, struct deadline *d, const char *dest,
			    const char *path, const char *iface, const char *method, GVariant *args,
			    const GVariantType *reply, char *why, size_t whylen)
{
	GError *ge = NULL;
	GVariant *r =
	    g_dbus_connection_call_sync(c, dest, path, iface, method, args, reply,
					G_DBUS_CALL_FLAGS_NONE, deadline_left(d), d->cancel, &ge);
	if (!r) {
		snprintf(why, whylen, "%s.%s: %s", iface, method,
			 g_cancellable_is_cancelled(d->cancel) ? "no answer within 2 s"
							       : ge->message);
		g_clear_error(&ge);
	}
	return r;
}

/* Whether a Secret Service on the session bus offers an unlocked default collection.
 * Return true, or false with @why set. At most KEYRING_PROBE_MS. */
static bool probe(char *why, size_t whylen)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	GError *ge = NULL;
	GVariant *r;
	struct deadline d;
	bool ok = false;
	const gchar *coll = NULL;

	if (!addr || !addr[0]) {
		snprintf(why, whylen, "no session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
		return false;
	}
	deadline_start(&d, KEYRING_PROBE_MS);
	GDBusConnection *c = g_dbus_connection_new_for_address_sync(
	    addr,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, d.cancel, &ge);
	if (!c) {
		snprintf(why, whylen, "the session bus does not answer: %s",
			 g_cancellable_is_cancelled(d.cancel) ? "no answer within 2 s"
							      : ge->message);
		g_clear_error(&ge);
		deadline_stop(&d);
		return false;
	}
	r = probe_call(c, &d, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		       "org.freedesktop.DBus", "NameHasOwner", g_variant_new("(s)", SS_NAME),
		       G_VARIANT_TYPE("(b)"), why, whylen);
	if (!r)
		goto out;
	gboolean owned = FALSE;
	g_variant_get(r, "(b)", &owned);
	g_variant_unref(r);
	if (!owned) {
		gchar **names = NULL;
		bool activatable = false;
		r = probe_call(c, &d, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "ListActivatableNames", NULL,
			       G_VARIANT_TYPE("(as)"), why, whylen);
		if (!r)
			goto out;
		g_variant_get(r, "(^as)", &names);
		for (size_t i = 0; names && names[i]; i++)
			activatable = activatable || strcmp(names[i], SS_NAME) == 0;
		g_strfreev(names);
		g_variant_unref(r);
		if (!activatable) {
			snprintf(why, whylen, "no Secret Service (%s) on the session bus", SS_NAME);
			goto out;
		}
	}
	/* activates the service if it is not running yet */
	r = probe_call(c, &d, SS_NAME, SS_PATH, SS_IFACE, "ReadAlias",
		       g_variant_new("(s)", "default"), G_VARIANT_TYPE("(o)"), why, whylen);
	if (!r)
		goto out;
	g_variant_get(r, "(&o)", &coll);
	if (strcmp(coll, "/") == 0) {
		snprintf(why, whylen, "the Secret Service has no default collection");
		g_variant_unref(r);
		goto out;
	}
	GVariant *lk = probe_call(c, &d, SS_NAME, coll, "org.freedesktop.DBus.Properties", "Get",
				  g_variant_new("(ss)", SS_COLL_IFACE, "Locked"),
				  G_VARIANT_TYPE("(v)"), why, whylen);
	g_variant_unref(r);
	if (!lk)
		goto out;
	GVariant *v = NULL;
	g_variant_get(lk, "(v)", &v);
	if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
		snprintf(why, whylen, "the default collection's Locked property is not a boolean");
	else if (g_variant_get_boolean(v))
		snprintf(why, whylen, "the default collection is locked (sbxd never prompts)");
	else
		ok = true;
	g_variant_unref(v);
	g_variant_unref(lk);
out:
	g_dbus_connection_close_sync(c, NULL, NULL);
	g_object_unref(c);
	deadline_stop(&d);
	return ok;
}

int keyring_open(const char *install, struct keyring **out, char *err, size_t errlen)
{
	enum keyring_mode mode;
	char why[400];

	*out = NULL;
	if (keyring_mode_get(&mode, err, errlen) < 0)
		return -1;
	if (mode == KEYRING_FILE)
		return 0;
	if (strlen(install) >= PATH_MAX) {
		snprintf(err, errlen, "config directory path is too long");
		return -1;
	}
	if (!probe(why, sizeof(why))) {
		if (mode == KEYRING_REQUIRED) {
			snprintf(
			    err, errlen,
			    "SBX_SECRET_STORE=keyring, but the keyring is not usable: %s "
			    "(start or unlock the desktop keyring, or use SBX_SECRET_STORE=auto "
			    "or file)",
			    why);
			return -1;
		}
		if (getenv("DBUS_SESSION_BUS_ADDRESS"))
			sbx_log("secret values stay in secrets.json, not the keyring: %s", why);
		return 0;
	}
	struct keyring *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "cannot open the keyring: out of memory");
		return -1;
	}
	snprintf(k->install, sizeof(k->install), "%s", install);
	sbx_log(
	    "secret values are kept in the desktop keyring (Secret Service on the session bus)");
	*out = k;
	return 0;
}

void keyring_close(struct keyring *k)
{
	if (!k)
		return;
	free(k);
	secret_service_disconnect();
}

/* The attributes naming @e's item. g_hash_table_unref() it. */
static GHashTable *attrs_of(const struct keyring *k, const struct secret_info *e)
{
	GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(h, (gpointer) "install", (gpointer)k->install);
	g_hash_table_insert(h, (gpointer) "kind",
			    (gpointer)(e->kind == SECRET_CUSTOM ? "custom" : "service"));
	g_hash_table_insert(h, (gpointer) "name", (gpointer)e->name);
	g_hash_table_insert(h, (gpointer) "scope", (gpointer)e->scope);
	return h;
}

/* @err from a failed call @what on @e; frees @ge. Return -1. */
static int call_err(const char *what, const struct secret_info *e, const struct deadline *d,
		    GError *ge, char *err, size_t errlen)
{
	snprintf(err, errlen, "keyring: cannot %s secret %s (%s): %s", what, e->name,
		 e->scope[0] ? e->scope : "global",
		 g_cancellable_is_cancelled(d->cancel) ? "no answer within 5 s"
		 : ge				       ? ge->message
						       : "unknown error");
	g_clear_error(&ge);
	return -1;
}

int keyring_put(struct keyring *k, const struct secret_info *e, const char *value, char *err,
		size_t errlen)
{
	char label[160];
	GError *ge = NULL;
	struct deadline d;
	GHashTable *h = attrs_of(k, e);

	snprintf(label, sizeof(label), "sbx secret %s (%s)", e->name,
		 e->scope[0] ? e->scope : "global");
	deadline_start(&d, KEYRING_CALL_MS);
	gboolean ok = secret_password_storev_sync(&schema, h, SECRET_COLLECTION_DEFAULT, label,
						  value, d.cancel, &ge);
	int rc = ok ? 0 : call_err("store", e, &d, ge, err, errlen);
	deadline_stop(&d);
	g_hash_table_unref(h);
	return rc;
}

int keyring_get(struct keyring *k, const struct secret_info *e, char *buf, size_t cap, char *err,
		size_t errlen)
{
	GError *ge = NULL;
	struct deadline d;
	GHashTable *h = attrs_of(k, e);
	int rc;

	deadline_start(&d, KEYRING_CALL_MS);
	gchar *v = secret_password_lookupv_sync(&schema, h, d.cancel, &ge);
	if (ge || (!v && g_cancellable_is_cancelled(d.cancel))) {
		rc = call_err("read", e, &d, ge, err, errlen);
	} else if (!v) {
		rc = 1;
	} else if (strlen(v) >= cap) {
		snprintf(err, errlen, "keyring: secret %s (%s) is longer than a value may be",
			 e->name, e->scope[0] ? e->scope : "global");
		rc = -1;
	} else {
		memcpy(buf, v, strlen(v) + 1);
		rc = 0;
	}
	secret_password_free(v); /* wipes it */
	deadline_stop(&d);
	g_hash_table_unref(h);
	return rc;
}

int keyring_del(struct keyring *k, const struct secret_info *e, char *err, size_t errlen)
{
	GError *ge = NULL;
	struct deadline d;
	GHashTable *h = attrs_of(k, e);

	deadline_start(&d, KEYRING_CALL_MS);
	secret_password_clearv_sync(&schema, h, d.cancel, &ge);
	int rc = ge ? call_err("delete", e, &d, ge, err, errlen) : 0;
	deadline_stop(&d);
	g_hash_table_unref(h);
	return rc;
}
