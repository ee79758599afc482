/* sbx-vmm's jail: fresh mount/pid/ipc/uts/net namespaces (a user namespace first when not root),
 * private mounts, every capability dropped, no_new_privs; in two phases around the opening of
 * what sbx-vmm needs. Owns entering the jail and the small supervisor process a new pid
 * namespace needs; never filters syscalls (seccomp.c does). */
#ifndef SBX_VMM_JAIL_H
#define SBX_VMM_JAIL_H

#include <stddef.h>
#include <sys/types.h>

/**
 * struct vmm_jail_cfg - how to jail sbx-vmm.
 * @hostname: host name inside the new UTS namespace (NULL: "sbx-vmm").
 * @no_supervisor_seccomp: leave the supervisor without its control-role seccomp filter (tests
 *                         that need to run it under a debugger; never in production).
 */
struct vmm_jail_cfg {
	const char *hostname;
	int no_supervisor_seccomp;
};

/**
 * vmm_jail_fork() - phase 1, first thing in main(), single-threaded, before any KVM object
 * exists: KVM refuses ioctls from a process other than the one that created the VM (another
 * mm), and a new pid namespace holds only the children of its creator, so sbx-vmm must fork
 * before it creates its VM.
 * @cfg: options (NULL: defaults).
 * @err: buffer for a one-line error: the step, errno, what to do.
 * @errlen: size of @err.
 *
 * Not root: unshare a user namespace mapping only the caller's uid and gid to themselves
 * (setgroups denied; the supplementary groups, kvm say, still grant access). Then unshare a pid
 * namespace and fork: the child becomes its PID 1 and returns from here as the VMM, with
 * PR_SET_PDEATHSIG(SIGKILL) and still every capability (of the user namespace when not root) so
 * that it can open and create what it needs. The parent stays outside as a supervisor that
 * closes its fds, drops its capabilities, loads the control seccomp filter, passes
 * SIGTERM/SIGINT/SIGHUP on to the VMM as SIGTERM (it arrives because the VMM blocks it and
 * reads a signalfd; PID 1 would ignore an unhandled one) and SIGKILLs it 3 s later if it is
 * still there (SIGQUIT: at once), and exits with the VMM's status (128 + N when signal N killed
 * it); it never returns. Timers (setitimer) and threads are not inherited: arm and start them after
 * this.
 *
 * Syscalls: openat, getdents64 (/proc/self/task), unshare, write (/proc/self/uid_map,
 * gid_map, setgroups), fork (clone), prctl, rt_sigprocmask; the supervisor: rt_sigaction,
 * close_range, capset, capget, seccomp, wait4, kill, exit_group.
 *
 * Return: 0 in the VMM process; -1 with @err set when a step was refused — the process may be
 * half-jailed and must exit.
 */
int vmm_jail_fork(const struct vmm_jail_cfg *cfg, char *err, size_t errlen);

/**
 * vmm_jail_lock() - phase 2, in the process vmm_jail_fork() returned in, once every fd and KVM
 * object sbx-vmm needs is open (VM, vCPUs, memory, disk images, listening sockets, shared
 * directories' fds) and before any thread is started.
 * @cfg: options (NULL: defaults).
 * @err: buffer for a one-line error: the step, errno, what to do.
 * @errlen: size of @err.
 *
 * Unshare mount, ipc, uts and net namespaces — the new net namespace has only "lo", down:
 * sbx-vmm has no network at all (unix sockets bound to paths still work across it); make every
 * mount MS_REC|MS_PRIVATE; set the host name; lock the securebits (no root fix-ups); empty the
 * bounding set (skipped where CAP_SETPCAP is missing: no_new_privs and seccomp's ban on execve
 * make it moot); clear ambient, permitted, effective and inheritable capabilities; set
 * PR_SET_NO_NEW_PRIVS. The seccomp filters come after, per thread (seccomp.h).
 *
 * No chroot or pivot_root: hybrid vsock connects to "<uds>_<port>" under the sandbox's run
 * directory at run time for ports the guest picks, so the host's tree stays visible (the
 * mount namespace is a private copy; without capabilities nothing can be mounted in it).
 * Without CAP_DAC_READ_SEARCH open_by_handle_at fails, so virtio-fs must probe its handles
 * after this call (or not evict node fds it cannot reopen).
 *
 * Syscalls: openat, getdents64, unshare, mount, sethostname, prctl, capset, capget.
 *
 * Return: 0 when jailed; -1 with @err set when a step was refused — the process must exit.
 */
int vmm_jail_lock(const struct vmm_jail_cfg *cfg, char *err, size_t errlen);

/**
 * vmm_jail_enter() - vmm_jail_fork() then vmm_jail_lock(), for a caller with nothing to open in
 * between (the tests).
 * @cfg: options (NULL: defaults).
 * @err: buffer for a one-line error.
 * @errlen: size of @err.
 *
 * Return: 0 in the jailed VMM process; -1 with @err set (exit).
 */
int vmm_jail_enter(const struct vmm_jail_cfg *cfg, char *err, size_t errlen);

#endif
