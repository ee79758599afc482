/* The syscall tables of sbx-vmm's thread roles (see syscalls.h), gathered from the "Syscalls:"
 * lines of the code each role runs. Edit a table when a role's code starts making a new call;
 * never allow a call here "just in case": an unlisted call kills the process, by design. */
#include "vmm/syscalls.h"

#include <linux/kvm.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The tables are packed by hand. */
/* clang-format off */
/* Every thread: glibc's locks and allocator, signal return, time, exit; raise()/abort() go
 * through the argument-filtered kill/tgkill in seccomp.c. For ASan/UBSan (`make SAN=1`, checked
 * by tests/unit/vmm_seccomp_test.c): mmap, munmap, madvise, mprotect, sigaltstack, sched_yield,
 * gettid, getpid — all harmless, so allowed in every build. write covers the one-line error
 * messages to stderr. */
static const char *const common[] = {
	"futex", "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "exit", "exit_group",
	"restart_syscall", "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"sched_yield", "getpid", "gettid", "mmap", "munmap", "mprotect", "madvise", "mremap",
	"brk", "getrandom", "write", "close",
};

/* vCPU threads: KVM_RUN and register access (ioctl, filtered by request number in
 * seccomp.c), the serial console's write (serial.h), eventfd kicks from MMIO handlers; plus
 * the device list (seccomp.c adds it): a register write may kick a queue on this thread. */
static const char *const vcpu[] = {
	"read", "readv", "writev",
};

/* The device I/O thread: evloop.c (epoll), hybrid vsock (vsock/hybrid.c: accept4, connect,
 * sendmsg, send, recv, shutdown, timerfd; socket is AF_UNIX-only in seccomp.c), iobuf.c,
 * eventfd kicks and irqfds, virtio-blk's vectored I/O, flush and discard, virtio-rng. */
static const char *const device[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "read", "readv", "writev", "sendmsg", "recvmsg",
	"sendto", "recvfrom", "accept4", "connect", "shutdown", "getsockopt", "fcntl", "preadv",
	"pwritev", "preadv2", "pwritev2", "pread64", "pwrite64", "fdatasync", "fsync",
	"fallocate", "lseek", "fstat", "newfstatat", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "eventfd2",
};

/* virtio-fs workers: the FUSE server in src/virtio/fs/ (confine.c: openat2, openat on
 * /proc/self/fd, fstatat, fchownat; inode.c: name_to_handle_at, open_by_handle_at, fstat;
 * ops_dir.c: getdents64; ops_entry.c: mkdirat, mknodat, symlinkat, linkat, unlinkat, renameat2,
 * readlinkat; ops_file.c: preadv, pwritev, ftruncate, fallocate, fsync, fdatasync, lseek,
 * fchmod, fchown, utimensat, fstatfs, faccessat; ops_xattr.c: the path xattr calls on
 * /proc/self/fd/N; locks.c: flock, fcntl locks; srv.c: getrlimit/setrlimit = prlimit64; the
 * virtqueue: eventfd read/write). */
static const char *const fs[] = {
	"openat", "openat2", "open", "newfstatat", "fstat", "statx", "fstatfs", "statfs",
	"getdents64", "lseek", "read", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "ftruncate", "fallocate", "fsync", "fdatasync",
	"mkdirat", "mknodat", "symlinkat", "linkat", "unlinkat", "renameat2", "renameat",
	"readlinkat", "fchmod", "fchmodat", "fchown", "fchownat", "utimensat", "faccessat",
	"faccessat2", "getxattr", "setxattr", "listxattr", "removexattr", "lgetxattr",
	"lsetxattr", "llistxattr", "lremovexattr", "fgetxattr", "fsetxattr", "flistxattr",
	"fremovexattr", "flock", "fcntl", "dup", "name_to_handle_at", "open_by_handle_at",
	"prlimit64", "getrlimit", "setrlimit",
};

/* The main thread and the jail's supervisor (jail.c): signal handlers, the watchdog timer
 * (setitimer), waiting for the VM process or joining threads, main.c's wait for the stop
 * (poll on the stop eventfd and the signalfd) and the devices' tear-down (epoll_ctl, the
 * vsock socket's unlink), exit. Thread creation goes
 * through the argument-filtered clone in seccomp.c; a thread it creates starts under this
 * filter (set_robust_list, rseq: glibc's thread start; sched_getaffinity: ASan's) and adds its
 * own role's on top. */
static const char *const control[] = {
	"rt_sigaction", "rt_sigsuspend", "rt_sigtimedwait", "setitimer", "getitimer", "alarm",
	"pause", "wait4", "waitid", "read", "writev", "set_robust_list", "rseq",
	"sched_getaffinity", "poll", "ppoll", "unlink", "unlinkat", "epoll_ctl",
};
/* clang-format on */

static const struct vmm_syscall_list common_list = {common, NELEM(common)};
static const struct vmm_syscall_list role_lists[VMM_ROLE_COUNT] = {
    [VMM_ROLE_VCPU] = {vcpu, NELEM(vcpu)},
    [VMM_ROLE_DEVICE] = {device, NELEM(device)},
    [VMM_ROLE_FS] = {fs, NELEM(fs)},
    [VMM_ROLE_CONTROL] = {control, NELEM(control)},
};

static const char *const role_names[VMM_ROLE_COUNT] = {
    [VMM_ROLE_VCPU] = "vcpu",
    [VMM_ROLE_DEVICE] = "device",
    [VMM_ROLE_FS] = "fs",
    [VMM_ROLE_CONTROL] = "control",
};

/* vcpu.c (KVM_RUN, KVM_GET/SET_REGS, KVM_GET/SET_SREGS, KVM_SET_CPUID2 at set-up) and what a
 * vCPU exit handler may need: MSRs, FPU/XSAVE, LAPIC, events, MP state, clock, and interrupt
 * lines on the VM fd for devices emulated on the vCPU thread. */
static const unsigned long kvm_vcpu_ioctls[] = {KVM_RUN,
						KVM_GET_REGS,
						KVM_SET_REGS,
						KVM_GET_SREGS,
						KVM_SET_SREGS,
						KVM_GET_MSRS,
						KVM_SET_MSRS,
						KVM_GET_FPU,
						KVM_SET_FPU,
						KVM_GET_LAPIC,
						KVM_SET_LAPIC,
						KVM_GET_VCPU_EVENTS,
						KVM_SET_VCPU_EVENTS,
						KVM_GET_MP_STATE,
						KVM_SET_MP_STATE,
						KVM_GET_XSAVE,
						KVM_SET_XSAVE,
						KVM_GET_XCRS,
						KVM_SET_XCRS,
						KVM_SET_CPUID2,
						KVM_KVMCLOCK_CTRL,
						KVM_IRQ_LINE,
						KVM_IRQ_LINE_STATUS,
						KVM_SIGNAL_MSI,
						KVM_SET_SIGNAL_MASK,
						KVM_GET_CLOCK};

const struct vmm_syscall_list *vmm_syscalls_common(void)
{
	return &common_list;
}

const struct vmm_syscall_list *vmm_syscalls_role(enum vmm_role role)
{
	if ((unsigned)role >= VMM_ROLE_COUNT)
		return NULL;
	return &role_lists[role];
}

const unsigned long *vmm_kvm_vcpu_ioctls(size_t *n)
{
	*n = NELEM(kvm_vcpu_ioctls);
	return kvm_vcpu_ioctls;
}

const char *vmm_role_name(enum vmm_role role)
{
	if ((unsigned)role >= VMM_ROLE_COUNT)
		return "?";
	return role_names[role];
}
