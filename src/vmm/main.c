/* sbx-vmm: boot a kernel (a PVH ELF or a bzImage) on KVM with ACPI tables, a serial console,
 * ACPI poweroff/reset ports, a debug-exit port and virtio-mmio devices (vsock, virtio-fs, blk,
 * rng), one thread per vCPU plus the device thread, jailed (jail.c, seccomp.c) once its files
 * are open, and exit with the guest's status. Owns the wiring of kvm.c, loader.c, vcpu*.c,
 * devices.c and the device code, the watchdog and the wait for the end; holds no device or
 * KVM logic of its own. */
#include "common/err.h"
#include "virtio/blk.h"
#include "virtio/fs/fs.h"
#include "virtio/rng.h"
#include "virtio/vsock/vsock.h"
#include "vmm/bus.h"
#include "vmm/debug_exit.h"
#include "vmm/devices.h"
#include "vmm/jail.h"
#include "vmm/kvm.h"
#include "vmm/loader.h"
#include "vmm/opts.h"
#include "vmm/pm.h"
#include "vmm/seccomp.h"
#include "vmm/serial.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define EXIT_TIMEOUT  124
#define CMDLINE_BYTES 4096

/* A file mapped read-only (len 0: addr NULL). */
struct file_map {
	const uint8_t *addr;
	size_t len;
};

/* The device instances behind the slots (owned here, freed after the device thread ends). */
struct vm_devices {
	struct vsock_dev *vsock;
	struct fs_dev *fs[VMM_SHARES_MAX];
	struct virtio_blk blk[VMM_DISKS_MAX];
	struct virtio_rng rng;
};

static char watchdog_msg[256];
static bool jailed;

/* Each thread's seccomp filter (jailed runs only); a failure ends the process. */
static void install_role(enum vmm_role role)
{
	char err[256];

	if (jailed && vmm_seccomp_install(role, 0, err, sizeof(err)) < 0)
		sbx_die("%s", err);
}

static int vcpu_thread_init(struct vmm_vcpu *c)
{
	(void)c;
	install_role(VMM_ROLE_VCPU);
	return 0;
}

static int device_thread_init(void)
{
	install_role(VMM_ROLE_DEVICE);
	return 0;
}

static void fs_thread_init(void)
{
	install_role(VMM_ROLE_FS);
}
static size_t watchdog_len;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

/* Drop a mapping from map_file() once the guest has its copy (the pages would stay in our RSS). */
static void unmap_file(struct file_map *m)
{
	if (m->addr)
		munmap((void *)m->addr, m->len);
	*m = (struct file_map){NULL, 0};
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

/* Create the devices that need no thread of their own and put each in a slot: vsock, the
 * disks (in --blk order: the guest's vda, vdb, ...), rng. */
static void add_devices(const struct vmm_opts *o, struct vmm_devices *d, struct vm_devices *vd,
			struct vmm_bus *mmio)
{
	char err[512];

	if (o->vsock_uds) {
		struct vsock_dev_config cfg = {
		    .guest_cid = o->cid, .uds_path = o->vsock_uds, .loop = d->loop};

		vd->vsock = vsock_dev_new(&cfg);
		if (!vd->vsock)
			sbx_die("--vsock-uds %s: cannot create the vsock device (check the path "
				"and --cid)",
				o->vsock_uds);
		if (vsock_dev_listen(vd->vsock) < 0)
			sbx_die("--vsock-uds %s: cannot listen: %s (check the directory exists "
				"and is writable)",
				o->vsock_uds, strerror(errno));
		if (vmm_devices_add(d, vsock_dev_virtio(vd->vsock), "vsock", mmio, err,
				    sizeof(err)) < 0)
			sbx_die("%s", err);
	}
	for (unsigned i = 0; i < o->ndisks; i++) {
		const struct vmm_disk *dk = &o->disk[i];
		struct virtio_blk *b = &vd->blk[i];
		char name[40];

		if (blk_open(b, dk->path, dk->readonly, err, sizeof(err)) < 0)
			sbx_die("--blk %s", err);
		if (dk->serial) {
			memset(b->serial, 0, sizeof(b->serial));
			memcpy(b->serial, dk->serial, strnlen(dk->serial, sizeof(b->serial)));
		}
		snprintf(name, sizeof(name), "blk%u", i);
		if (vmm_devices_add(d, &b->dev, name, mmio, err, sizeof(err)) < 0)
			sbx_die("%s", err);
	}
	if (o->rng) {
		rng_init(&vd->rng);
		if (vmm_devices_add(d, &vd->rng.dev, "rng", mmio, err, sizeof(err)) < 0)
			sbx_die("%s", err);
	}
}

/* The virtio-fs shares: after the jail is locked, since each starts worker threads (which
 * load the fs filter) and the jail needs a single-threaded process. */
static void add_shares(const struct vmm_opts *o, struct vmm_devices *d, struct vm_devices *vd,
		       struct vmm_bus *mmio)
{
	char err[512];

	for (unsigned i = 0; i < o->nshares; i++) {
		const struct vmm_share *sh = &o->share[i];
		struct fs_share_config cfg = {
		    .root = sh->path,
		    .tag = sh->tag,
		    .readonly = sh->readonly,
		    .only_name = sh->only_name,
		    .owner_uid = o->owner_set ? o->owner_uid : getuid(),
		    .owner_gid = o->owner_set ? o->owner_gid : getgid(),
		    .loop = d->loop,
		    .thread_init = fs_thread_init,
		};
		char name[40];

		vd->fs[i] = fs_dev_new(&cfg); /* prints its own one-line error */
		if (!vd->fs[i])
			exit(1);
		snprintf(name, sizeof(name), "fs:%s", sh->tag);
		if (vmm_devices_add(d, fs_dev_virtio(vd->fs[i]), name, mmio, err, sizeof(err)) < 0)
			sbx_die("%s", err);
	}
}

static void free_devices(const struct vmm_opts *o, struct vm_devices *vd)
{
	for (unsigned i = 0; i < o->ndisks; i++)
		blk_close(&vd->blk[i]);
	for (unsigned i = 0; i < o->nshares; i++)
		fs_dev_free(vd->fs[i]);
	if (vd->vsock)
		vsock_dev_free(vd->vsock);
}

/* The kernel command line: the user's, plus the virtio_mmio.device= words if asked. */
static const char *full_cmdline(const struct vmm_opts *o, const struct vmm_devices *d, char *buf,
				size_t len)
{
	char words[1024];

	if (!o->virtio_cmdline || d->n == 0)
		return o->cmdline;
	if (vmm_devices_cmdline(d, words, sizeof(words)) < 0 ||
	    snprintf(buf, len, "%s%s", o->cmdline, words) >= (int)len)
		sbx_die("--cmdline: too long with the virtio_mmio.device= words (shorten it)");
	return buf;
}

/* Block until the VM stops or a termination signal comes (then stop it with status 0). */
static void wait_for_stop(struct vmm_stop *stop, int sig_fd)
{
	struct pollfd p[2] = {{.fd = stop->wake_fd, .events = POLLIN},
			      {.fd = sig_fd, .events = POLLIN}};
	struct signalfd_siginfo si;

	while (!vmm_stopped(stop)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			sbx_die("poll: %s (report a bug)", strerror(errno));
		if (p[1].revents & POLLIN && read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			vmm_stop_set(stop, 0, "stopped by signal %u", si.ssi_signo);
	}
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	static struct vmm_vcpu cpus[VMM_VCPU_MAX];
	static struct vmm_devices devs;
	static struct vm_devices vd;
	static char cmdline[CMDLINE_BYTES];
	struct vmm_opts o;
	struct file_map kernel, initrd = {NULL, 0};
	struct loader_kernel kern;
	struct vmm_vm vm;
	struct vmm_bus pio = {0}, mmio = {0};
	struct vmm_stop stop;
	struct serial_8250 com1;
	pthread_mutex_t com1_lock = PTHREAD_MUTEX_INITIALIZER;
	struct pm_regs pm;
	struct acpi_config acpi = {0};
	struct acpi_layout acpi_at;
	sigset_t term;
	int sig_fd;
	char err[512];
	uint64_t ram;

	sbx_prog = "sbx-vmm";
	vmm_opts_parse(argc, argv, &o);
	/* Into a new pid namespace before any KVM object exists (KVM serves only the process
	 * that made the VM); this process stays outside as the jail's supervisor. */
	if (!o.no_jail && vmm_jail_fork(NULL, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	signal(SIGPIPE, SIG_IGN);
	/* Termination signals go to main's signalfd only: every thread inherits the mask. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	sig_fd = signalfd(-1, &term, SFD_CLOEXEC);
	vmm_stop_init(&stop, eventfd(0, EFD_CLOEXEC));
	if (sig_fd < 0 || stop.wake_fd < 0)
		sbx_die("signalfd/eventfd: %s (raise the open-file limit)", strerror(errno));
	ram = (uint64_t)o.mem_mib << 20;
	kernel = map_file("--kernel", o.kernel);
	/* the kernel and its boot data go below the hole: only low RAM counts for them */
	if (loader_parse(kernel.addr, kernel.len, ram < VMM_LOW_RAM_MAX ? ram : VMM_LOW_RAM_MAX,
			 &kern, err, sizeof(err)) < 0)
		sbx_die("--kernel %s: %s", o.kernel, err);
	if (o.initrd)
		initrd = map_file("--initrd", o.initrd);
	serial_init(&com1, console_fd(o.console));
	watchdog_arm(o.timeout_ms);
	if (vmm_vm_create(&vm, ram, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	if (vmm_devices_init(&devs, &vm, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	add_devices(&o, &devs, &vd, &mmio);
	for (unsigned i = 0; i < o.cpus; i++)
		if (vmm_vcpu_create(&vm, i, (unsigned)o.cpus, &cpus[i], err, sizeof(err)) < 0)
			sbx_die("%s", err);
	/* Everything is open (the shares' directories are opened below, by path, which the
	 * jail keeps visible): no more namespaces, capabilities or privileges from here. */
	if (!o.no_jail) {
		if (o.nshares)
			fs_raise_nofile(); /* while CAP_SYS_RESOURCE still lets it pass the hard
					      limit */
		if (vmm_jail_lock(NULL, err, sizeof(err)) < 0)
			sbx_die("%s", err);
		jailed = true;
	}
	add_shares(&o, &devs, &vd, &mmio);
	if (loader_setup(&vm.mem, &kern, kernel.addr, kernel.len, initrd.addr, initrd.len,
			 full_cmdline(&o, &devs, cmdline, sizeof(cmdline)), err, sizeof(err)) < 0)
		sbx_die("%s", err);
	unmap_file(&kernel); /* copied into guest RAM: no need to keep them resident */
	unmap_file(&initrd);
	/* No GED power button (ged_base 0), no RTC; IRQ0 stays on GSI 0 as KVM's default
	 * routing wires it. */
	acpi.ncpus = (unsigned)o.cpus;
	acpi.com1 = true; /* PNP0501: Linux gives ttyS0 its IRQ 4 only through this */
	vmm_devices_acpi(&devs, &acpi);
	pm_acpi_regs(&acpi);
	if (loader_acpi(&vm.mem, &kern, &acpi, &acpi_at, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	if (loader_enter(&cpus[0], &vm.mem, &kern, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	serial_set_irq(&com1, SERIAL_COM1_IRQ, vmm_vm_irq_line, &vm);
	vmm_bus_add_locked(&pio, SERIAL_COM1_BASE, SERIAL_NREGS, serial_io, &com1, &com1_lock);
	vmm_bus_add(&pio, DEBUG_EXIT_PORT, 1, debug_exit_io, &stop);
	pm_init(&pm, &stop);
	vmm_bus_add(&pio, PM_SLEEP_CTL_PORT, PM_SLEEP_NPORTS, pm_sleep_io, &pm);
	vmm_bus_add(&pio, PM_RESET_PORT, 1, pm_reset_io, &pm);
	devs.thread_init = device_thread_init;
	for (unsigned i = 0; i < o.cpus; i++)
		cpus[i].thread_init = vcpu_thread_init;
	if (vmm_devices_start(&devs, err, sizeof(err)) < 0)
		sbx_die("%s", err);
	if (vmm_vcpus_start(cpus, (unsigned)o.cpus, &pio, &mmio, &stop, err, sizeof(err)) < 0)
		vmm_stop_set(&stop, 1, "%s", err);
	if (o.ready_fd >= 0) {
		if (write(o.ready_fd, "READY\n", 6) != 6)
			sbx_err("--ready-fd %d: %s (the starter gets no READY)", o.ready_fd,
				strerror(errno));
		close(o.ready_fd);
	}
	install_role(VMM_ROLE_CONTROL); /* after the last thread: filters stack */
	wait_for_stop(&stop, sig_fd);
	vmm_vcpus_stop(cpus, (unsigned)o.cpus);
	vmm_devices_stop(&devs);
	free_devices(&o, &vd);
	vmm_devices_destroy(&devs);
	if (stop.why[0])
		sbx_err("%s", stop.why);
	if (o.stats)
		fprintf(stderr,
			"sbx-vmm: stats: first serial byte %.3f ms, exit %.3f ms, %llu bytes, %u "
			"devices, %u ioeventfds, %u irqfds\n",
			com1.first_tx_ns ? (double)(com1.first_tx_ns - t0) / 1e6 : -1.0,
			(double)(now_ns() - t0) / 1e6, (unsigned long long)com1.tx_bytes, devs.n,
			devs.ioeventfds, devs.irqfds);
	for (unsigned i = 0; i < o.cpus; i++)
		vmm_vcpu_destroy(&cpus[i]);
	vmm_vm_destroy(&vm);
	return stop.status;
}
