/* The KVM VM and guest RAM (see kvm.h). Owns /dev/kvm, the VM fd and the RAM memfd; never runs
 * a vCPU (vcpu.c) and never interprets guest memory (boot.c, devices). */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t high = m->size - m->low, off;

	if (!m->host || m->low > m->size)
		return NULL;
	if (gpa <= m->low && len <= m->low - gpa)
		return m->host + gpa;
	off = gpa - VMM_HIGH_RAM_BASE;
	if (gpa >= VMM_HIGH_RAM_BASE && off <= high && len <= high - off)
		return m->host + m->low + off;
	return NULL;
}

int vmm_mem_gpa(const struct vmm_mem *m, const void *p, uint64_t *gpa)
{
	const uint8_t *b = p;

	if (!m->host || b < m->host || b > m->host + m->size)
		return -1;
	*gpa = (uint64_t)(b - m->host);
	if (*gpa > m->low) /* the high part (its first byte maps back to VMM_HIGH_RAM_BASE) */
		*gpa = *gpa - m->low + VMM_HIGH_RAM_BASE;
	return 0;
}

/* Register [@gpa, @gpa + @len) of guest-physical space as @host (slot @slot). */
static int ram_slot(struct vmm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t len, uint8_t *host)
{
	struct kvm_userspace_memory_region r = {.slot = slot,
						.guest_phys_addr = gpa,
						.memory_size = len,
						.userspace_addr = (uintptr_t)host};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Capabilities sbx-vmm cannot run without. */
static const struct {
	int cap;
	const char *name;
} needed_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
};

/* Open /dev/kvm and check the API version and the needed capabilities. */
static int kvm_open_checked(struct vmm_vm *vm, char *err, size_t errlen)
{
	int v;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		snprintf(err, errlen, "/dev/kvm: %s (%s)", strerror(errno),
			 errno == ENOENT ? "load kvm_intel/kvm_amd or use the qemu engine"
					 : "add yourself to the kvm group or use the qemu engine");
		return -1;
	}
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, need %d (use the qemu engine)", v,
			 KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed_caps[i].cap) <= 0) {
			snprintf(err, errlen, "/dev/kvm: lacks %s (use the qemu engine)",
				 needed_caps[i].name);
			return -1;
		}
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		snprintf(err, errlen, "/dev/kvm: KVM_GET_VCPU_MMAP_SIZE: %s (use the qemu engine)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Guest RAM: a memfd whose size is sealed, mapped shared and registered as slot 0 (below the
 * hole) and, past VMM_LOW_RAM_MAX, slot 1 from 4 GiB. */
static int ram_create(struct vmm_vm *vm, uint64_t size, char *err, size_t errlen)
{
	void *p;

	vm->mem_fd = memfd_create("sbx-vmm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0 || ftruncate(vm->mem_fd, (off_t)size) < 0 ||
	    fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		snprintf(err, errlen, "guest RAM: memfd of %llu MiB: %s (lower --mem)",
			 (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "guest RAM: mmap %llu MiB: %s (lower --mem)",
			 (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	vm->mem.host = p;
	vm->mem.size = size;
	vm->mem.low = size < VMM_LOW_RAM_MAX ? size : VMM_LOW_RAM_MAX;
	if (ram_slot(vm, 0, 0, vm->mem.low, vm->mem.host) < 0 ||
	    (size > vm->mem.low && ram_slot(vm, 1, VMM_HIGH_RAM_BASE, size - vm->mem.low,
					    vm->mem.host + vm->mem.low) < 0)) {
		snprintf(err, errlen, "guest RAM: KVM_SET_USER_MEMORY_REGION: %s (lower --mem)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

void vmm_vm_irq_line(void *opaque, unsigned irq, bool level)
{
	const struct vmm_vm *vm = opaque;
	struct kvm_irq_level l = {.irq = irq, .level = level ? 1 : 0};

	if (vm->irqchip)
		(void)ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

/* The in-kernel irqchip and PIT: optional (PVM or an old kernel may refuse them). */
static void irqchip_create(struct vmm_vm *vm)
{
	struct kvm_pit_config pit = {0};

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		fprintf(stderr,
			"sbx-vmm: note: in-kernel irqchip refused: %s (continuing without; a guest "
			"HLT then ends the run)\n",
			strerror(errno));
		return;
	}
	vm->irqchip = true;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		fprintf(stderr, "sbx-vmm: note: in-kernel PIT refused: %s (continuing without)\n",
			strerror(errno));
		return;
	}
	vm->pit = true;
}

int vmm_vm_create(struct vmm_vm *vm, uint64_t ram_size, char *err, size_t errlen)
{
	uint64_t idmap = VMM_IDENTITY_MAP_GPA;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = -1;
	if (ram_size == 0 || ram_size > VMM_RAM_MAX || (ram_size & 0xfff)) {
		snprintf(err, errlen,
			 "guest RAM: %llu bytes: not a page multiple up to 256 GiB "
			 "(pick --mem between 4 and 262144)",
			 (unsigned long long)ram_size);
		return -1;
	}
	if (kvm_open_checked(vm, err, errlen) < 0)
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "/dev/kvm: KVM_CREATE_VM: %s (use the qemu engine)",
			 strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_GPA) < 0) {
		snprintf(err, errlen, "/dev/kvm: KVM_SET_TSS_ADDR: %s (use the qemu engine)",
			 strerror(errno));
		return -1;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		snprintf(err, errlen,
			 "/dev/kvm: KVM_SET_IDENTITY_MAP_ADDR: %s (use the qemu engine)",
			 strerror(errno));
		return -1;
	}
	irqchip_create(vm);
	return ram_create(vm, ram_size, err, errlen);
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	if (vm->mem.host)
		munmap(vm->mem.host, vm->mem.size);
	vm->mem.host = NULL;
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->mem_fd = vm->vm_fd = vm->kvm_fd = -1;
}
