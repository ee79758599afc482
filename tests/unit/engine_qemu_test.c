/* Unit tests for the qemu engine's command line (tcg and kvm), the accelerator probe's
 * cpuinfo parsing, and the process/log helpers, without starting QEMU. */
#include "engine/accel.h"
#include "engine/engine.h"
#include "t.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *cpuinfo_amd = "processor\t: 0\n"
				 "vendor_id\t: AuthenticAMD\n"
				 "model name\t: AMD EPYC 7B13\n"
				 "cpu MHz\t\t: 2449.998\n"
				 "flags\t\t: fpu vme de pse tsc msr pae svm extapic cr8_legacy\n"
				 "\n"
				 "processor\t: 1\n"
				 "cpu MHz\t\t: 1000.000\n";

static const char *cpuinfo_pvm = "processor\t: 0\n"
				 "cpu MHz\t\t: 2100.000\n"
				 "flags\t\t: fpu vme hypervisor svm_lock vmxon lahf_lm\n";

static void spec_fill(struct engine_vm_spec *s, enum engine_accel a)
{
	memset(s, 0, sizeof(*s));
	s->name = "shell-proj";
	s->kernel = "/c/kernel/vmlinux";
	s->initramfs = "/c/initramfs/x.cpio";
	s->rootfs = "/c/templates/shell/rootfs.img";
	s->state_img = "/d/sandboxes/shell-proj/state.img";
	s->vhost_socket = "/r/vm/3f2a9c1b/vhost-vsock.sock";
	s->vsock_uds = "/r/vm/3f2a9c1b/vsock.sock";
	s->console_log = "/d/sandboxes/shell-proj/console.log";
	s->memory_mib = 2048;
	s->cpus = 3;
	s->accel = a;
	s->tsc_khz = 2449998;
	s->now = 1764291723;
}

/* Index of the argument equal to @want after position @from, or -1. */
static int find_arg(const struct engine_argv *a, const char *want)
{
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], want) == 0)
			return i;
	return -1;
}

/* The value following option @opt (first occurrence), or NULL. */
static const char *opt_val(const struct engine_argv *a, const char *opt)
{
	int i = find_arg(a, opt);
	return (i >= 0 && i + 1 < a->argc) ? a->argv[i + 1] : NULL;
}

static bool has_pair(const struct engine_argv *a, const char *opt, const char *val)
{
	for (int i = 0; i + 1 < a->argc; i++)
		if (strcmp(a->argv[i], opt) == 0 && strcmp(a->argv[i + 1], val) == 0)
			return true;
	return false;
}

TEST(argv_tcg)
{
	struct engine_vm_spec s;
	static struct engine_argv a;
	spec_fill(&s, ENGINE_ACCEL_TCG);
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK_STR(a.argv[0], "qemu-system-x86_64");
	CHECK(a.argv[a.argc] == NULL);
	CHECK_STR(opt_val(&a, "-M"), "microvm,acpi=on");
	CHECK_STR(opt_val(&a, "-accel"), "tcg");
	CHECK(find_arg(&a, "-cpu") < 0);
	CHECK_STR(opt_val(&a, "-m"), "2048");
	CHECK_STR(opt_val(&a, "-smp"), "3");
	CHECK(find_arg(&a, "-nodefaults") > 0);
	CHECK(find_arg(&a, "-no-user-config") > 0);
	CHECK(find_arg(&a, "-nographic") > 0);
	CHECK(find_arg(&a, "-no-reboot") > 0);
	CHECK_STR(opt_val(&a, "-serial"), "file:/d/sandboxes/shell-proj/console.log");
	CHECK_STR(opt_val(&a, "-kernel"), "/c/kernel/vmlinux");
	CHECK_STR(opt_val(&a, "-initrd"), "/c/initramfs/x.cpio");
	CHECK_STR(opt_val(&a, "-append"),
		  "console=ttyS0 reboot=t panic=-1 pci=off quiet sbx.name=shell-proj "
		  "sbx.time=1764291723 tsc_early_khz=2449998 lpj=9799992 tsc=reliable");
	CHECK(has_pair(&a, "-global", "virtio-mmio.force-legacy=false"));
	CHECK(has_pair(&a, "-object", "memory-backend-memfd,id=mem,size=2048M,share=on"));
	CHECK(has_pair(&a, "-machine", "memory-backend=mem"));
	CHECK(
	    has_pair(&a, "-drive",
		     "file=/c/templates/shell/rootfs.img,if=none,id=base,format=raw,readonly=on"));
	CHECK(has_pair(&a, "-device", "virtio-blk-device,drive=base,serial=sbx-base"));
	CHECK(has_pair(&a, "-drive",
		       "file=/d/sandboxes/shell-proj/state.img,if=none,id=state,format=raw,"
		       "discard=unmap"));
	CHECK(has_pair(&a, "-device", "virtio-blk-device,drive=state,serial=sbx-state"));
	CHECK(has_pair(&a, "-chardev", "socket,id=vsock0,path=/r/vm/3f2a9c1b/vhost-vsock.sock"));
	CHECK(has_pair(&a, "-device", "vhost-user-vsock-device,chardev=vsock0"));
}

TEST(argv_kvm)
{
	struct engine_vm_spec s;
	static struct engine_argv a;
	spec_fill(&s, ENGINE_ACCEL_KVM);
	s.qemu_bin = "/opt/qemu/bin/qemu-system-x86_64";
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK_STR(a.argv[0], "/opt/qemu/bin/qemu-system-x86_64");
	CHECK_STR(opt_val(&a, "-accel"), "kvm");
	CHECK_STR(opt_val(&a, "-cpu"), "host");
	const char *app = opt_val(&a, "-append");
	CHECK(app && strstr(app, "sbx.name=shell-proj"));
	CHECK(app && !strstr(app, "tsc_early_khz"));
	CHECK(app && !strstr(app, "lpj="));
}

TEST(argv_escapes_commas)
{
	struct engine_vm_spec s;
	static struct engine_argv a;
	spec_fill(&s, ENGINE_ACCEL_TCG);
	s.state_img = "/d/a,b/state.img";
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK(has_pair(&a, "-drive",
		       "file=/d/a,,b/state.img,if=none,id=state,format=raw,discard=unmap"));
	/* unknown TSC: no clock parameters rather than bogus ones */
	s.tsc_khz = 0;
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK(!strstr(opt_val(&a, "-append"), "tsc_early_khz"));
}

TEST(tsc_parse)
{
	CHECK_EQ(accel_tsc_khz_parse(cpuinfo_amd), 2449998);
	CHECK_EQ(accel_tsc_khz_parse(cpuinfo_pvm), 2100000);
	CHECK_EQ(accel_tsc_khz_parse("processor: 0\nflags: fpu\n"), 0);
	CHECK_EQ(accel_tsc_khz_parse("cpu MHz\t\t: bogus\n"), 0);
	CHECK_EQ(accel_tsc_khz_parse("cpu MHz\t\t: -5\n"), 0);
	CHECK_EQ(accel_tsc_khz_parse(""), 0);
	CHECK(accel_tsc_khz() > 0); /* this host has a cpu MHz line */
}

TEST(virt_flags)
{
	CHECK(accel_cpuinfo_has_virt(cpuinfo_amd));
	CHECK(!accel_cpuinfo_has_virt(cpuinfo_pvm)); /* svm_lock / vmxon are not svm / vmx */
	CHECK(accel_cpuinfo_has_virt("flags\t: fpu vmx\n"));
	CHECK(!accel_cpuinfo_has_virt("model name: svm vmx\n"));
	enum engine_accel e;
	CHECK_EQ(accel_parse("kvm", &e), 0);
	CHECK_EQ(e, ENGINE_ACCEL_KVM);
	CHECK_EQ(accel_parse("tcg", &e), 0);
	CHECK_EQ(e, ENGINE_ACCEL_TCG);
	CHECK_EQ(accel_parse("hvf", &e), -1);
	/* The probe never hangs and gives a reason when it picks TCG. */
	char why[128];
	if (accel_probe(why, sizeof(why)) == ENGINE_ACCEL_TCG)
		CHECK(why[0] != '\0');
	CHECK(engine_find("qemu") == &engine_qemu);
	CHECK(engine_find("kvm") == NULL);
}

TEST(proc_helpers)
{
	struct engine_proc p = {.pid = getpid()};
	p.start_time = engine_proc_start_time(p.pid);
	CHECK(p.start_time > 0);
	CHECK(engine_proc_alive(&p));
	struct engine_proc wrong = {.pid = getpid(), .start_time = p.start_time + 1};
	CHECK(!engine_proc_alive(&wrong));

	/* a detached child: its pid and start time are recorded, and it can be stopped */
	char log[] = "/tmp/sbx-engine-test-XXXXXX";
	int fd = mkstemp(log);
	CHECK(fd >= 0);
	close(fd);
	char *argv[] = {"sh", "-c", "echo hello-from-child; exec sleep 30", NULL};
	struct engine_proc c;
	char err[256] = "";
	CHECK_EQ(engine_spawn_detached(argv, log, -1, &c, err, sizeof(err)), 0);
	CHECK(engine_proc_alive(&c));
	CHECK(getsid(c.pid) != getsid(0)); /* own session: outlives us */
	CHECK(getppid() != c.pid);
	char tail[256] = "";
	for (int i = 0; i < 100 && !tail[0]; i++) {
		usleep(20000);
		engine_log_tail(log, 2, tail, sizeof(tail));
	}
	CHECK_STR(tail, "hello-from-child");
	engine_proc_kill(&c, SIGTERM);
	CHECK(engine_proc_wait_exit(&c, 3000));
	CHECK(!engine_proc_alive(&c));

	char *bad[] = {"/nonexistent/prog", NULL};
	CHECK_EQ(engine_spawn_detached(bad, log, -1, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/prog") != NULL);
	unlink(log);
}

TEST(log_tail)
{
	char log[] = "/tmp/sbx-engine-tail-XXXXXX";
	int fd = mkstemp(log);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "one\ntwo\nthree\x1b[0m\nfour\n\n");
	fclose(f);
	char tail[256];
	engine_log_tail(log, 2, tail, sizeof(tail));
	CHECK_STR(tail, "three[0m | four");
	engine_log_tail(log, 10, tail, sizeof(tail));
	CHECK_STR(tail, "one | two | three[0m | four");
	unlink(log);
	engine_log_tail(log, 2, tail, sizeof(tail));
	CHECK_STR(tail, "");
}

int main(void)
{
	RUN(argv_tcg);
	RUN(argv_kvm);
	RUN(argv_escapes_commas);
	RUN(tsc_parse);
	RUN(virt_flags);
	RUN(proc_helpers);
	RUN(log_tail);
	T_EXIT();
}
