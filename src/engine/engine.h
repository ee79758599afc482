/* The engine interface: how sbxd starts, stops and watches one VM, whatever runs it
 * (QEMU microvm + sbx-vhost, or sbx-vmm). An engine turns a vm spec into detached processes
 * (pid + start time) that outlive sbxd. It never touches the store or the HTTP layer. */
#ifndef SBX_ENGINE_ENGINE_H
#define SBX_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum engine_accel {
	ENGINE_ACCEL_TCG = 0,
	ENGINE_ACCEL_KVM = 1,
};

#define ENGINE_SHARES_MAX  16	   /* host directories shared into one VM */
#define ENGINE_CMDLINE_MAX 2048	   /* the x86 kernel command line limit, NUL included */
#define ENGINE_SHARE_TAG   "sbxfs" /* share i is mounted by tag "sbxfs<i>" */

/* One host directory, or one regular file (read-only), shared into the guest at the same
 * absolute path (virtio-fs). */
struct engine_share {
	const char *path;      /* where the guest mounts it: the host path the user named */
	bool readonly;	       /* enforced by the device (EROFS), also mounted ro in the guest */
	bool file;	       /* single regular file (needs @readonly): sbx-vhost serves its parent
				  directory showing only that entry; the guest bind-mounts it */
	const char *host_path; /* what sbx-vhost serves: @path resolved (NULL: @path) */
};

/* Everything an engine needs to boot one sandbox; all paths absolute. */
struct engine_vm_spec {
	const char *name;	  /* sandbox name (guest hostname, sbx.name=) */
	const char *kernel;	  /* vmlinux (PVH) */
	const char *initramfs;	  /* cpio with sbx-init */
	const char *rootfs;	  /* template root image, attached read-only */
	const char *state_img;	  /* sandbox's ext4 state disk, read-write */
	const char *vhost_socket; /* vhost-user socket between engine and sbx-vhost */
	const char *vsock_uds;	  /* hybrid vsock socket sbx-vhost (or sbx-vmm) serves */
	const char *console_log;  /* guest serial output */
	const char *engine_log;	  /* the VMM's own stdout/stderr */
	const char *vhost_log;	  /* sbx-vhost's log */
	const char *vhost_bin;	  /* path of sbx-vhost */
	const char *qemu_bin;	  /* NULL: "qemu-system-x86_64" from PATH */
	const char *vmm_bin;	  /* path of sbx-vmm (kvm engine) */
	const char *run_dir; /* per-boot socket directory: share i serves <run_dir>/fs<i>.sock */
	const struct engine_share *shares; /* the workspace first; none for older sandboxes */
	unsigned n_shares;
	uid_t owner_uid; /* host user the share files belong to (sbxd's user) */
	gid_t owner_gid;
	unsigned memory_mib;
	unsigned cpus;
	enum engine_accel accel; /* qemu's -accel; the kvm engine is always KVM */
	long tsc_khz;		 /* host TSC kHz (TCG clock parameters); 0: unknown */
	time_t now;		 /* host wall clock passed as sbx.time= */
};

/* One process an engine started, identified by pid and /proc start time (clock ticks
 * since boot) so a recycled pid is never mistaken for ours. */
struct engine_proc {
	pid_t pid;
	unsigned long long start_time;
};

/* The processes of one running VM. The kvm engine runs one process: both are sbx-vmm. */
struct engine_run {
	struct engine_proc vmm;	  /* qemu-system-x86_64, or sbx-vmm */
	struct engine_proc vhost; /* sbx-vhost (vsock device), or sbx-vmm again */
};

#define ENGINE_ARGV_MAX (64 + 8 * ENGINE_SHARES_MAX) /* sbx-vhost: up to 9 per share */

/* A built command line: argv points into buf. */
struct engine_argv {
	char *argv[ENGINE_ARGV_MAX];
	int argc;
	char buf[32768];
	size_t used;
};

struct engine_ops {
	const char *name;
	/* Start the VM's processes detached; on failure nothing is left running and @err
	 * holds one line (with the tail of the relevant log). Return 0 or -1. */
	int (*start)(const struct engine_vm_spec *spec, struct engine_run *run, char *err,
		     size_t errlen);
	/* Stop the processes of @run (after the guest was asked to power off): wait up to
	 * @grace_ms for the VMM to exit, then SIGTERM, then SIGKILL; the partner follows. */
	void (*stop)(struct engine_run *run, int grace_ms);
};

/* The QEMU microvm engine (src/engine/qemu.c). */
extern const struct engine_ops engine_qemu;

/* The sbx-vmm engine (src/engine/kvm.c): one process, always KVM. */
extern const struct engine_ops engine_kvm;

#define KVM_ENGINE_SHARES_MAX  16     /* sbx-vmm's VMM_SHARES_MAX */
#define KVM_ENGINE_MEM_MAX_MIB 262144 /* sbx-vmm's VMM_RAM_MAX */
#define KVM_ENGINE_CPUS_MAX    64     /* sbx-vmm's VMM_VCPU_MAX */

/**
 * engine_find() - engine ops by name ("qemu", "kvm"). Return: ops or NULL if unknown.
 * Whether this host can run the kvm engine is the caller's question (accel_probe()).
 */
const struct engine_ops *engine_find(const char *name);

/**
 * qemu_build_argv() - the QEMU command line for @spec into @out (no process started).
 * Return: 0, or -1 if it does not fit.
 */
int qemu_build_argv(const struct engine_vm_spec *spec, struct engine_argv *out);

/**
 * kvm_build_argv() - the sbx-vmm command line for @spec into @out (no process started):
 * --kernel, --initrd, --cmdline (engine_guest_cmdline() of @spec with accel KVM: no TCG clock
 * parameters), --mem, --cpus, --console, the template disk "--blk ROOTFS --blk-ro --blk-serial
 * sbx-base" and the state disk "--blk STATE --blk-serial sbx-state", "--vsock-uds UDS --cid 3",
 * "--ready-fd 3", and with shares "--owner UID:GID" plus one "--fs-path PATH --fs-tag
 * sbxfs<i> [--fs-ro]" group per share (a file share: its parent directory, "--fs-ro --fs-file
 * NAME"). Return: 0, or -1 if it does not fit, has more than KVM_ENGINE_SHARES_MAX shares or a
 * file share is not read-only or has no parent directory.
 */
int kvm_build_argv(const struct engine_vm_spec *spec, struct engine_argv *out);

/**
 * vhost_build_argv() - the sbx-vhost command line for @spec into @out: the vsock device, and
 * with shares "--owner UID:GID" plus one "--fs-socket <run_dir>/fs<i>.sock --fs-tag sbxfs<i>
 * --fs-path PATH [--fs-ro]" group per share; a file share gives its parent directory as
 * --fs-path and "--fs-ro --fs-file NAME". Return: 0, or -1 if it does not fit (or a file share
 * is not read-only or has no parent directory).
 */
int vhost_build_argv(const struct engine_vm_spec *spec, struct engine_argv *out);

/**
 * engine_shares_cmdline() - the guest's share list as the kernel parameter
 * "sbx.shares=sbxfs0:<path>:rw;sbxfs1:<path>:ro;sbxfs2:<file>:rofile" into @out (@n == 0: ""
 * is written; "rofile": a read-only single file, see struct engine_share). Paths are
 * percent-encoded: every byte outside [A-Za-z0-9/._-] becomes %XX, so the value has no space,
 * ':' or ';'. sbx-init (src/guest/boot.c) decodes it.
 * Return: the length written, or -1 if it does not fit in @outlen.
 */
int engine_shares_cmdline(const struct engine_share *shares, unsigned n, char *out, size_t outlen);

/**
 * engine_cmdline_room() - bytes of the kernel command line left for sbx.shares= after what
 * engine_guest_cmdline() always puts there for @spec (name, clock, TCG parameters).
 */
size_t engine_cmdline_room(const struct engine_vm_spec *spec);

/**
 * engine_guest_cmdline() - the guest kernel command line for @spec into @out, the same for
 * every engine: "console=ttyS0 reboot=t panic=-1 pci=off quiet sbx.name=NAME sbx.time=NOW",
 * then (accel TCG with a known TSC) " tsc_early_khz=K lpj=4K tsc=reliable", then (shares)
 * " sbx.shares=..." (engine_shares_cmdline()).
 * Return: its length, or -1 if it does not fit in @outlen (ENGINE_CMDLINE_MAX).
 */
int engine_guest_cmdline(const struct engine_vm_spec *spec, char *out, size_t outlen);

/**
 * engine_arg_add() - append one printf-formatted argument to @out (argv stays
 * NULL-terminated). Return: 0, or -1 if @out is full.
 */
int engine_arg_add(struct engine_argv *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * engine_proc_start_time() - start time of @pid from /proc/<pid>/stat (field 22).
 * Return: the start time, or 0 if the process does not exist (or is a zombie).
 */
unsigned long long engine_proc_start_time(pid_t pid);

/**
 * engine_proc_alive() - true if @p's pid exists, is not a zombie and has the recorded
 * start time.
 */
bool engine_proc_alive(const struct engine_proc *p);

/**
 * engine_proc_kill() - send @sig to @p if it is still the process we started.
 */
void engine_proc_kill(const struct engine_proc *p, int sig);

/**
 * engine_proc_wait_exit() - poll until @p is gone or @timeout_ms passes.
 * Return: true if it exited.
 */
bool engine_proc_wait_exit(const struct engine_proc *p, int timeout_ms);

/**
 * engine_spawn_detached() - run @argv as a daemon: double fork, setsid, stdin from
 * /dev/null, stdout+stderr appended to @log, every fd closed except @keep_fd, which is
 * moved to fd 3 (-1: none). The child is not ours to reap (init adopts it).
 * @out: pid + start time of the started program.
 * Return: 0, or -1 with @err filled (fork/exec failure).
 */
int engine_spawn_detached(char *const argv[], const char *log, int keep_fd, struct engine_proc *out,
			  char *err, size_t errlen);

/**
 * engine_proc_stop() - end @p: wait up to @grace_ms for it to exit by itself, then SIGTERM
 * and wait 3 s, then SIGKILL and wait 2 s.
 */
void engine_proc_stop(const struct engine_proc *p, int grace_ms);

/**
 * engine_wait_ready() - wait up to @timeout_ms for "READY\n" on @fd (a pipe the started
 * program writes to). @timed_out: set true if the time ran out.
 * Return: 0, or -1 (EOF, garbage or timeout).
 */
int engine_wait_ready(int fd, int timeout_ms, bool *timed_out);

/**
 * engine_log_tail() - the last @lines lines of @path, joined with " | " into @out
 * (control characters dropped). Empty if the file is missing or empty.
 */
void engine_log_tail(const char *path, int lines, char *out, size_t outlen);

#endif
