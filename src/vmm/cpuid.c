/* Per-vCPU CPUID adjustment (see cpuid.h). */
#include "vmm/cpuid.h"

/* Bits needed to number @n ids (ceil(log2(n)); 0 for 1). */
static unsigned id_bits(unsigned n)
{
	unsigned b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static void leaf_1(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus)
{
	e->ebx = (e->ebx & 0x0000ffffU) | (id << 24) | ((ncpus & 0xff) << 16);
	if (ncpus > 1)
		e->edx |= 1U << 28; /* HTT: the count in EBX[23:16] is valid */
	e->ecx |= 1U << 31;	    /* hypervisor present */
}

static void leaf_4(struct kvm_cpuid_entry2 *e, unsigned ncpus)
{
	unsigned type = e->eax & 0x1f, level = (e->eax >> 5) & 7;
	unsigned sharing = level >= 3 ? ncpus - 1 : 0;

	if (type == 0) /* no cache: the list's end */
		return;
	e->eax = (e->eax & 0x3fff) | ((sharing & 0xfff) << 14) | (((ncpus - 1) & 0x3f) << 26);
}

static void leaf_topology(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus)
{
	switch (e->index) {
	case 0: /* SMT: one thread per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1U << 8) | 0;
		break;
	case 1: /* core: all vCPUs in one package */
		e->eax = id_bits(ncpus);
		e->ebx = ncpus;
		e->ecx = (2U << 8) | 1;
		break;
	default: /* no more levels */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
	e->edx = id;
}

void vmm_cpuid_adjust(struct kvm_cpuid2 *c, unsigned id, unsigned ncpus)
{
	if (ncpus == 0)
		ncpus = 1;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			leaf_1(e, id, ncpus);
			break;
		case 4:
			leaf_4(e, ncpus);
			break;
		case 0xa:
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			leaf_topology(e, id, ncpus);
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xffU) | ((ncpus - 1) & 0xff);
			break;
		default:
			break;
		}
	}
}
