/* "UID:GID" parsing (see owner.h). */
#include "common/owner.h"

#include <errno.h>
#include <stdlib.h>

int owner_parse(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	char *end;

	if (s[0] == '-')
		return -1;
	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':' || u > 0xfffffffeUL)
		return -1;
	s = end + 1;
	if (s[0] == '-')
		return -1;
	g = strtoul(s, &end, 10);
	if (errno || end == s || *end || g > 0xfffffffeUL)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}
