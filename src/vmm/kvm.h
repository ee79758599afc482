/* The KVM virtual machine of sbx-vmm: /dev/kvm, the VM file descriptor, guest RAM (one sealed
 * memfd below the 3 GiB MMIO hole) and the in-kernel irqchip/PIT when KVM grants them.
 * Owns every access to guest RAM from the host: callers go through vmm_mem_ptr(), never raw
 * pointer arithmetic on guest addresses. */
#ifndef SBX_VMM_KVM_H
#define SBX_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest RAM: up to VMM_LOW_RAM_MAX at guest-physical 0; the rest from VMM_HIGH_RAM_BASE, above
 * the [3 GiB, 4 GiB) hole that holds the devices (virtio-mmio, I/O APIC, local APIC). */
#define VMM_LOW_RAM_MAX	  (3ULL << 30)
#define VMM_HIGH_RAM_BASE (4ULL << 30)
#define VMM_RAM_MAX	  (256ULL << 30)

/* Addresses KVM needs for its real-mode helpers on Intel (3 pages, top of the 32-bit space). */
#define VMM_IDENTITY_MAP_GPA 0xfffbc000ULL
#define VMM_TSS_GPA	     0xfffbd000ULL

/**
 * struct vmm_mem - guest RAM as the host sees it: one mapping of @size bytes at @host whose
 * first @low bytes are guest-physical [0, @low) and the rest [VMM_HIGH_RAM_BASE,
 * VMM_HIGH_RAM_BASE + @size - @low).
 * @host: the mapping.
 * @size: its length in bytes.
 * @low: bytes below the hole (@size when it is at most VMM_LOW_RAM_MAX).
 */
struct vmm_mem {
	uint8_t *host;
	uint64_t size;
	uint64_t low;
};

/**
 * struct vmm_vm - one KVM virtual machine.
 * @kvm_fd: /dev/kvm.
 * @vm_fd: the VM (KVM_CREATE_VM).
 * @mem_fd: the memfd behind guest RAM (size sealed).
 * @mem: guest RAM.
 * @run_size: bytes to mmap for each vCPU's struct kvm_run.
 * @irqchip: the in-kernel PIC/IOAPIC/LAPIC exists (KVM_CREATE_IRQCHIP succeeded).
 * @pit: the in-kernel PIT exists (KVM_CREATE_PIT2 succeeded).
 */
struct vmm_vm {
	int kvm_fd;
	int vm_fd;
	int mem_fd;
	struct vmm_mem mem;
	int run_size;
	bool irqchip;
	bool pit;
};

/**
 * vmm_mem_ptr() - the host address of guest-physical [@gpa, @gpa + @len), bounds-checked.
 * @m: guest RAM.
 * @gpa: guest-physical address.
 * @len: bytes the caller will touch (0 is allowed and checks @gpa <= size).
 *
 * Return: the host pointer, or NULL if any byte of the range lies outside RAM or the sum
 * overflows.
 */
void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len);

/**
 * vmm_mem_gpa() - the guest-physical address of host pointer @p inside RAM.
 * @m: guest RAM.
 * @p: a pointer into @m.
 * @gpa: set to the address.
 *
 * Return: 0, or -1 if @p is not inside RAM.
 */
int vmm_mem_gpa(const struct vmm_mem *m, const void *p, uint64_t *gpa);

/**
 * vmm_vm_create() - open /dev/kvm, check the API and capabilities, create the VM and its RAM.
 * @vm: filled in (fds -1 on failure).
 * @ram_size: bytes of guest RAM, page multiple, at most VMM_RAM_MAX (above VMM_LOW_RAM_MAX the
 *	rest goes above the 4 GiB boundary, a second memory slot).
 * @err: on failure, one line "<what failed>: <why> (<what to do>)".
 * @errlen: size of @err.
 *
 * Syscalls: open, ioctl (KVM_GET_API_VERSION, KVM_CHECK_EXTENSION, KVM_CREATE_VM,
 * KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_IRQCHIP,
 * KVM_CREATE_PIT2, KVM_GET_VCPU_MMAP_SIZE), memfd_create, ftruncate, fcntl (F_ADD_SEALS), mmap.
 * The irqchip and PIT are optional: if KVM refuses them a note goes to stderr and @vm->irqchip
 * / @vm->pit stay false.
 *
 * Return: 0, or -1 with @err set.
 */
int vmm_vm_create(struct vmm_vm *vm, uint64_t ram_size, char *err, size_t errlen);

/**
 * vmm_vm_irq_line() - set the level of interrupt line @irq (an ISA IRQ / GSI) on the in-kernel
 * irqchip; a no-op without one. Fits serial_set_irq()'s callback.
 * @opaque: the struct vmm_vm.
 * @irq: the line.
 * @level: raised (true) or lowered.
 *
 * Syscalls: ioctl (KVM_IRQ_LINE).
 */
void vmm_vm_irq_line(void *opaque, unsigned irq, bool level);

/**
 * vmm_vm_destroy() - unmap RAM and close the VM's descriptors (safe on a half-created @vm).
 * @vm: the VM.
 */
void vmm_vm_destroy(struct vmm_vm *vm);

#endif
