/* The real-mode part of a test bzImage (see rt.h): a boot sector with the setup header of the
 * Linux boot protocol 2.12 (Documentation/arch/x86/boot.rst) and one setup sector, then the
 * 64-bit payload (crt_bz.S + rt + the guest, objcopy'd flat) included from PAYLOAD. Only the
 * 64-bit entry works: there is no real-mode setup code. */
#define SETUP_SECTS 1
#define LOAD_ADDR   0x100000

	.section .text, "ax"
	.code16
	.globl bzimage
bzimage:
	.org 0x1f1
setup_sects:	.byte SETUP_SECTS
root_flags:	.word 0
syssize:	.long (payload_end - payload + 15) / 16
ram_size:	.word 0
vid_mode:	.word 0xffff
root_dev:	.word 0
boot_flag:	.word 0xaa55
	.org 0x200
jump:		.byte 0xeb, hdr_end - 0x202 - bzimage
header:		.ascii "HdrS"
version:	.word 0x020f
realmode_swtch:	.long 0
start_sys_seg:	.word 0
kernel_version:	.word 0
type_of_loader:	.byte 0
loadflags:	.byte 0x01		/* LOADED_HIGH */
setup_move_size: .word 0
code32_start:	.long LOAD_ADDR
ramdisk_image:	.long 0
ramdisk_size:	.long 0
bootsect_kludge: .long 0
heap_end_ptr:	.word 0
ext_loader_ver:	.byte 0
ext_loader_type: .byte 0
cmd_line_ptr:	.long 0
initrd_addr_max: .long 0x7fffffff
kernel_alignment: .long 0x1000
relocatable_kernel: .byte 0
min_alignment:	.byte 12
xloadflags:	.word 0x1		/* XLF_KERNEL_64 */
cmdline_size:	.long 2047
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset:	.long 0
payload_length:	.long 0
setup_data:	.quad 0
pref_address:	.quad LOAD_ADDR
init_size:	.long payload_end - payload
handover_offset: .long 0
kernel_info_offset: .long 0
hdr_end:
	.org (SETUP_SECTS + 1) * 512
payload:
	.incbin PAYLOAD
payload_end:
