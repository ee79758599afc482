/* vCPUs (see vcpu.h). Owns KVM_RUN and the exit dispatch; devices live behind the buses. */
#include "vmm/vcpu.h"

#include "vmm/cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* KVM_GET_SUPPORTED_CPUID into a buffer grown until it fits. Return: NULL, errno set. */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	errno = E2BIG;
	return NULL;
}

int vmm_vcpu_create(const struct vmm_vm *vm, unsigned id, unsigned ncpus, struct vmm_vcpu *c,
		    char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid;
	void *run;

	*c = (struct vmm_vcpu){.fd = -1, .id = id, .run_size = (size_t)vm->run_size};
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (c->fd < 0) {
		snprintf(err, errlen, "vCPU %u: KVM_CREATE_VCPU: %s (lower --cpus)", id,
			 strerror(errno));
		return -1;
	}
	run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (run == MAP_FAILED) {
		snprintf(err, errlen, "vCPU %u: mmap kvm_run: %s (check memory limits)", id,
			 strerror(errno));
		return -1;
	}
	c->run = run;
	cpuid = supported_cpuid(vm->kvm_fd);
	if (!cpuid) {
		snprintf(err, errlen, "vCPU %u: KVM_GET_SUPPORTED_CPUID: %s (use the qemu engine)",
			 id, strerror(errno));
		return -1;
	}
	vmm_cpuid_adjust(cpuid, id, ncpus);
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0) {
		snprintf(err, errlen, "vCPU %u: KVM_SET_CPUID2: %s (use the qemu engine)", id,
			 strerror(errno));
		free(cpuid);
		return -1;
	}
	free(cpuid);
	return 0;
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type)
{
	return (struct kvm_segment){.base = 0,
				    .limit = 0xffffffff,
				    .selector = sel,
				    .type = type,
				    .present = 1,
				    .dpl = 0,
				    .db = 1,
				    .s = 1,
				    .l = 0,
				    .g = 1};
}

int vmm_vcpu_set_pvh(struct vmm_vcpu *c, uint32_t entry, uint32_t start_info, char *err,
		     size_t errlen)
{
	struct kvm_sregs s;
	struct kvm_regs r = {0};

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		goto fail;
	s.cs = flat_seg(0x10, 0xb);				/* code: execute/read, accessed */
	s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x18, 0x3); /* data: read/write, accessed */
	s.cr0 = 0x11;						/* PE | ET; paging off */
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		goto fail;
	r.rip = entry;
	r.rbx = start_info;
	r.rflags = 0x2;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "vCPU %u: setting the PVH entry state: %s (use the qemu engine)",
		 c->id, strerror(errno));
	return -1;
}

static void exit_io(struct kvm_run *run, const struct vmm_bus *pio)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		vmm_bus_access(pio, run->io.port, write, data, run->io.size);
}

static void exit_system_event(struct kvm_run *run, struct vmm_stop *stop)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_stop_set(stop, 0, NULL);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_stop_set(stop, 0, NULL);
		break;
	default:
		vmm_stop_set(stop, 1, "guest: system event %u (crash or unsupported request)",
			     run->system_event.type);
		break;
	}
}

/* Turn one exit into bus accesses or a stop. */
static void handle_exit(struct vmm_vcpu *c, const struct vmm_bus *pio, const struct vmm_bus *mmio,
			struct vmm_stop *stop)
{
	struct kvm_run *run = c->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(run, pio);
		break;
	case KVM_EXIT_MMIO:
		if (run->mmio.len <= sizeof(run->mmio.data))
			vmm_bus_access(mmio, run->mmio.phys_addr, run->mmio.is_write,
				       run->mmio.data, run->mmio.len);
		break;
	case KVM_EXIT_HLT:
		vmm_stop_set(stop, 1, "guest halted on vCPU %u with no irqchip to wake it", c->id);
		break;
	case KVM_EXIT_SHUTDOWN:
		vmm_stop_set(stop, 1, "guest: triple fault on vCPU %u (the guest crashed)", c->id);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		exit_system_event(run, stop);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_stop_set(stop, 1,
			     "guest: KVM internal error %u on vCPU %u (emulation failure: this "
			     "KVM cannot run that code; try the qemu engine)",
			     run->internal.suberror, c->id);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_stop_set(stop, 1,
			     "guest: VM entry failed on vCPU %u, hardware reason 0x%llx (bad "
			     "register state; report a bug)",
			     c->id,
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		vmm_stop_set(stop, 1, "guest: unhandled KVM exit %u on vCPU %u (report a bug)",
			     run->exit_reason, c->id);
		break;
	}
}

void vmm_vcpu_run(struct vmm_vcpu *c, const struct vmm_bus *pio, const struct vmm_bus *mmio,
		  struct vmm_stop *stop)
{
	while (!vmm_stopped(stop)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vmm_stop_set(stop, 1, "vCPU %u: KVM_RUN: %s (use the qemu engine)", c->id,
				     strerror(errno));
			return;
		}
		handle_exit(c, pio, mmio, stop);
	}
}

void vmm_vcpu_destroy(struct vmm_vcpu *c)
{
	if (c->run)
		munmap(c->run, c->run_size);
	c->run = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Identity-map [0, 4 GiB) with 2 MiB pages and write the boot GDT. Return: 0, -1 if RAM is
 * too small. */
static int long64_tables(const struct vmm_mem *mem)
{
	static const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL};
	uint64_t *pml4 = vmm_mem_ptr(mem, VCPU_LONG64_PML4_GPA, 4096);
	uint64_t *pdpt = vmm_mem_ptr(mem, VCPU_LONG64_PDPT_GPA, 4096);
	uint64_t *pd = vmm_mem_ptr(mem, VCPU_LONG64_PD_GPA, 4 * 4096);
	void *g = vmm_mem_ptr(mem, VCPU_LONG64_GDT_GPA, sizeof(gdt));

	if (!pml4 || !pdpt || !pd || !g)
		return -1;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = VCPU_LONG64_PDPT_GPA | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (VCPU_LONG64_PD_GPA + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	memcpy(g, gdt, sizeof(gdt));
	return 0;
}

int vmm_vcpu_set_long64(struct vmm_vcpu *c, const struct vmm_mem *mem, uint64_t entry,
			uint64_t boot_params, char *err, size_t errlen)
{
	struct kvm_sregs s;
	struct kvm_regs r = {0};
	struct kvm_segment code = flat_seg(0x10, 0xb);

	if (long64_tables(mem) < 0) {
		snprintf(err, errlen,
			 "vCPU %u: guest RAM too small for the boot page tables "
			 "(raise --mem)",
			 c->id);
		return -1;
	}
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		goto fail;
	code.l = 1;
	code.db = 0;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x18, 0x3);
	s.gdt.base = VCPU_LONG64_GDT_GPA;
	s.gdt.limit = 4 * 8 - 1;
	s.cr3 = VCPU_LONG64_PML4_GPA;
	s.cr4 = 0x20;	    /* PAE */
	s.cr0 = 0x80000011; /* PG | ET | PE */
	s.efer = 0x500;	    /* LME | LMA */
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		goto fail;
	r.rip = entry;
	r.rsi = boot_params;
	r.rsp = VCPU_LONG64_STACK;
	r.rflags = 0x2;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "vCPU %u: setting the 64-bit entry state: %s (use the qemu engine)",
		 c->id, strerror(errno));
	return -1;
}
