/* Unit tests for the qemu engine's command line (tcg and kvm), the accelerator probe's
 * cpuinfo parsing, and the process/log helpers, without starting QEMU. */
#include "engine/accel.h"
#include "engine/engine.h"
#include "guest/gi.h"
#include "engine_spec.h"
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
	CHECK_STR(opt_val(&a, "-cpu"), "max"); /* TCG: AVX2 for Bun-built agent CLIs */
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

static const struct engine_share shares3[] = {
    {"/home/me/proj", false, false, NULL},
    {"/home/me/my docs:a;b,c%", true, false, NULL},
    {"/srv/ünï", false, false, NULL},
};

TEST(argv_shares)
{
	struct engine_vm_spec s;
	static struct engine_argv a, v;
	spec_fill(&s, ENGINE_ACCEL_TCG);
	/* no shares: no fs devices, no sbx.shares, no --owner */
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK(find_arg(&a, "-device") >= 0);
	for (int i = 0; i < a.argc; i++)
		CHECK(!strstr(a.argv[i], "vhost-user-fs") && !strstr(a.argv[i], "sbx.shares"));
	s.vhost_bin = "/usr/lib/sbx/sbx-vhost";
	s.vhost_log = "/d/vhost.log";
	CHECK_EQ(vhost_build_argv(&s, &v), 0);
	CHECK(find_arg(&v, "--owner") < 0 && find_arg(&v, "--fs-socket") < 0);
	CHECK_STR(opt_val(&v, "--vsock-socket"), "/r/vm/3f2a9c1b/vhost-vsock.sock");
	CHECK_STR(opt_val(&v, "--ready-fd"), "3");

	/* shares without a run directory cannot be placed */
	s.shares = shares3;
	s.n_shares = 3;
	s.run_dir = NULL;
	CHECK_EQ(qemu_build_argv(&s, &a), -1);
	s.run_dir = "/r/vm/3f2a,9c1b";
	s.owner_uid = 1001;
	s.owner_gid = 1002;
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	CHECK(has_pair(&a, "-chardev", "socket,id=fs0,path=/r/vm/3f2a,,9c1b/fs0.sock"));
	CHECK(
	    has_pair(&a, "-device", "vhost-user-fs-device,chardev=fs0,tag=sbxfs0,queue-size=1024"));
	CHECK(has_pair(&a, "-chardev", "socket,id=fs2,path=/r/vm/3f2a,,9c1b/fs2.sock"));
	CHECK(
	    has_pair(&a, "-device", "vhost-user-fs-device,chardev=fs2,tag=sbxfs2,queue-size=1024"));
	const char *app = opt_val(&a, "-append");
	CHECK(app && strstr(app, " sbx.shares=sbxfs0:/home/me/proj:rw;"
				 "sbxfs1:/home/me/my%20docs%3Aa%3Bb%2Cc%25:ro;"
				 "sbxfs2:/srv/%C3%BCn%C3%AF:rw"));
	CHECK(app && strlen(app) < ENGINE_CMDLINE_MAX);

	CHECK_EQ(vhost_build_argv(&s, &v), 0);
	CHECK_STR(opt_val(&v, "--owner"), "1001:1002");
	CHECK(has_pair(&v, "--fs-socket", "/r/vm/3f2a,9c1b/fs1.sock"));
	int i = find_arg(&v, "/r/vm/3f2a,9c1b/fs1.sock");
	CHECK(i > 0 && i + 5 < v.argc);
	if (i > 0 && i + 5 < v.argc) {
		CHECK_STR(v.argv[i + 1], "--fs-tag");
		CHECK_STR(v.argv[i + 2], "sbxfs1");
		CHECK_STR(v.argv[i + 3], "--fs-path");
		CHECK_STR(v.argv[i + 4], "/home/me/my docs:a;b,c%");
		CHECK_STR(v.argv[i + 5], "--fs-ro");
	}
	i = find_arg(&v, "/r/vm/3f2a,9c1b/fs2.sock");
	CHECK(i > 0 && v.argv[i + 5] == NULL); /* rw: no --fs-ro */
}

/* What the host encodes, sbx-init decodes (src/guest/boot.c). */
TEST(shares_cmdline_roundtrip)
{
	char line[ENGINE_CMDLINE_MAX];
	static struct gi_share g[GI_SHARES_MAX];
	int bad;

	CHECK(engine_shares_cmdline(shares3, 3, line, sizeof(line)) > 0);
	CHECK(strncmp(line, "sbx.shares=", 11) == 0);
	CHECK(!strchr(line, ' '));
	CHECK_EQ(gi_shares_parse(line + 11, g, GI_SHARES_MAX, &bad), 3);
	CHECK_EQ(bad, 0);
	for (int i = 0; i < 3; i++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "sbxfs%d", i);
		CHECK_STR(g[i].tag, tag);
		CHECK_STR(g[i].path, shares3[i].path);
		CHECK_EQ(g[i].readonly, shares3[i].readonly);
	}
	CHECK_EQ(engine_shares_cmdline(shares3, 0, line, sizeof(line)), 0);
	CHECK_STR(line, "");
	CHECK_EQ(engine_shares_cmdline(shares3, 3, line, 40), -1);

	/* malformed entries are skipped and counted, never half-used */
	CHECK_EQ(gi_shares_parse("sbxfs0:/a:rw;:/b:rw;t:/c:rx;t:rel:ro;t:/d%2:rw;t:/e%00:rw;"
				 "t:/f/../g:rw;t:/h/.:ro;t:/i:ro;;t:/a%2Fb:ro",
				 g, GI_SHARES_MAX, &bad),
		 3);
	CHECK_EQ(bad, 7);
	CHECK_STR(g[0].path, "/a");
	CHECK_STR(g[1].path, "/i");
	CHECK(g[1].readonly);
	CHECK_STR(g[2].path, "/a/b");
	CHECK_EQ(gi_shares_parse("t:/x:rw;t:/y:rw", g, 1, &bad), 1);
	CHECK_EQ(bad, 1);
	CHECK_EQ(gi_shares_parse("", g, GI_SHARES_MAX, &bad), 0);
	/* a tag of 37 bytes is too long for virtio-fs */
	CHECK_EQ(gi_shares_parse("0123456789012345678901234567890123456:/x:rw", g, 4, &bad), 0);
}

/* A single read-only file: sbx-vhost serves its directory showing only it; the guest learns
 * "rofile" and bind-mounts the file. */
TEST(file_share)
{
	static const struct engine_share fsh[] = {
	    {"/home/me/proj", false, false, NULL},
	    {"/home/me/.git config", true, true, NULL},
	    {"/top", true, true, NULL},
	};
	static struct engine_share many[ENGINE_SHARES_MAX];
	static struct gi_share g[GI_SHARES_MAX];
	static struct engine_argv v;
	char line[ENGINE_CMDLINE_MAX], paths[ENGINE_SHARES_MAX][32];
	struct engine_vm_spec s;
	int i, bad;

	spec_fill(&s, ENGINE_ACCEL_TCG);
	s.vhost_bin = "/usr/lib/sbx/sbx-vhost";
	s.vhost_log = "/d/vhost.log";
	s.run_dir = "/r/vm/1";
	s.shares = fsh;
	s.n_shares = 3;
	CHECK_EQ(vhost_build_argv(&s, &v), 0);
	i = find_arg(&v, "/r/vm/1/fs1.sock");
	CHECK(i > 0 && i + 8 < v.argc);
	if (i > 0 && i + 8 < v.argc) {
		CHECK_STR(v.argv[i + 3], "--fs-path");
		CHECK_STR(v.argv[i + 4], "/home/me");
		CHECK_STR(v.argv[i + 5], "--fs-ro");
		CHECK_STR(v.argv[i + 6], "--fs-file");
		CHECK_STR(v.argv[i + 7], ".git config");
		CHECK_STR(v.argv[i + 8], "--fs-socket");
	}
	i = find_arg(&v, "/r/vm/1/fs2.sock");
	CHECK(i > 0 && i + 7 < v.argc);
	if (i > 0 && i + 7 < v.argc) {
		CHECK_STR(v.argv[i + 4], "/");
		CHECK_STR(v.argv[i + 7], "top");
	}
	CHECK(find_arg(&v, "--fs-file") > 0);

	CHECK(engine_shares_cmdline(fsh, 3, line, sizeof(line)) > 0);
	CHECK_STR(line, "sbx.shares=sbxfs0:/home/me/proj:rw;sbxfs1:/home/me/.git%20config:rofile;"
			"sbxfs2:/top:rofile");
	CHECK_EQ(gi_shares_parse(line + 11, g, GI_SHARES_MAX, &bad), 3);
	CHECK_EQ(bad, 0);
	CHECK(!g[0].file && !g[0].readonly);
	CHECK(g[1].file && g[1].readonly);
	CHECK_STR(g[1].path, "/home/me/.git config");
	CHECK(g[2].file);
	CHECK_STR(g[2].path, "/top");
	CHECK_EQ(gi_shares_parse("t:/a/:rofile;t:/:rofile;t:/b:rofilex;t:/c:rofil;t:/d:rofile", g,
				 GI_SHARES_MAX, &bad),
		 1);
	CHECK_EQ(bad, 4);
	CHECK_STR(g[0].path, "/d");
	CHECK(g[0].file && g[0].readonly);

	/* a share named by a symlink: the guest mounts the link's path, sbx-vhost serves the
	 * resolved one (a directory, and a single file whose name differs) */
	static const struct engine_share linked[] = {
	    {"/home/me/proj", false, false, "/data/proj"},
	    {"/home/me/.dotrc", true, true, "/home/me/dotfiles/dotrc"}};
	s.shares = linked;
	s.n_shares = 2;
	CHECK_EQ(vhost_build_argv(&s, &v), 0);
	i = find_arg(&v, "/r/vm/1/fs0.sock");
	CHECK(i > 0 && i + 4 < v.argc && strcmp(v.argv[i + 4], "/data/proj") == 0);
	i = find_arg(&v, "/r/vm/1/fs1.sock");
	CHECK(i > 0 && i + 7 < v.argc && strcmp(v.argv[i + 4], "/home/me/dotfiles") == 0 &&
	      strcmp(v.argv[i + 7], "dotrc") == 0);
	CHECK(engine_shares_cmdline(linked, 2, line, sizeof(line)) > 0);
	CHECK_STR(line, "sbx.shares=sbxfs0:/home/me/proj:rw;sbxfs1:/home/me/.dotrc:rofile");

	/* a file share must be read-only; 16 file shares fit sbx-vhost's argv */
	static const struct engine_share rw_file[] = {{"/home/me/f", false, true, NULL}};
	s.shares = rw_file;
	s.n_shares = 1;
	CHECK_EQ(vhost_build_argv(&s, &v), -1);
	for (i = 0; i < ENGINE_SHARES_MAX; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/d/f%d", i);
		many[i] = (struct engine_share){paths[i], true, true, NULL};
	}
	s.shares = many;
	s.n_shares = ENGINE_SHARES_MAX;
	CHECK_EQ(vhost_build_argv(&s, &v), 0);
	CHECK_STR(v.argv[v.argc - 1], "f15");
}

/* The room left for sbx.shares= shrinks with the fixed parameters; a full line is refused. */
TEST(cmdline_room)
{
	struct engine_vm_spec s;
	static struct engine_argv a;
	static struct engine_share many[ENGINE_SHARES_MAX];
	static char paths[ENGINE_SHARES_MAX][300];
	spec_fill(&s, ENGINE_ACCEL_TCG);
	size_t tcg = engine_cmdline_room(&s);
	spec_fill(&s, ENGINE_ACCEL_KVM);
	size_t kvm = engine_cmdline_room(&s);
	CHECK(tcg > 1500 && tcg < kvm && kvm < ENGINE_CMDLINE_MAX);
	for (int i = 0; i < ENGINE_SHARES_MAX; i++) {
		memset(paths[i], 'x', 200);
		paths[i][0] = '/';
		paths[i][200] = '\0';
		many[i].path = paths[i];
	}
	s.run_dir = "/r";
	s.shares = many;
	s.n_shares = ENGINE_SHARES_MAX; /* 16 x 200 bytes: more than 2048 */
	CHECK_EQ(qemu_build_argv(&s, &a), -1);
	s.n_shares = 4;
	CHECK_EQ(qemu_build_argv(&s, &a), 0);
	s.n_shares = ENGINE_SHARES_MAX + 1;
	CHECK_EQ(qemu_build_argv(&s, &a), -1);
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
	CHECK(engine_find("kvm") == &engine_kvm);
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
	RUN(argv_shares);
	RUN(shares_cmdline_roundtrip);
	RUN(file_share);
	RUN(cmdline_room);
	RUN(tsc_parse);
	RUN(virt_flags);
	RUN(proc_helpers);
	RUN(log_tail);
	T_EXIT();
}
