/* Per-thread seccomp filters of sbx-vmm: one filter per thread role, generated from the tables
 * in syscalls.c, default action "kill the process". Owns building and loading the filters;
 * never decides which thread runs which role (the caller does) and never uses TSYNC. */
#ifndef SBX_VMM_SECCOMP_H
#define SBX_VMM_SECCOMP_H

#include "vmm/syscalls.h"

#include <stddef.h>
#include <sys/types.h>

/**
 * vmm_seccomp_install() - load role @role's filter on the calling thread only.
 * @role: the thread's role (enum vmm_role).
 * @peer: a process the thread may signal besides its own (the jail's supervisor passes the VM
 *        process), or 0 for none.
 * @err: buffer for a one-line error.
 * @errlen: size of @err.
 *
 * Everything not listed for @role in syscalls.c kills the whole process with SIGSYS. Beyond the
 * tables, argument filters: socket only AF_UNIX (device role); ioctl only the KVM request
 * numbers of vmm_kvm_vcpu_ioctls() (vcpu role); clone only with CLONE_THREAD and clone3
 * refused with ENOSYS so glibc falls back to clone (control role); kill and tgkill only to the
 * own process or @peer (all roles). Filters stack: a thread created after its creator loaded a
 * filter runs under both, so load the control filter only after creating the other threads.
 * Needs no_new_privs (vmm_jail_enter() sets it) or CAP_SYS_ADMIN; sets no_new_privs itself.
 * Call it at the start of each thread's job, after the jail and after every fd is open.
 * Syscalls: prctl, seccomp.
 *
 * Return: 0, or -1 with @err set (the filter could not be built or loaded; the thread is
 * unfiltered and must not run).
 */
int vmm_seccomp_install(enum vmm_role role, pid_t peer, char *err, size_t errlen);

#endif
