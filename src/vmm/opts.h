/* sbx-vmm's command line: what to boot, with which devices. Owns parsing and the one-line
 * errors for bad arguments; knows nothing of KVM. */
#ifndef SBX_VMM_OPTS_H
#define SBX_VMM_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

#define VMM_SHARES_MAX	8
#define VMM_DISKS_MAX	4
#define MEM_MIN_MIB	4
#define MEM_DEFAULT_MIB 128

/**
 * struct vmm_share - one virtio-fs share (--fs-path and the --fs-* flags after it).
 * @path: host directory; @tag: mount tag (--fs-tag, required);
 * @readonly: --fs-ro; @only_name: --fs-file (one entry of @path, read-only).
 */
struct vmm_share {
	const char *path;
	const char *tag;
	bool readonly;
	const char *only_name;
};

/**
 * struct vmm_disk - one virtio-blk disk (--blk and the --blk-* flags after it).
 * @path: raw image; @readonly: --blk-ro; @serial: --blk-serial (the guest's
 * /sys/block/vdX/serial; NULL: derived from the file name).
 */
struct vmm_disk {
	const char *path;
	bool readonly;
	const char *serial;
};

/**
 * struct vmm_opts - everything the command line says.
 * @kernel, @initrd, @cmdline: what to boot.
 * @console: file for the serial console, "-" = stdout.
 * @mem_mib, @cpus: guest size.
 * @timeout_ms: watchdog (0: none).
 * @stats: print timings at exit.
 * @vsock_uds: hybrid vsock socket path (NULL: no vsock device); @cid: the guest's CID.
 * @owner_uid, @owner_gid, @owner_set: --owner, for the virtio-fs shares.
 * @nshares, @share: virtio-fs shares; @ndisks, @disk: virtio-blk disks; @rng: a virtio-rng.
 * @virtio_cmdline: also name the devices with virtio_mmio.device= on the kernel command line.
 * @ready_fd: write "READY\n" there (then close it) once the vCPUs run (-1: none).
 * @no_jail: --no-jail: no namespaces, capabilities kept, no seccomp (debugging only).
 */
struct vmm_opts {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *console;
	unsigned long mem_mib;
	unsigned long cpus;
	unsigned long timeout_ms;
	bool stats;
	const char *vsock_uds;
	unsigned long cid;
	uid_t owner_uid;
	gid_t owner_gid;
	bool owner_set;
	unsigned nshares;
	struct vmm_share share[VMM_SHARES_MAX];
	unsigned ndisks;
	struct vmm_disk disk[VMM_DISKS_MAX];
	bool rng;
	bool virtio_cmdline;
	int ready_fd;
	bool no_jail;
};

/**
 * vmm_opts_parse() - parse argv into @o; on bad input print one line naming the argument and
 * what to do, and exit 1 (--help: usage, exit 0).
 * @argc, @argv: main's; @o: filled in.
 */
void vmm_opts_parse(int argc, char **argv, struct vmm_opts *o);

#endif
