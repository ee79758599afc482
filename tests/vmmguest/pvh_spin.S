/* sbx-vmm test guest that never ends: one byte on COM1, then a tight loop. The VMM's
 * --timeout-ms watchdog must end the run with status 124. */
#include "guest.h"

	.code32
	.text
	.globl pvh_start
pvh_start:
	movw $COM1, %dx
	movb $'.', %al
	outb %al, %dx
1:	jmp 1b

PVH_NOTE(pvh_start)
