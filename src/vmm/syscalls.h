/* The syscalls each sbx-vmm thread role may make: the one list the seccomp filters
 * (seccomp.c) are generated from. Owns the tables only; never installs anything. */
#ifndef SBX_VMM_SYSCALLS_H
#define SBX_VMM_SYSCALLS_H

#include <stddef.h>

/**
 * enum vmm_role - what a thread of sbx-vmm does, and so which filter it runs under.
 * @VMM_ROLE_VCPU: a vCPU thread (KVM_RUN and the exits it handles in place).
 * @VMM_ROLE_DEVICE: the device I/O thread (epoll over eventfds, unix sockets, virtio-blk).
 * @VMM_ROLE_FS: a virtio-fs worker thread (the FUSE server on the shared directories).
 * @VMM_ROLE_CONTROL: the main thread and the jail's supervisor (signals, wait, exit).
 * @VMM_ROLE_COUNT: number of roles.
 */
enum vmm_role {
	VMM_ROLE_VCPU,
	VMM_ROLE_DEVICE,
	VMM_ROLE_FS,
	VMM_ROLE_CONTROL,
	VMM_ROLE_COUNT,
};

/**
 * struct vmm_syscall_list - a role's syscalls allowed with any arguments.
 * @names: syscall names as libseccomp spells them (resolved for the native architecture).
 * @n: number of names.
 */
struct vmm_syscall_list {
	const char *const *names;
	size_t n;
};

/**
 * vmm_syscalls_common() - the syscalls every role may make: libc and threading basics
 * (futex, memory, signal return, exit) plus what ASan/UBSan need at run time.
 * Return: the list (static).
 */
const struct vmm_syscall_list *vmm_syscalls_common(void);

/**
 * vmm_syscalls_role() - the syscalls role @role may make beyond vmm_syscalls_common() and
 * beyond the argument-filtered ones seccomp.c adds (ioctl, socket, clone, kill, tgkill).
 * Return: the list (static), or NULL for a role out of range.
 */
const struct vmm_syscall_list *vmm_syscalls_role(enum vmm_role role);

/**
 * vmm_kvm_vcpu_ioctls() - the ioctl request numbers a vCPU thread may issue (on its vcpu fd,
 * and KVM_IRQ_LINE/KVM_SIGNAL_MSI on the VM fd for devices it emulates in place).
 * @n: set to the number of requests.
 * Return: the table (static).
 */
const unsigned long *vmm_kvm_vcpu_ioctls(size_t *n);

/**
 * vmm_role_name() - "vcpu", "device", "fs" or "control".
 * Return: the name, or "?" for a role out of range.
 */
const char *vmm_role_name(enum vmm_role role);

#endif
