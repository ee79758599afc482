/* "UID:GID" arguments (sbx-vhost's and sbx-vmm's --owner): the one parser. */
#ifndef SBX_COMMON_OWNER_H
#define SBX_COMMON_OWNER_H

#include <sys/types.h>

/**
 * owner_parse() - "UID:GID" (decimal, each below 0xffffffff) -> @uid, @gid.
 * @s: the argument; @uid, @gid: set on success only.
 * Return: 0, or -1 if @s is not of that form.
 */
int owner_parse(const char *s, uid_t *uid, gid_t *gid);

#endif
