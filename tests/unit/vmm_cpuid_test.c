/* Unit tests of the per-vCPU CPUID adjustment (src/vmm/cpuid.c) on a made-up supported set:
 * leaf 1's APIC id, count, HTT and hypervisor bit; leaf 4's core and sharing counts per cache
 * level; the 0xB topology levels; the PMU leaf zeroed; AMD's core count; other leaves left
 * alone. */
#include "vmm/cpuid.h"
#include "t.h"

#include <stdlib.h>

#define NENT 12

static struct kvm_cpuid2 *fake(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 *e = c->entries;

	e[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0x1f, .ebx = 0x756e6547};
	e[1] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xff00abcd, .ecx = 0x1, .edx = 0};
	/* leaf 4: L1d (type 1, level 1), L2 (type 3, level 2), L3 (type 3, level 3), end */
	e[2] = (struct kvm_cpuid_entry2){.function = 4, .index = 0, .eax = 0xfc000021};
	e[3] = (struct kvm_cpuid_entry2){.function = 4, .index = 1, .eax = 0x00000043};
	e[4] = (struct kvm_cpuid_entry2){.function = 4, .index = 2, .eax = 0x00000063};
	e[5] = (struct kvm_cpuid_entry2){.function = 4, .index = 3, .eax = 0};
	e[6] = (struct kvm_cpuid_entry2){.function = 0xa, .eax = 0x07300805, .edx = 0x603};
	e[7] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 0, .eax = 1, .ebx = 2};
	e[8] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 1, .eax = 5, .ebx = 32};
	e[9] = (struct kvm_cpuid_entry2){.function = 0xb, .index = 2, .eax = 7, .ebx = 9};
	e[10] = (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = 0x3030, .ecx = 0x700f};
	e[11] = (struct kvm_cpuid_entry2){.function = 0x40000001, .eax = 0x1234};
	c->nent = NENT;
	return c;
}

TEST(leaf1_per_vcpu)
{
	struct kvm_cpuid2 *c = fake();

	vmm_cpuid_adjust(c, 5, 8);
	CHECK_EQ(c->entries[1].ebx >> 24, 5);
	CHECK_EQ((c->entries[1].ebx >> 16) & 0xff, 8);
	CHECK_EQ(c->entries[1].ebx & 0xffff, 0xabcd); /* brand/clflush bits kept */
	CHECK(c->entries[1].edx & (1U << 28));
	CHECK(c->entries[1].ecx & (1U << 31));
	CHECK(c->entries[1].ecx & 1); /* the supported bits stay */
	free(c);
	c = fake();
	vmm_cpuid_adjust(c, 0, 1);
	CHECK(!(c->entries[1].edx & (1U << 28))); /* one vCPU: no HTT */
	CHECK(c->entries[1].ecx & (1U << 31));
	free(c);
}

TEST(caches_and_topology)
{
	struct kvm_cpuid2 *c = fake();

	vmm_cpuid_adjust(c, 3, 6);
	CHECK_EQ(c->entries[2].eax >> 26, 5);		/* cores per package - 1 */
	CHECK_EQ((c->entries[2].eax >> 14) & 0xfff, 0); /* L1d: one core */
	CHECK_EQ(c->entries[2].eax & 0x3fff, 0x21);	/* type/level kept */
	CHECK_EQ((c->entries[3].eax >> 14) & 0xfff, 0); /* L2: one core */
	CHECK_EQ((c->entries[4].eax >> 14) & 0xfff, 5); /* L3: all six */
	CHECK_EQ(c->entries[5].eax, 0);			/* the end marker untouched */
	/* 0xB: SMT level (1 thread), core level (6 cores, 3 id bits), then nothing */
	CHECK_EQ(c->entries[7].eax, 0);
	CHECK_EQ(c->entries[7].ebx, 1);
	CHECK_EQ(c->entries[7].ecx, 0x100);
	CHECK_EQ(c->entries[7].edx, 3);
	CHECK_EQ(c->entries[8].eax, 3);
	CHECK_EQ(c->entries[8].ebx, 6);
	CHECK_EQ(c->entries[8].ecx, 0x201);
	CHECK_EQ(c->entries[8].edx, 3);
	CHECK_EQ(c->entries[9].eax, 0);
	CHECK_EQ(c->entries[9].ebx, 0);
	CHECK_EQ(c->entries[9].ecx, 2);
	CHECK_EQ(c->entries[10].ecx, 0x7005); /* AMD: cores - 1, the rest kept */
	free(c);
}

TEST(pmu_hidden_rest_kept)
{
	struct kvm_cpuid2 *c = fake();

	vmm_cpuid_adjust(c, 0, 2);
	CHECK_EQ(c->entries[6].eax, 0);
	CHECK_EQ(c->entries[6].edx, 0);
	CHECK_EQ(c->entries[11].eax, 0x1234);
	CHECK_EQ(c->entries[0].eax, 0x1f);
	CHECK_EQ(c->entries[8].eax, 1); /* two vCPUs: one id bit */
	free(c);
}

int main(void)
{
	RUN(leaf1_per_vcpu);
	RUN(caches_and_topology);
	RUN(pmu_hidden_rest_kept);
	T_EXIT();
}
