/* Runtime entry through PVH (see rt.h): sbx-vmm enters here in 32-bit protected mode, paging
 * off, EBX = struct hvm_start_info. Identity-maps the first 4 GiB with 2 MiB pages (rt_pt of
 * paging.c), loads rt_gdt, turns on PAE, EFER.LME and paging, jumps to 64-bit code and calls
 * rt_start(RT_BOOT_PVH, EBX) on the runtime stack. Touches nothing below 1 MiB. */
#define PT_PML4 rt_pt
#define PT_PDPT (rt_pt + 4096)
#define PT_PD	(rt_pt + 8192)

	.section .text.crt, "ax"
	.code32
	.globl _start
_start:
	cli
	movl %ebx, %esi
	movl $rt_stack_top, %esp
	movl $(PT_PDPT + 3), PT_PML4
	movl $(PT_PD + 3), %eax
	movl $PT_PDPT, %edi
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 1b
	movl $0x83, %eax
	movl $PT_PD, %edi
	movl $2048, %ecx
2:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 2b
	lgdt gdtr32
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $PT_PML4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax		/* PG */
	movl %eax, %cr0
	ljmp $0x10, $long64

	.code64
long64:
	movl $0x18, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $rt_stack_top, %esp
	movl %esi, %esi			/* start_info, zero-extended */
	xorl %edi, %edi			/* RT_BOOT_PVH */
	call rt_start
3:	cli
	hlt
	jmp 3b

	.section .rodata
	.balign 8
gdtr32:	.word 31
	.long rt_gdt

	.section .bss
	.balign 16
rt_stack:
	.space 16384
rt_stack_top:

/* The PVH note (Xen, XEN_ELFNOTE_PHYS32_ENTRY): see tests/vmmguest/guest.h. */
	.pushsection .note.pvh, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.long _start
	.popsection
