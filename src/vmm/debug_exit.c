/* The debug-exit port (see debug_exit.h). */
#include "vmm/debug_exit.h"

#include "vmm/bus.h"

#include <string.h>

void debug_exit_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	if (!write) {
		memset(data, 0, len);
		return;
	}
	vmm_stop_set(opaque, data[0], NULL);
}
