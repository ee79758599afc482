/* The checks of what a secret is made of (value, name, environment variable, host), shared
 * by sbxd's store and the CLI. Apart from store.c so the CLI links none of the store (and
 * with it none of the keyring's libraries). Holds no value; logs nothing. */
#include "daemon/secrets/store.h"

#include <string.h>

bool secret_value_valid(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n < 1 || n > SECRET_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

bool secret_name_valid(const char *n)
{
	size_t l = n ? strlen(n) : 0;
	if (l < 1 || l >= SECRET_NAME_MAX)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

bool secret_env_valid(const char *e)
{
	size_t l = e ? strlen(e) : 0;
	if (l < 1 || l >= SECRET_ENV_MAX || (e[0] >= '0' && e[0] <= '9'))
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = e[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool secret_host_valid(const char *h)
{
	size_t l = h ? strlen(h) : 0, lab = 0;
	bool alpha = false;
	if (l < 1 || l > 253)
		return false;
	for (size_t i = 0; i <= l; i++) {
		char c = h[i];
		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || h[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (lab == 0 && c == '-')
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')
			alpha = true;
		else if (!(c >= '0' && c <= '9'))
			return false;
		lab++;
	}
	return alpha;
}
