/* sbx-vmm test guest: powers off the way Linux does on a hardware-reduced ACPI machine, from
 * the tables alone: start_info.rsdp_paddr -> RSDP -> XSDT (64-bit entries) -> the FADT
 * ("FACP") -> its SLEEP_CONTROL_REG, which must be in I/O space; writes SLP_TYP 5 | SLP_EN
 * there. Nothing about the VMM's ports is hard-coded but the debug exit: if still running
 * afterwards it prints so and exits with 0x21; a table it cannot follow exits with 0x22. */
#include "guest.h"

	.code32
	.text
	.globl pvh_start
pvh_start:
	movl $0x80000, %esp
	movl %ebx, %ebp
	movl $msg_magic, %esi
	cmpl $SI_MAGIC_VALUE, SI_MAGIC(%ebp)
	jne fail
	/* RSDP: below 4 GiB (paging is off), signature, revision 2+ (has the XSDT). */
	movl $msg_rsdp, %esi
	cmpl $0, SI_RSDP_PADDR+4(%ebp)
	jne fail
	movl SI_RSDP_PADDR(%ebp), %ebx
	testl %ebx, %ebx
	jz fail
	cmpl $RSDP_SIG_LO, (%ebx)
	jne fail
	cmpl $RSDP_SIG_HI, 4(%ebx)
	jne fail
	cmpb $2, RSDP_REVISION(%ebx)
	jb fail
	/* XSDT: signature, then its (length - header) / 8 entries. */
	movl $msg_xsdt, %esi
	cmpl $0, RSDP_XSDT+4(%ebx)
	jne fail
	movl RSDP_XSDT(%ebx), %ebx
	cmpl $SIG_XSDT, (%ebx)
	jne fail
	movl ACPI_LENGTH(%ebx), %ecx
	subl $ACPI_HDR_LEN, %ecx
	jb fail
	shrl $3, %ecx
	leal ACPI_HDR_LEN(%ebx), %edi
	movl $msg_fadt, %esi
1:	testl %ecx, %ecx
	jz fail
	cmpl $0, 4(%edi)
	jne 2f
	movl (%edi), %ebx
	cmpl $SIG_FACP, (%ebx)
	je 3f
2:	addl $8, %edi
	decl %ecx
	jmp 1b
	/* FADT: long enough to hold SLEEP_CONTROL_REG, which is an I/O port. */
3:	cmpl $FADT_SLEEP_CTL+GAS_LEN, ACPI_LENGTH(%ebx)
	jb fail
	movl $msg_sleep, %esi
	cmpb $GAS_SPACE_IO, FADT_SLEEP_CTL+GAS_SPACE(%ebx)
	jne fail
	cmpl $0, FADT_SLEEP_CTL+GAS_ADDR+4(%ebx)
	jne fail
	cmpl $0xffff, FADT_SLEEP_CTL+GAS_ADDR(%ebx)
	ja fail
	movl $msg_off, %esi
	call puts
	movl FADT_SLEEP_CTL+GAS_ADDR(%ebx), %edx
	movb $ACPI_SLP_TYP_S5_EN, %al
	outb %al, %dx
	movl $msg_alive, %esi
	call puts
	movb $0x21, %al
exit:
	movw $DEBUG_EXIT, %dx
	outb %al, %dx
	cli
	hlt
fail:
	call puts
	movb $0x22, %al
	jmp exit

/* puts: the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI. */
puts:
	movw $COM1, %dx
4:	lodsb
	testb %al, %al
	jz 5f
	outb %al, %dx
	jmp 4b
5:	ret

	.section .rodata
msg_off:	.asciz "sbx-vmm guest: acpi poweroff through the FADT's sleep control register\n"
msg_alive:	.asciz "sbx-vmm guest: still running after the poweroff write\n"
msg_magic:	.asciz "sbx-vmm guest: bad start_info magic\n"
msg_rsdp:	.asciz "sbx-vmm guest: no RSDP at start_info.rsdp_paddr\n"
msg_xsdt:	.asciz "sbx-vmm guest: no XSDT behind the RSDP\n"
msg_fadt:	.asciz "sbx-vmm guest: no FADT in the XSDT\n"
msg_sleep:	.asciz "sbx-vmm guest: FADT sleep control register not an I/O port\n"

PVH_NOTE(pvh_start)
