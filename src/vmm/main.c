/* sbx-vmm: boot a kernel (ELF, PVH entry) on KVM with ACPI tables, a serial console, ACPI
 * poweroff/reset ports and a debug-exit port, and exit with the guest's status. Owns the command
 * line, the watchdog and the wiring of kvm.c, boot.c, vcpu.c and the devices; holds no device or
 * KVM logic of its own. */
#include "common/err.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/debug_exit.h"
#include "vmm/kvm.h"
#include "vmm/pm.h"
#include "vmm/serial.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MEM_MIN_MIB	4
#define MEM_DEFAULT_MIB 128
#define EXIT_TIMEOUT	124

struct opts {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *console;
	unsigned long mem_mib;
	unsigned long cpus;
	unsigned long timeout_ms;
	bool stats;
};

/* A file mapped read-only (len 0: addr NULL). */
struct file_map {
	const uint8_t *addr;
	size_t len;
};

static char watchdog_msg[256];
static size_t watchdog_len;

static void usage(void)
{
	fputs("usage: sbx-vmm --kernel FILE [--initrd FILE] [--cmdline STR] [--mem MIB] "
	      "[--cpus N]\n"
	      "               [--console FILE|-] [--timeout-ms N] [--stats]\n"
	      "Boots FILE (an ELF with a PVH entry) on KVM; the serial console goes to --console\n"
	      "(default stdout). Exit status: the guest's debug-exit value (port 0x501), 0 on\n"
	      "poweroff/reset, 124 on --timeout-ms, 1 on errors.\n",
	      stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

static void parse_opts(int argc, char **argv, struct opts *o)
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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct opts){.cmdline = "", .console = "-", .mem_mib = MEM_DEFAULT_MIB, .cpus = 1};
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
			o->mem_mib = num_arg("--mem", optarg, 0, VMM_RAM_MAX >> 20,
					     "give MiB of guest RAM, below the 3 GiB MMIO hole");
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
			sbx_die("bad option (see sbx-vmm --help)");
		}
	}
	if (optind < argc)
		sbx_die("%s: unexpected argument (see sbx-vmm --help)", argv[optind]);
	if (!o->kernel)
		sbx_die("--kernel: missing (give the guest kernel: sbx-vmm --kernel FILE)");
}

/* Map @path read-only, dying with one line naming @what and the file on failure. */
static struct file_map map_file(const char *what, const char *path)
{
	struct file_map m = {NULL, 0};
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		sbx_die("%s %s: %s (check the path)", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		sbx_die("%s %s: not a regular file (give a file)", what, path);
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			sbx_die("%s %s: mmap: %s (check the file)", what, path, strerror(errno));
		m.addr = p;
		m.len = (size_t)st.st_size;
	}
	close(fd);
	return m;
}

static void on_watchdog(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, watchdog_msg, watchdog_len) < 0) {
		/* nothing more to do */
	}
	_exit(EXIT_TIMEOUT);
}

/* Arm a one-shot SIGALRM that ends the process with 124: a vCPU blocked in KVM_RUN (a guest
 * halted under the in-kernel irqchip, or spinning) cannot hang a run. */
static void watchdog_arm(unsigned long ms)
{
	struct sigaction sa = {0};
	struct itimerval it = {0};

	if (ms == 0)
		return;
	snprintf(watchdog_msg, sizeof(watchdog_msg),
		 "sbx-vmm: guest timed out: no exit within %lu ms (raise --timeout-ms or check "
		 "the guest)\n",
		 ms);
	watchdog_len = strlen(watchdog_msg);
	sa.sa_handler = on_watchdog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static int console_fd(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		sbx_die("--console %s: %s (check the path)", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	static struct vmm_vcpu cpus[VMM_VCPU_MAX];
	struct opts o;
	struct file_map kernel, initrd = {NULL, 0};
	struct boot_plan plan;
	struct boot_info info;
	struct vmm_vm vm;
	struct vmm_bus pio = {0}, mmio = {0};
	struct vmm_stop stop = {0};
	struct serial_8250 com1;
	struct pm_regs pm;
	struct acpi_config acpi = {0};
	struct acpi_layout acpi_at;
	char err[512];
	uint64_t ram;

	sbx_prog = "sbx-vmm";
	parse_opts(argc, argv, &o);
	ram = (uint64_t)o.mem_mib << 20;
	kernel = map_file("--kernel", o.kernel);
	if (boot_elf_parse(kernel.addr, kernel.len, ram, &plan, err, sizeof(err)) < 0)
		sbx_die("--kernel %s: %s", o.kernel, err);
	if (o.initrd)
		initrd = map_file("--initrd", o.initrd);
	serial_init(&com1, console_fd(o.console));
	watchdog_arm(o.timeout_ms);
	if (vmm_vm_create(&vm, ram, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	if (boot_pvh_setup(&vm.mem, &plan, kernel.addr, kernel.len, initrd.addr, initrd.len,
			   o.cmdline, &info, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	/* No virtio-mmio slots yet (acpi.nslots = 0), no GED power button (ged_base 0), no RTC;
	 * IRQ0 stays on GSI 0 as KVM's default routing wires it. */
	acpi.ncpus = (unsigned)o.cpus;
	pm_acpi_regs(&acpi);
	if (boot_acpi_setup(&vm.mem, &acpi, &acpi_at, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	for (unsigned i = 0; i < o.cpus; i++)
		if (vmm_vcpu_create(&vm, i, (unsigned)o.cpus, &cpus[i], err, sizeof(err)) < 0)
			sbx_die("%s", err);
	if (vmm_vcpu_set_pvh(&cpus[0], plan.entry, BOOT_START_INFO_GPA, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	vmm_bus_add(&pio, SERIAL_COM1_BASE, SERIAL_NREGS, serial_io, &com1);
	vmm_bus_add(&pio, DEBUG_EXIT_PORT, 1, debug_exit_io, &stop);
	pm_init(&pm, &stop);
	vmm_bus_add(&pio, PM_SLEEP_CTL_PORT, PM_SLEEP_NPORTS, pm_sleep_io, &pm);
	vmm_bus_add(&pio, PM_RESET_PORT, 1, pm_reset_io, &pm);
	/* Only the boot vCPU runs for now: the others wait for INIT/SIPI, which needs one thread
	 * per vCPU (next slice). */
	vmm_vcpu_run(&cpus[0], &pio, &mmio, &stop);
	if (stop.why[0])
		sbx_err("%s", stop.why);
	if (o.stats)
		fprintf(stderr,
			"sbx-vmm: stats: first serial byte %.3f ms, exit %.3f ms, %llu bytes\n",
			com1.first_tx_ns ? (double)(com1.first_tx_ns - t0) / 1e6 : -1.0,
			(double)(now_ns() - t0) / 1e6, (unsigned long long)com1.tx_bytes);
	for (unsigned i = 0; i < o.cpus; i++)
		vmm_vcpu_destroy(&cpus[i]);
	vmm_vm_destroy(&vm);
	return stop.status;
}
