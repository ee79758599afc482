/* The CPUID a vCPU of sbx-vmm sees: KVM_GET_SUPPORTED_CPUID adjusted per vCPU. Owns the
 * adjustment only (pure: no ioctl), so a unit test can check every leaf it touches. */
#ifndef SBX_VMM_CPUID_H
#define SBX_VMM_CPUID_H

#include <linux/kvm.h>

/**
 * vmm_cpuid_adjust() - make KVM's supported set what vCPU @id of @ncpus should see.
 * @c: the entries (changed in place).
 * @id: the vCPU's index = APIC id.
 * @ncpus: vCPUs in the VM (1..254).
 *
 * Leaf 1: initial APIC id, logical processor count, HTT when @ncpus > 1, and the hypervisor
 * bit (without it Linux never reads leaf 0x40000000: no kvmclock). Leaf 4 (Intel caches): cores
 * per package = @ncpus, each cache private to a core except the last level, shared by all.
 * Leaves 0xB/0x1F: one thread per core, @ncpus cores (level types, shifts and counts per
 * subleaf), x2APIC id = @id. Leaf 0xA (architectural PMU): zeroed — no guest performance
 * counters, as Firecracker. Leaf 0x80000008 ECX: cores - 1.
 */
void vmm_cpuid_adjust(struct kvm_cpuid2 *c, unsigned id, unsigned ncpus);

#endif
