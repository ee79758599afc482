/* The process-wide CA of sbxd (see ca_default.h): one pointer set at start-up. */
#include "daemon/tls/ca_default.h"

#include <stdio.h>

#include "common/err.h"

static struct tls_ca *the_ca;

int tls_ca_default_init(const struct sbx_paths *paths)
{
	char dir[PATH_MAX], err[512];

	if (the_ca)
		return 0;
	if (sbx_path_join(dir, "%s/tls", paths->data) < 0) {
		sbx_log("tls: CA directory %s/tls: path too long (TLS interception is off)",
			paths->data);
		return -1;
	}
	if (tls_ca_load_or_create(dir, &the_ca, err, sizeof(err)) < 0) {
		the_ca = NULL;
		sbx_log("tls: %s (TLS interception is off)", err);
		return -1;
	}
	if (tls_ca_created(the_ca))
		sbx_log("proxy CA: created %s/ca.pem (guests trust it)", dir);
	return 0;
}

struct tls_ca *tls_ca_default(void)
{
	return the_ca;
}
