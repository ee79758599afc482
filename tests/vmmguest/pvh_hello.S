/* sbx-vmm test guest: entered through PVH (32-bit, paging off, EBX = start_info). Checks the
 * magic, then prints to COM1 "sbx-vmm guest: pvh ok", "cmdline: <cmdline>", "memmap <N>",
 * with a module "initrd <SIZE>", then "acpi RSD PTR ok" when start_info.rsdp_paddr points at
 * an RSDP whose signature and 20-byte checksum are right ("acpi RSD PTR bad" if not), and exits through the debug-exit port with 0x10 (0x11 on a
 * bad magic). A few hundred instructions: it must run under PVM's instruction emulator. */
#include "guest.h"

	.code32
	.text
	.globl pvh_start
pvh_start:
	movl $0x80000, %esp
	movl %ebx, %ebp
	cmpl $SI_MAGIC_VALUE, SI_MAGIC(%ebp)
	jne bad_magic
	movl $msg_ok, %esi
	call puts
	movl $msg_cmdline, %esi
	call puts
	movl SI_CMDLINE_PADDR(%ebp), %esi
	testl %esi, %esi
	jz 1f
	call puts
1:	movl $msg_nl, %esi
	call puts
	movl $msg_memmap, %esi
	call puts
	movl SI_MEMMAP_ENTRIES(%ebp), %eax
	call putdec
	cmpl $0, SI_NR_MODULES(%ebp)
	je rsdp
	movl $msg_initrd, %esi
	call puts
	movl SI_MODLIST_PADDR(%ebp), %ebx
	movl MOD_SIZE(%ebx), %eax
	call putdec
rsdp:
	movl $msg_rsdp_bad, %ebx
	cmpl $0, SI_RSDP_PADDR+4(%ebp)
	jne 6f
	movl SI_RSDP_PADDR(%ebp), %esi
	testl %esi, %esi
	jz 6f
	cmpl $RSDP_SIG_LO, (%esi)
	jne 6f
	cmpl $RSDP_SIG_HI, 4(%esi)
	jne 6f
	xorl %eax, %eax
	movl $RSDP_CSUM_LEN, %ecx
5:	addb (%esi), %al
	incl %esi
	loop 5b
	testb %al, %al
	jnz 6f
	movl $msg_rsdp_ok, %ebx
6:	movl %ebx, %esi
	call puts
done:
	movb $0x10, %al
exit:
	movw $DEBUG_EXIT, %dx
	outb %al, %dx
	cli
	hlt
bad_magic:
	movl $msg_magic, %esi
	call puts
	movb $0x11, %al
	jmp exit

/* puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI. */
puts:
	movw $COM1, %dx
2:	lodsb
	testb %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	ret

/* putdec: EAX in decimal then a newline to COM1. Clobbers EAX, ECX, EDX, EDI. */
putdec:
	movl $numbuf_end, %edi
	movb $0, (%edi)
	decl %edi
	movb $'\n', (%edi)
	movl $10, %ecx
4:	xorl %edx, %edx
	divl %ecx
	addb $'0', %dl
	decl %edi
	movb %dl, (%edi)
	testl %eax, %eax
	jnz 4b
	movl %edi, %esi
	jmp puts

	.section .rodata
msg_ok:		.asciz "sbx-vmm guest: pvh ok\n"
msg_cmdline:	.asciz "cmdline: "
msg_nl:		.asciz "\n"
msg_memmap:	.asciz "memmap "
msg_initrd:	.asciz "initrd "
msg_rsdp_ok:	.asciz "acpi RSD PTR ok\n"
msg_rsdp_bad:	.asciz "acpi RSD PTR bad\n"
msg_magic:	.asciz "sbx-vmm guest: bad start_info magic\n"

	.section .bss
numbuf:		.space 15
numbuf_end:	.space 1

PVH_NOTE(pvh_start)
