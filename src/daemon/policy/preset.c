/* Policy presets: allow-all, balanced (read from balanced.rules), deny-all. Owns the rules
 * file format. Reads exactly one file and never writes; never touches the store. */
#include "daemon/policy/preset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

int pol_preset_parse(const char *text, const char *path, struct pol_pattern **out, size_t *n,
		     char *err, size_t errlen)
{
	struct pol_pattern *v = NULL;
	size_t count = 0, cap = 0, lineno = 0;
	const char *s = text;
	char why[300];

	*out = NULL;
	*n = 0;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		const char *hash = memchr(s, '#', len);
		char line[600];

		lineno++;
		if (hash)
			len = (size_t)(hash - s);
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
			len--;
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		if (len) {
			if (len >= sizeof(line)) {
				snprintf(why, sizeof(why), "line too long");
				goto bad;
			}
			memcpy(line, s, len);
			line[len] = '\0';
			if (count == POL_PRESET_MAX_RULES) {
				snprintf(why, sizeof(why), "more than %d patterns",
					 POL_PRESET_MAX_RULES);
				goto bad;
			}
			if (count == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct pol_pattern *nv = realloc(v, ncap * sizeof(*v));

				if (!nv) {
					snprintf(why, sizeof(why), "out of memory");
					goto bad;
				}
				v = nv;
				cap = ncap;
			}
			if (pol_pattern_parse(line, &v[count], why, sizeof(why)) != 0)
				goto bad;
			for (size_t i = 0; i < count; i++) {
				if (pol_pattern_equal(&v[i], &v[count])) {
					snprintf(why, sizeof(why), "\"%.200s\": duplicate pattern",
						 line);
					goto bad;
				}
			}
			count++;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	*out = v;
	*n = count;
	if (!count) {
		free(v);
		*out = NULL;
	}
	return 0;
bad:
	free(v);
	if (err && errlen)
		snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
	return -1;
}

static int read_file(const char *path, char **text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;

	if (!f) {
		set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(POL_PRESET_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		set_err(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
		return -1;
	}
	len = fread(buf, 1, POL_PRESET_MAX_BYTES + 1, f);
	if (ferror(f) || len > POL_PRESET_MAX_BYTES) {
		set_err(err, errlen, "cannot read %s: %s", path,
			ferror(f) ? "read error" : "file larger than 1 MiB");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	buf[len] = '\0';
	*text = buf;
	return 0;
}

int pol_preset_load(const char *name, const char *dir, struct pol_pattern **out, size_t *n,
		    char *err, size_t errlen)
{
	char path[4096];
	char *text;
	int rc;

	*out = NULL;
	*n = 0;
	if (name && strcmp(name, "deny-all") == 0)
		return 0;
	if (name && strcmp(name, "allow-all") == 0) {
		*out = calloc(1, sizeof(**out));
		if (!*out) {
			set_err(err, errlen, "%s: %s", name, strerror(ENOMEM));
			return -1;
		}
		(*out)->kind = POL_ANY;
		*n = 1;
		return 0;
	}
	if (!name || strcmp(name, "balanced") != 0) {
		set_err(err, errlen, "unknown policy preset \"%s\" (use one of: %s)",
			name ? name : "", POL_PRESET_NAMES);
		return -1;
	}
	if (!dir ||
	    snprintf(path, sizeof(path), "%s/%s", dir, POL_PRESET_FILE) >= (int)sizeof(path)) {
		set_err(err, errlen, "%s%s: path too long", dir ? dir : "(no directory)", "");
		return -1;
	}
	if (read_file(path, &text, err, errlen) != 0)
		return -1;
	rc = pol_preset_parse(text, path, out, n, err, errlen);
	free(text);
	return rc;
}
