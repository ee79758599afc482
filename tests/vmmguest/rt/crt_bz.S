/* Runtime entry through the Linux 64-bit boot protocol (see rt.h): the first bytes of a test
 * bzImage's protected-mode payload, loaded at its pref_address (1 MiB). Offset 0 is the 32-bit
 * entry, which this runtime does not support (it halts); offset 0x200 is the 64-bit entry:
 * long mode, an identity map covering the image, RSI = struct boot_params. Sets the runtime
 * stack and calls rt_start(RT_BOOT_LINUX, RSI), which builds its own page tables first. */
	.section .text.crt, "ax"
	.code64
	.globl _start
_start:
	cli				/* startup_32: not supported */
	hlt
	jmp _start

	.org 0x200
startup_64:
	cli
	leaq bz_stack_top(%rip), %rsp
	movl $1, %edi			/* RT_BOOT_LINUX */
	call rt_start
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign 16
bz_stack:
	.space 16384
bz_stack_top:
