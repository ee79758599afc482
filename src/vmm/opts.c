/* sbx-vmm's argument parsing (see opts.h). */
#include "vmm/opts.h"

#include "common/err.h"
#include "common/owner.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	fputs("usage: sbx-vmm --kernel FILE [--initrd FILE] [--cmdline STR] [--mem MIB] "
	      "[--cpus N]\n"
	      "               [--console FILE|-] [--timeout-ms N] [--stats]\n"
	      "               [--vsock-uds PATH [--cid N]] [--rng] [--virtio-cmdline]\n"
	      "               [--owner UID:GID] [--fs-path DIR [--fs-tag TAG] [--fs-ro] "
	      "[--fs-file NAME]]...\n"
	      "               [--blk IMAGE [--blk-ro] [--blk-serial S]]... [--ready-fd FD]\n"
	      "               [--no-jail]\n"
	      "Boots FILE (a PVH ELF or a bzImage) on KVM; the serial console goes to --console\n"
	      "(default stdout). Devices are virtio-mmio, described in the ACPI DSDT (and with\n"
	      "--virtio-cmdline also as virtio_mmio.device= on the kernel command line): a vsock\n"
	      "whose host side is PATH (host->guest: connect, send \"CONNECT <port>\\n\"; "
	      "guest->host\n"
	      "port P: PATH_P), one virtio-fs per --fs-path (the --fs-* flags after it belong to\n"
	      "it), one virtio-blk per --blk, a virtio-rng. --ready-fd: \"READY\\n\" is written\n"
	      "there once the guest runs. sbx-vmm jails itself once its files are open: new\n"
	      "mount/pid/ipc/uts/net namespaces, no capabilities, a seccomp filter per thread\n"
	      "(--no-jail: none of that, for debugging). Exit status: the guest's debug-exit\n"
	      "value (port 0x501), 0 on poweroff/reset, 124 on --timeout-ms, 1 on errors.\n",
	      stdout);
}

static unsigned long num_arg(const char *name, const char *s, unsigned long lo, unsigned long hi,
			     const char *hint)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		sbx_die("%s %s: not a number (%s)", name, s, hint);
	if (v < lo || v > hi)
		sbx_die("%s %s: out of range %lu..%lu (%s)", name, s, lo, hi, hint);
	return v;
}

/* The share the --fs-* flag @flag belongs to: the last --fs-path. */
static struct vmm_share *cur_share(struct vmm_opts *o, const char *flag)
{
	if (o->nshares == 0)
		sbx_die("%s: give it after the --fs-path it belongs to (see sbx-vmm --help)", flag);
	return &o->share[o->nshares - 1];
}

/* The disk the --blk-* flag @flag belongs to: the last --blk. */
static struct vmm_disk *cur_disk(struct vmm_opts *o, const char *flag)
{
	if (o->ndisks == 0)
		sbx_die("%s: give it after the --blk it belongs to (see sbx-vmm --help)", flag);
	return &o->disk[o->ndisks - 1];
}

static void parse_device_opt(struct vmm_opts *o, int ch)
{
	switch (ch) {
	case 'V':
		o->vsock_uds = optarg;
		break;
	case 'C':
		o->cid = num_arg("--cid", optarg, 3, 0xfffffffeUL, "give a guest CID >= 3");
		break;
	case 'U':
		if (owner_parse(optarg, &o->owner_uid, &o->owner_gid) < 0)
			sbx_die("--owner %s: must be UID:GID, e.g. 1000:1000", optarg);
		o->owner_set = true;
		break;
	case 'P':
		if (o->nshares >= VMM_SHARES_MAX)
			sbx_die("--fs-path %s: at most %d shares (give fewer)", optarg,
				VMM_SHARES_MAX);
		o->share[o->nshares++] = (struct vmm_share){.path = optarg};
		break;
	case 'T':
		cur_share(o, "--fs-tag")->tag = optarg;
		break;
	case 'R':
		cur_share(o, "--fs-ro")->readonly = true;
		break;
	case 'F':
		cur_share(o, "--fs-file")->only_name = optarg;
		break;
	case 'B':
		if (o->ndisks >= VMM_DISKS_MAX)
			sbx_die("--blk %s: at most %d disks (give fewer)", optarg, VMM_DISKS_MAX);
		o->disk[o->ndisks++] = (struct vmm_disk){.path = optarg};
		break;
	case 'b':
		cur_disk(o, "--blk-ro")->readonly = true;
		break;
	case 'S':
		if (strlen(optarg) > 20)
			sbx_die("--blk-serial %s: longer than 20 bytes (shorten it)", optarg);
		cur_disk(o, "--blk-serial")->serial = optarg;
		break;
	case 'J':
		o->no_jail = true;
		break;
	case 'y':
		o->ready_fd = (int)num_arg("--ready-fd", optarg, 0, 1048576, "give an open fd");
		break;
	case 'r':
		o->rng = true;
		break;
	case 'v':
		o->virtio_cmdline = true;
		break;
	default:
		sbx_die("bad option (see sbx-vmm --help)");
	}
}

void vmm_opts_parse(int argc, char **argv, struct vmm_opts *o)
{
	static const struct option lo[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'n'},
	    {"console", required_argument, NULL, 'o'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"stats", no_argument, NULL, 's'},
	    {"vsock-uds", required_argument, NULL, 'V'},
	    {"cid", required_argument, NULL, 'C'},
	    {"owner", required_argument, NULL, 'U'},
	    {"fs-path", required_argument, NULL, 'P'},
	    {"fs-tag", required_argument, NULL, 'T'},
	    {"fs-ro", no_argument, NULL, 'R'},
	    {"fs-file", required_argument, NULL, 'F'},
	    {"blk", required_argument, NULL, 'B'},
	    {"blk-ro", no_argument, NULL, 'b'},
	    {"blk-serial", required_argument, NULL, 'S'},
	    {"ready-fd", required_argument, NULL, 'y'},
	    {"no-jail", no_argument, NULL, 'J'},
	    {"rng", no_argument, NULL, 'r'},
	    {"virtio-cmdline", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct vmm_opts){
	    .cmdline = "", .console = "-", .mem_mib = MEM_DEFAULT_MIB, .cpus = 1, .ready_fd = -1};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'c':
			o->cmdline = optarg;
			break;
		case 'm':
			o->mem_mib =
			    num_arg("--mem", optarg, 0, VMM_RAM_MAX >> 20, "give MiB of guest RAM");
			if (o->mem_mib < MEM_MIN_MIB)
				sbx_die("--mem %s: memory too small, need at least %d MiB (raise "
					"--mem)",
					optarg, MEM_MIN_MIB);
			break;
		case 'n':
			o->cpus = num_arg("--cpus", optarg, 1, VMM_VCPU_MAX, "give a vCPU count");
			break;
		case 'o':
			o->console = optarg;
			break;
		case 't':
			o->timeout_ms = num_arg("--timeout-ms", optarg, 0, 86400000UL,
						"give milliseconds, 0 for none");
			break;
		case 's':
			o->stats = true;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			parse_device_opt(o, ch);
		}
	}
	if (optind < argc)
		sbx_die("%s: unexpected argument (see sbx-vmm --help)", argv[optind]);
	if (!o->kernel)
		sbx_die("--kernel: missing (give the guest kernel: sbx-vmm --kernel FILE)");
	for (unsigned i = 0; i < o->nshares; i++)
		if (!o->share[i].tag)
			sbx_die("--fs-path %s: no --fs-tag after it (give the mount tag the guest "
				"uses)",
				o->share[i].path);
	if (o->cid && !o->vsock_uds)
		sbx_die("--cid: give --vsock-uds PATH too (the vsock device's host side)");
}
