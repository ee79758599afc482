/* The debug-exit port (like QEMU's isa-debug-exit at 0x501, but status = value written): a
 * test guest writes a byte and sbx-vmm ends with that exit status. Owns nothing else. */
#ifndef SBX_VMM_DEBUG_EXIT_H
#define SBX_VMM_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0x501

/**
 * debug_exit_io() - a vmm_io_fn: a write of V ends the VM (the struct vmm_stop in @opaque)
 * with status V & 0xff; reads return 0.
 * @opaque: the struct vmm_stop.
 * @off: ignored.
 * @write: direction.
 * @data: the value (little-endian, @len bytes).
 * @len: access width.
 */
void debug_exit_io(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len);

#endif
