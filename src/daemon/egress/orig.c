/* The header a transparent egress stream starts with (src/proto/egress.h): the only parser of
 * those guest bytes. Pure; never trusts a field it has not checked. */
#include <string.h>
#include <sys/socket.h>

#include "daemon/egress/egress_int.h"

int eg_orig_parse(const uint8_t *buf, size_t len, struct pol_addr *addr, uint16_t *port)
{
	static const uint8_t zero[12];
	uint32_t magic;

	if (len < EGRESS_ORIG_LEN)
		return 0;
	magic = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	*port = (uint16_t)(buf[6] << 8 | buf[7]);
	if (magic != EGRESS_ORIG_MAGIC || buf[5] != 0 || *port == 0)
		return -1;
	memset(addr, 0, sizeof(*addr));
	if (buf[4] == 4) {
		if (memcmp(buf + 12, zero, 12) != 0)
			return -1;
		addr->family = AF_INET;
		memcpy(addr->a, buf + 8, 4);
	} else if (buf[4] == 6) {
		addr->family = AF_INET6;
		memcpy(addr->a, buf + 8, 16);
	} else {
		return -1;
	}
	return 1;
}
