/* Policy presets: allow-all, balanced, deny-all -> the allow patterns each one stands for.
 * The only file this library reads is the balanced list (images/policy/balanced.rules);
 * it never writes anything and never touches the store (sbxd turns patterns into rules). */
#ifndef SBX_DAEMON_POLICY_PRESET_H
#define SBX_DAEMON_POLICY_PRESET_H

#include "daemon/policy/pattern.h"

#include <stddef.h>

#define POL_PRESET_NAMES     "allow-all, balanced, deny-all"
#define POL_PRESET_FILE	     "balanced.rules"
#define POL_PRESET_MAX_RULES 4096
#define POL_PRESET_MAX_BYTES (1 << 20)

/**
 * pol_preset_load() - the allow patterns of a preset.
 * @name: "allow-all" (one pattern "**"), "balanced" (the lines of @dir/balanced.rules) or
 *        "deny-all" (no patterns).
 * @dir: directory holding balanced.rules (only read for "balanced").
 * @out: set to a malloc'ed array the caller frees (NULL when *@n is 0).
 * @n: set to the number of patterns.
 * @err: on failure one line: unknown name (listing the three names), the file that cannot
 *       be read, or "PATH:LINE: \"item\": why" for a bad line; may be NULL.
 * @errlen: size of @err.
 *
 * File format: one pattern per line; '#' starts a comment (to the end of the line); blank
 * lines and spaces around a pattern are ignored. At most POL_PRESET_MAX_RULES patterns and
 * POL_PRESET_MAX_BYTES bytes. Duplicate patterns are an error (a sign of a bad edit).
 * Return: 0, or -1 with @err set and *@out NULL.
 */
int pol_preset_load(const char *name, const char *dir, struct pol_pattern **out, size_t *n,
		    char *err, size_t errlen);

/**
 * pol_preset_parse() - parse the text of a rules file (what pol_preset_load() does after
 * reading it); for tests and for `sbx policy` showing a file it was given.
 * @text: the file's text (NUL-terminated; a NUL inside ends it).
 * @path: the name used in messages.
 * @out, @n, @err, @errlen: as for pol_preset_load().
 * Return: 0, or -1 with @err set and *@out NULL.
 */
int pol_preset_parse(const char *text, const char *path, struct pol_pattern **out, size_t *n,
		     char *err, size_t errlen);

#endif
