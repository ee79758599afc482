/* Unit tests for the kvm engine's sbx-vmm command line (same guest command line as the qemu
 * engine, disks, vsock, shares, limits) and sbxd's engine choice, without starting sbx-vmm. */
#include "daemon/engine_select.h"
#include "engine/engine.h"
#include "engine_spec.h"
#include "t.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int find_arg(const struct engine_argv *a, const char *want, int from)
{
	for (int i = from; i < a->argc; i++)
		if (strcmp(a->argv[i], want) == 0)
			return i;
	return -1;
}

static const char *opt_val(const struct engine_argv *a, const char *opt)
{
	int i = find_arg(a, opt, 0);
	return (i >= 0 && i + 1 < a->argc) ? a->argv[i + 1] : NULL;
}

static int count_arg(const struct engine_argv *a, const char *want)
{
	int n = 0;
	for (int i = 0; i < a->argc; i++)
		n += strcmp(a->argv[i], want) == 0;
	return n;
}

/* True if @a holds the arguments @seq (NULL-terminated) consecutively. */
static bool has_seq(const struct engine_argv *a, const char *const *seq)
{
	int len = 0;
	while (seq[len])
		len++;
	for (int i = 0; i + len <= a->argc; i++) {
		int k = 0;
		while (k < len && strcmp(a->argv[i + k], seq[k]) == 0)
			k++;
		if (k == len)
			return true;
	}
	return false;
}

#define HAS(a, ...) has_seq((a), (const char *const[]){__VA_ARGS__, NULL})

TEST(argv_basic)
{
	struct engine_vm_spec s;
	static struct engine_argv a;
	spec_fill(&s, ENGINE_ACCEL_KVM);
	CHECK_EQ(kvm_build_argv(&s, &a), 0);
	CHECK_STR(a.argv[0], "/usr/lib/sbx/sbx-vmm");
	CHECK(a.argv[a.argc] == NULL);
	CHECK_STR(opt_val(&a, "--kernel"), "/c/kernel/vmlinux");
	CHECK_STR(opt_val(&a, "--initrd"), "/c/initramfs/x.cpio");
	CHECK_STR(opt_val(&a, "--mem"), "2048");
	CHECK_STR(opt_val(&a, "--cpus"), "3");
	CHECK_STR(opt_val(&a, "--console"), "/d/sandboxes/shell-proj/console.log");
	CHECK_STR(opt_val(&a, "--ready-fd"), "3");
	CHECK_STR(opt_val(&a, "--vsock-uds"), "/r/vm/3f2a9c1b/vsock.sock");
	CHECK_STR(opt_val(&a, "--cid"), "3");
	/* the template read-only with its serial, the state disk read-write with its own */
	CHECK(HAS(&a, "--blk", "/c/templates/shell/rootfs.img", "--blk-ro", "--blk-serial",
		  "sbx-base"));
	CHECK(HAS(&a, "--blk", "/d/sandboxes/shell-proj/state.img", "--blk-serial", "sbx-state"));
	CHECK_EQ(count_arg(&a, "--blk"), 2);
	CHECK_EQ(count_arg(&a, "--blk-ro"), 1);
	/* no shares: no virtio-fs, no --owner; nothing QEMU- or vhost-specific */
	CHECK_EQ(count_arg(&a, "--fs-path"), 0);
	CHECK_EQ(find_arg(&a, "--owner", 0), -1);
	CHECK_EQ(find_arg(&a, "-accel", 0), -1);
	CHECK(!strstr(opt_val(&a, "--cmdline"), "vhost"));
	s.vmm_bin = NULL;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
}

/* The guest sees exactly what the qemu engine gives it: same text, for both accels given. */
TEST(cmdline_same_as_qemu)
{
	static const struct engine_share sh[] = {
	    {.path = "/home/u/proj", .readonly = false},
	    {.path = "/home/u/my docs;x", .readonly = true},
	};
	struct engine_vm_spec s;
	static struct engine_argv k, q;
	spec_fill(&s, ENGINE_ACCEL_KVM);
	s.shares = sh;
	s.n_shares = 2;
	CHECK_EQ(kvm_build_argv(&s, &k), 0);
	CHECK_EQ(qemu_build_argv(&s, &q), 0);
	CHECK_STR(opt_val(&k, "--cmdline"), opt_val(&q, "-append"));
	CHECK_STR(opt_val(&k, "--cmdline"),
		  "console=ttyS0 reboot=t panic=-1 pci=off quiet sbx.name=shell-proj "
		  "sbx.time=1764291723 sbx.shares=sbxfs0:/home/u/proj:rw;sbxfs1:/home/u/"
		  "my%20docs%3Bx:ro");
	/* a TCG-minded spec still boots on KVM: no TCG clock parameters */
	s.accel = ENGINE_ACCEL_TCG;
	CHECK_EQ(kvm_build_argv(&s, &k), 0);
	CHECK_EQ(qemu_build_argv(&s, &q), 0);
	CHECK(strstr(opt_val(&q, "-append"), "tsc_early_khz=2449998") != NULL);
	CHECK(strstr(opt_val(&k, "--cmdline"), "tsc_early_khz") == NULL);
	CHECK(strstr(opt_val(&k, "--cmdline"), "lpj=") == NULL);
	s.accel = ENGINE_ACCEL_KVM;
	CHECK_EQ(qemu_build_argv(&s, &q), 0);
	CHECK_STR(opt_val(&k, "--cmdline"), opt_val(&q, "-append"));
}

TEST(shares)
{
	static const struct engine_share sh[] = {
	    {.path = "/home/u/proj", .host_path = "/srv/proj"},
	    {.path = "/home/u/ref", .readonly = true},
	    {.path = "/home/u/.gitconfig",
	     .readonly = true,
	     .file = true,
	     .host_path = "/home/u/dot/gitconfig"},
	    {.path = "/top", .readonly = true, .file = true},
	};
	struct engine_vm_spec s;
	static struct engine_argv a;
	spec_fill(&s, ENGINE_ACCEL_KVM);
	s.shares = sh;
	s.n_shares = 4;
	CHECK_EQ(kvm_build_argv(&s, &a), 0);
	CHECK_STR(opt_val(&a, "--owner"), "1000:1001");
	CHECK_EQ(count_arg(&a, "--fs-path"), 4);
	/* served from host_path; the guest is told the path (cmdline) */
	CHECK(HAS(&a, "--fs-path", "/srv/proj", "--fs-tag", "sbxfs0", "--fs-path"));
	CHECK(HAS(&a, "--fs-path", "/home/u/ref", "--fs-tag", "sbxfs1", "--fs-ro", "--fs-path"));
	CHECK(HAS(&a, "--fs-path", "/home/u/dot", "--fs-tag", "sbxfs2", "--fs-ro", "--fs-file",
		  "gitconfig"));
	CHECK(HAS(&a, "--fs-path", "/", "--fs-tag", "sbxfs3", "--fs-ro", "--fs-file", "top"));
	CHECK(strstr(opt_val(&a, "--cmdline"), "sbxfs2:/home/u/.gitconfig:rofile") != NULL);
	CHECK(strstr(opt_val(&a, "--cmdline"), "sbxfs0:/home/u/proj:rw") != NULL);
	/* the --owner comes before the first share, whose flags follow their --fs-path */
	CHECK(find_arg(&a, "--owner", 0) < find_arg(&a, "--fs-path", 0));
}

TEST(refused)
{
	static struct engine_share many[KVM_ENGINE_SHARES_MAX + 1];
	static const struct engine_share rwfile[] = {{.path = "/home/u/f", .file = true}};
	static const struct engine_share noparent[] = {
	    {.path = "f", .readonly = true, .file = true}};
	static char longname[ENGINE_CMDLINE_MAX], longpath[40000];
	struct engine_vm_spec s;
	static struct engine_argv a;

	for (unsigned i = 0; i < KVM_ENGINE_SHARES_MAX + 1; i++)
		many[i].path = "/w";
	spec_fill(&s, ENGINE_ACCEL_KVM);
	s.shares = many;
	s.n_shares = KVM_ENGINE_SHARES_MAX;
	CHECK_EQ(kvm_build_argv(&s, &a), 0);
	s.n_shares = KVM_ENGINE_SHARES_MAX + 1; /* more than sbx-vmm takes */
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
	s.shares = rwfile;
	s.n_shares = 1;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
	s.shares = noparent;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
	s.shares = NULL;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);

	/* a guest command line over the x86 limit */
	spec_fill(&s, ENGINE_ACCEL_KVM);
	memset(longname, 'n', sizeof(longname) - 1);
	s.name = longname;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
	longname[ENGINE_CMDLINE_MAX - 200] = '\0';
	CHECK_EQ(kvm_build_argv(&s, &a), 0);
	/* argv storage full */
	spec_fill(&s, ENGINE_ACCEL_KVM);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	s.state_img = longpath;
	CHECK_EQ(kvm_build_argv(&s, &a), -1);
}

TEST(find)
{
	CHECK(engine_find("kvm") == &engine_kvm);
	CHECK(engine_find("qemu") == &engine_qemu);
	CHECK_STR(engine_kvm.name, "kvm");
	CHECK(engine_find("firecracker") == NULL);
	CHECK(engine_find(NULL) == NULL);
}

TEST(select_default)
{
	char why[256];
	struct engine_host h = {.kvm_no = "", .vmm_found = true};

	CHECK_STR(engine_select_default(&h, why, sizeof(why)), "kvm");
	CHECK_STR(why, "KVM runs a stock kernel here");
	h.vmm_found = false;
	CHECK_STR(engine_select_default(&h, why, sizeof(why)), "qemu");
	CHECK(strstr(why, "sbx-vmm is not installed") != NULL);
	h = (struct engine_host){.kvm_no = "/dev/kvm is PVM, which cannot run a stock kernel",
				 .vmm_found = true};
	CHECK_STR(engine_select_default(&h, why, sizeof(why)), "qemu");
	CHECK_STR(why, "/dev/kvm is PVM, which cannot run a stock kernel");
	h = (struct engine_host){.kvm_no = "", .vmm_found = true, .accel_tcg_conf = true};
	CHECK_STR(engine_select_default(&h, why, sizeof(why)), "qemu");
	CHECK_STR(why, "accel=tcg in the config");
	h.conf_eng = "kvm"; /* the config wins, even over accel=tcg */
	CHECK_STR(engine_select_default(&h, why, sizeof(why)), "kvm");
	CHECK_STR(why, "engine=kvm in the config");
}

TEST(select_check)
{
	char err[256] = "";
	struct engine_host h = {.kvm_no = "the CPU has no vmx/svm", .vmm_found = true};

	CHECK_EQ(engine_select_check("qemu", &h, err, sizeof(err)), 0);
	CHECK_EQ(engine_select_check("kvm", &h, err, sizeof(err)), -1);
	CHECK_STR(err, "engine kvm: the CPU has no vmx/svm (use --engine qemu)");
	h.kvm_no = "";
	CHECK_EQ(engine_select_check("kvm", &h, err, sizeof(err)), 0);
	h.vmm_found = false;
	CHECK_EQ(engine_select_check("kvm", &h, err, sizeof(err)), -1);
	CHECK(strstr(err, "sbx-vmm is not installed") != NULL);
}

int main(void)
{
	RUN(argv_basic);
	RUN(cmdline_same_as_qemu);
	RUN(shares);
	RUN(refused);
	RUN(find);
	RUN(select_default);
	RUN(select_check);
	T_EXIT();
}
