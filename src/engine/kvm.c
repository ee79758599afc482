/* The kvm engine: builds sbx-vmm's command line and starts it as one detached daemon that is
 * the whole VM (vCPUs, virtio-blk, vsock, virtio-fs), waits for its READY, and stops it.
 * Never talks to the guest or the store; whether KVM can run the guest is sbxd's question. */
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VMM_READY_MS 5000 /* sbx-vmm writes READY once its vCPUs run: well under this */

#define A(...)                                                                                     \
	do {                                                                                       \
		if (engine_arg_add(out, __VA_ARGS__) < 0)                                          \
			return -1;                                                                 \
	} while (0)

/* One share's flags: "--fs-path P --fs-tag sbxfs<i> [--fs-ro]", or for a file share its
 * directory with "--fs-ro --fs-file NAME". Return 0 or -1. */
static int share_args(const struct engine_share *sh, unsigned i, struct engine_argv *out)
{
	const char *p = sh->host_path ? sh->host_path : sh->path;
	const char *slash = strrchr(p, '/');

	A("--fs-path");
	if (sh->file) {
		if (!sh->readonly || !slash || !slash[1])
			return -1;
		A("%.*s", slash == p ? 1 : (int)(slash - p), p);
	} else {
		A("%s", p);
	}
	A("--fs-tag");
	A(ENGINE_SHARE_TAG "%u", i);
	if (sh->readonly)
		A("--fs-ro");
	if (sh->file) {
		A("--fs-file");
		A("%s", slash + 1);
	}
	return 0;
}

int kvm_build_argv(const struct engine_vm_spec *spec, struct engine_argv *out)
{
	char cmdline[ENGINE_CMDLINE_MAX];
	struct engine_vm_spec s = *spec;

	memset(out, 0, sizeof(*out));
	s.accel = ENGINE_ACCEL_KVM; /* no TCG clock parameters: the guest runs on KVM */
	if (s.n_shares > KVM_ENGINE_SHARES_MAX || (s.n_shares && !s.shares) || !s.vmm_bin)
		return -1;
	if (engine_guest_cmdline(&s, cmdline, sizeof(cmdline)) < 0)
		return -1;
	A("%s", s.vmm_bin);
	A("--kernel");
	A("%s", s.kernel);
	A("--initrd");
	A("%s", s.initramfs);
	A("--cmdline");
	A("%s", cmdline);
	A("--mem");
	A("%u", s.memory_mib);
	A("--cpus");
	A("%u", s.cpus);
	A("--console");
	A("%s", s.console_log);
	A("--blk");
	A("%s", s.rootfs);
	A("--blk-ro");
	A("--blk-serial");
	A("sbx-base");
	A("--blk");
	A("%s", s.state_img);
	A("--blk-serial");
	A("sbx-state");
	A("--vsock-uds");
	A("%s", s.vsock_uds);
	A("--cid");
	A("3");
	A("--ready-fd");
	A("3");
	if (s.n_shares) {
		A("--owner");
		A("%u:%u", (unsigned)s.owner_uid, (unsigned)s.owner_gid);
	}
	for (unsigned i = 0; i < s.n_shares; i++)
		if (share_args(&s.shares[i], i, out) < 0)
			return -1;
	return 0;
}
#undef A

static int kvm_start(const struct engine_vm_spec *s, struct engine_run *run, char *err,
		     size_t errlen)
{
	struct engine_argv *va;
	char tail[1024];
	int ready[2];
	bool timed_out = false;

	memset(run, 0, sizeof(*run));
	if (s->memory_mib > KVM_ENGINE_MEM_MAX_MIB || s->cpus > KVM_ENGINE_CPUS_MAX) {
		snprintf(err, errlen,
			 "sbx-vmm runs at most %d MiB and %d vCPUs, not %u MiB and %u (create the "
			 "sandbox with less, or --engine qemu)",
			 KVM_ENGINE_MEM_MAX_MIB, KVM_ENGINE_CPUS_MAX, s->memory_mib, s->cpus);
		return -1;
	}
	va = malloc(sizeof(*va));
	if (!va || kvm_build_argv(s, va) < 0) {
		free(va);
		snprintf(err, errlen,
			 "sbx-vmm command line too long or too many shares (use shorter paths, at "
			 "most %d shares)",
			 KVM_ENGINE_SHARES_MAX);
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		free(va);
		return -1;
	}
	int rc = engine_spawn_detached(va->argv, s->engine_log, ready[1], &run->vmm, err, errlen);
	free(va);
	close(ready[1]);
	if (rc == 0 && engine_wait_ready(ready[0], VMM_READY_MS, &timed_out) < 0) {
		engine_log_tail(s->engine_log, 3, tail, sizeof(tail));
		snprintf(err, errlen, "sbx-vmm %s: %s", timed_out ? "not ready in 5 s" : "failed",
			 tail[0] ? tail : "no output");
		engine_proc_kill(&run->vmm, SIGKILL);
		engine_proc_wait_exit(&run->vmm, 2000);
		rc = -1;
	}
	close(ready[0]);
	if (rc < 0) {
		memset(run, 0, sizeof(*run));
		return -1;
	}
	run->vhost = run->vmm; /* one process is the VMM and every device */
	return 0;
}

static void kvm_stop(struct engine_run *run, int grace_ms)
{
	engine_proc_stop(&run->vmm, grace_ms);
}

const struct engine_ops engine_kvm = {
    .name = "kvm",
    .start = kvm_start,
    .stop = kvm_stop,
};
