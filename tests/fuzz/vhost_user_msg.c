/* libFuzzer target for the vhost-user message parser: arbitrary bytes and fd counts into
 * vhu_msg_parse() and vhu_msg_payload_size(). Must never crash or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "virtio/vhost_user_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhu_msg m;
	int nfds;

	if (size < 1)
		return 0;
	nfds = data[0] % (VHU_MAX_FDS + 2);
	data++;
	size--;
	if (size >= VHU_HDR_SIZE)
		(void)vhu_msg_payload_size(data);
	if (vhu_msg_parse(data, size, nfds, &m) == 0) {
		/* a parsed message never claims more than it carries */
		if (m.request == VHU_SET_MEM_TABLE && m.u.mem.nregions > VHU_MAX_REGIONS)
			__builtin_trap();
		if ((m.request == VHU_GET_CONFIG || m.request == VHU_SET_CONFIG) &&
		    m.u.config.size > VHU_MAX_CONFIG)
			__builtin_trap();
	}
	return 0;
}
