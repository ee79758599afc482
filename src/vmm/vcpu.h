/* The vCPUs of sbx-vmm: creation (kvm_run mapped), CPUID from KVM_GET_SUPPORTED_CPUID with the
 * per-vCPU topology set, the PVH and 64-bit boot entry states, and the run loop that hands port I/O
 * and MMIO exits to the buses and turns every other exit into a stop with a status.
 * Owns the vCPU fds; never decides what a device does. */
#ifndef SBX_VMM_VCPU_H
#define SBX_VMM_VCPU_H

#include "vmm/bus.h"
#include "vmm/kvm.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_VCPU_MAX 64

/**
 * struct vmm_vcpu - one vCPU.
 * @fd: the vCPU (KVM_CREATE_VCPU).
 * @id: its index and APIC id.
 * @run: the shared struct kvm_run.
 * @run_size: bytes mapped at @run.
 * @thread: its thread, once vmm_vcpus_start() made it (@started).
 * @pio, @mmio, @stop: what the thread runs with.
 * @thread_init: called first on the thread (e.g. its seccomp filter), or NULL; a non-zero
 *               return stops the VM with status 1.
 */
struct vmm_vcpu {
	int fd;
	unsigned id;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	const struct vmm_bus *pio, *mmio;
	struct vmm_stop *stop;
	int (*thread_init)(struct vmm_vcpu *c);
};

/**
 * vmm_vcpu_create() - create vCPU @id, map its kvm_run and set its CPUID.
 * @vm: the VM.
 * @id: index (= APIC id), < @ncpus.
 * @ncpus: vCPUs the VM will have (for the topology leaves).
 * @c: filled in.
 * @err: one line on failure.
 * @errlen: size of @err.
 *
 * CPUID is KVM_GET_SUPPORTED_CPUID adjusted for this vCPU by vmm_cpuid_adjust() (cpuid.h:
 * APIC ids, topology, hypervisor bit, no PMU). Syscalls: ioctl
 * (KVM_CREATE_VCPU, KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2), mmap.
 *
 * Return: 0, or -1 with @err set.
 */
int vmm_vcpu_create(const struct vmm_vm *vm, unsigned id, unsigned ncpus, struct vmm_vcpu *c,
		    char *err, size_t errlen);

/**
 * vmm_vcpu_set_pvh() - the PVH entry state: 32-bit protected mode, paging off, flat 4 GiB
 * CS/DS/ES/SS/FS/GS, EIP = @entry, EBX = @start_info, EFLAGS = 2.
 * @c: the boot vCPU.
 * @entry: the PVH entry point.
 * @start_info: guest-physical address of struct hvm_start_info.
 * @err: one line on failure.
 * @errlen: size of @err.
 *
 * Syscalls: ioctl (KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS).
 *
 * Return: 0, or -1 with @err set.
 */
int vmm_vcpu_set_pvh(struct vmm_vcpu *c, uint32_t entry, uint32_t start_info, char *err,
		     size_t errlen);

/**
 * vmm_vcpu_run() - run @c until something stops the VM.
 * @c: the vCPU.
 * @pio: port-I/O bus.
 * @mmio: MMIO bus.
 * @stop: the VM's stop record; set by a device (debug exit) or here (HLT without irqchip: 1,
 *        triple fault: 1, KVM system event shutdown/reset: 0, internal error/failed entry: 1,
 *        KVM_RUN failing: 1).
 *
 * Syscalls: ioctl (KVM_RUN), and whatever the devices need.
 */
void vmm_vcpu_run(struct vmm_vcpu *c, const struct vmm_bus *pio, const struct vmm_bus *mmio,
		  struct vmm_stop *stop);

/**
 * vmm_vcpus_start() - one thread per vCPU, each in vmm_vcpu_run() until the VM stops.
 * @cpus: @n created vCPUs (@cpus[0] has its entry state; the others wait in KVM for INIT/SIPI
 *        from the guest, which the in-kernel irqchip delivers).
 * @n: how many.
 * @pio, @mmio: the buses (complete: they do not change once threads run).
 * @stop: the VM's stop record.
 * @err: one line on failure; @errlen: its size.
 *
 * Installs the kick signal's handler (SIGUSR1, no SA_RESTART) so vmm_vcpus_stop() can pull a
 * thread out of KVM_RUN. Syscalls: rt_sigaction, clone (pthread_create).
 *
 * Return: 0, or -1 with @err set (the threads already started keep running: call
 * vmm_vcpus_stop()).
 */
int vmm_vcpus_start(struct vmm_vcpu *cpus, unsigned n, const struct vmm_bus *pio,
		    const struct vmm_bus *mmio, struct vmm_stop *stop, char *err, size_t errlen);

/**
 * vmm_vcpus_stop() - make every started vCPU thread leave KVM_RUN and join it.
 * @cpus, @n: as given to vmm_vcpus_start().
 *
 * Call after the stop record is set. Each run's immediate_exit is set, then the thread gets
 * the kick signal, so a thread about to enter KVM_RUN and one inside it both return.
 * Syscalls: tgkill (pthread_kill), futex (pthread_join).
 */
void vmm_vcpus_stop(struct vmm_vcpu *cpus, unsigned n);

/**
 * vmm_vcpu_destroy() - unmap kvm_run and close the vCPU (safe on a half-created one).
 * @c: the vCPU.
 */
void vmm_vcpu_destroy(struct vmm_vcpu *c);

/* Where vmm_vcpu_set_long64() writes its page tables and GDT: low RAM that boot.c (0x6000,
 * 0x7000, 0x20000, 0xe0000) and bzimage.c (0x8000) leave alone. */
#define VCPU_LONG64_PML4_GPA 0x9000ULL
#define VCPU_LONG64_PDPT_GPA 0xa000ULL
#define VCPU_LONG64_PD_GPA   0xb000ULL /* four page directories: 0xb000..0xefff */
#define VCPU_LONG64_GDT_GPA  0xf000ULL
#define VCPU_LONG64_STACK    0x8000ULL /* initial RSP; the kernel sets its own */

/**
 * vmm_vcpu_set_long64() - the 64-bit boot protocol's entry state: long mode, paging on with
 * the first 4 GiB identity-mapped (2 MiB pages, at VCPU_LONG64_PML4_GPA..), a GDT with
 * __BOOT_CS 0x10 (64-bit code) and __BOOT_DS 0x18 (data) at VCPU_LONG64_GDT_GPA, interrupts
 * off, RIP = @entry, RSI = @boot_params.
 * @c: the boot vCPU.
 * @mem: guest RAM, where the tables are written (needs at least 64 KiB).
 * @entry: the kernel's 64-bit entry (load address + 0x200).
 * @boot_params: guest-physical address of the zero page.
 * @err: one line on failure.
 * @errlen: size of @err.
 *
 * Syscalls: ioctl (KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS).
 *
 * Return: 0, or -1 with @err set.
 */
int vmm_vcpu_set_long64(struct vmm_vcpu *c, const struct vmm_mem *mem, uint64_t entry,
			uint64_t boot_params, char *err, size_t errlen);

#endif
