/* The qemu engine: builds the QEMU microvm and sbx-vhost command lines, starts sbx-vhost and
 * QEMU as detached daemons (they must outlive sbxd) and stops them; engine_find(). Never
 * talks to the guest or the store. */
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VHOST_READY_MS 5000

const struct engine_ops *engine_find(const char *name)
{
	if (name && strcmp(name, "qemu") == 0)
		return &engine_qemu;
	if (name && strcmp(name, "kvm") == 0)
		return &engine_kvm;
	return NULL;
}

/* QEMU option values escape ',' as ",,". Return 0 or -1 if @out is too small. */
static int qemu_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in; in++) {
		size_t need = (*in == ',') ? 2 : 1;
		if (o + need >= outlen)
			return -1;
		out[o++] = *in;
		if (*in == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return 0;
}

#define A(...)                                                                                     \
	do {                                                                                       \
		if (engine_arg_add(out, __VA_ARGS__) < 0)                                          \
			return -1;                                                                 \
	} while (0)

int qemu_build_argv(const struct engine_vm_spec *s, struct engine_argv *out)
{
	char e1[PATH_MAX * 2], e2[PATH_MAX * 2], cmdline[ENGINE_CMDLINE_MAX];
	bool kvm = s->accel == ENGINE_ACCEL_KVM;
	int n;

	memset(out, 0, sizeof(*out));
	if (s->n_shares > ENGINE_SHARES_MAX || (s->n_shares && (!s->shares || !s->run_dir)))
		return -1;
	if (engine_guest_cmdline(s, cmdline, sizeof(cmdline)) < 0)
		return -1;
	A("%s", s->qemu_bin ? s->qemu_bin : "qemu-system-x86_64");
	A("-M");
	A("microvm,acpi=on");
	A("-accel");
	A("%s", kvm ? "kvm" : "tcg");
	/* TCG: every feature QEMU can emulate (AVX2 among them): agent CLIs built with Bun
	 * (claude, opencode) die with SIGILL on the default qemu64 model */
	A("-cpu");
	A("%s", kvm ? "host" : "max");
	A("-m");
	A("%u", s->memory_mib);
	A("-smp");
	A("%u", s->cpus);
	A("-nodefaults");
	A("-no-user-config");
	A("-nographic");
	A("-no-reboot");
	A("-serial");
	A("file:%s", s->console_log);
	A("-kernel");
	A("%s", s->kernel);
	A("-initrd");
	A("%s", s->initramfs);
	A("-append");
	A("%s", cmdline);
	A("-global");
	A("virtio-mmio.force-legacy=false");
	A("-object");
	A("memory-backend-memfd,id=mem,size=%uM,share=on", s->memory_mib);
	A("-machine");
	A("memory-backend=mem");
	if (qemu_escape(s->rootfs, e1, sizeof(e1)) < 0 ||
	    qemu_escape(s->state_img, e2, sizeof(e2)) < 0)
		return -1;
	A("-drive");
	A("file=%s,if=none,id=base,format=raw,readonly=on", e1);
	A("-device");
	A("virtio-blk-device,drive=base,serial=sbx-base");
	A("-drive");
	A("file=%s,if=none,id=state,format=raw,discard=unmap", e2);
	A("-device");
	A("virtio-blk-device,drive=state,serial=sbx-state");
	if (qemu_escape(s->vhost_socket, e1, sizeof(e1)) < 0)
		return -1;
	A("-chardev");
	A("socket,id=vsock0,path=%s", e1);
	A("-device");
	A("vhost-user-vsock-device,chardev=vsock0");
	for (unsigned i = 0; i < s->n_shares; i++) {
		char sock[PATH_MAX];
		n = snprintf(sock, sizeof(sock), "%s/fs%u.sock", s->run_dir, i);
		if (n < 0 || (size_t)n >= sizeof(sock) || qemu_escape(sock, e1, sizeof(e1)) < 0)
			return -1;
		A("-chardev");
		A("socket,id=fs%u,path=%s", i, e1);
		A("-device");
		A("vhost-user-fs-device,chardev=fs%u,tag=" ENGINE_SHARE_TAG "%u,queue-size=1024", i,
		  i);
	}

	return 0;
}
#undef A

static void qemu_stop(struct engine_run *run, int grace_ms)
{
	engine_proc_stop(&run->vmm, grace_ms);
	/* sbx-vhost exits by itself once QEMU closes the vhost-user socket. */
	engine_proc_stop(&run->vhost, 2000);
}

#define A(...)                                                                                     \
	do {                                                                                       \
		if (engine_arg_add(out, __VA_ARGS__) < 0)                                          \
			return -1;                                                                 \
	} while (0)

int vhost_build_argv(const struct engine_vm_spec *s, struct engine_argv *out)
{
	memset(out, 0, sizeof(*out));
	if (s->n_shares > ENGINE_SHARES_MAX || (s->n_shares && (!s->shares || !s->run_dir)))
		return -1;
	A("%s", s->vhost_bin);
	A("--vsock-socket");
	A("%s", s->vhost_socket);
	A("--uds");
	A("%s", s->vsock_uds);
	A("--cid");
	A("3");
	A("--ready-fd");
	A("3");
	A("--log");
	A("%s", s->vhost_log);
	if (s->n_shares) {
		A("--owner");
		A("%u:%u", (unsigned)s->owner_uid, (unsigned)s->owner_gid);
	}
	for (unsigned i = 0; i < s->n_shares; i++) {
		const char *p = s->shares[i].host_path ? s->shares[i].host_path : s->shares[i].path;
		const char *slash = strrchr(p, '/');

		A("--fs-socket");
		A("%s/fs%u.sock", s->run_dir, i);
		A("--fs-tag");
		A(ENGINE_SHARE_TAG "%u", i);
		A("--fs-path");
		if (s->shares[i].file) {
			/* the file's directory, showing only the file */
			if (!s->shares[i].readonly || !slash || !slash[1])
				return -1;
			A("%.*s", slash == p ? 1 : (int)(slash - p), p);
			A("--fs-ro");
			A("--fs-file");
			A("%s", slash + 1);
			continue;
		}
		A("%s", p);
		if (s->shares[i].readonly)
			A("--fs-ro");
	}
	return 0;
}
#undef A

static int qemu_start(const struct engine_vm_spec *s, struct engine_run *run, char *err,
		      size_t errlen)
{
	struct engine_argv *qa = malloc(sizeof(*qa));
	char tail[1024];
	int ready[2];
	bool timed_out;

	memset(run, 0, sizeof(*run));
	if (!qa || qemu_build_argv(s, qa) < 0) {
		free(qa);
		snprintf(err, errlen, "QEMU command line too long (use shorter paths)");
		return -1;
	}
	struct engine_argv *va = malloc(sizeof(*va));
	if (!va || vhost_build_argv(s, va) < 0) {
		free(qa);
		free(va);
		snprintf(err, errlen, "sbx-vhost command line too long (use shorter paths)");
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		free(qa);
		free(va);
		return -1;
	}
	int rc = engine_spawn_detached(va->argv, s->vhost_log, ready[1], &run->vhost, err, errlen);
	free(va);
	close(ready[1]);
	if (rc == 0 && engine_wait_ready(ready[0], VHOST_READY_MS, &timed_out) < 0) {
		engine_log_tail(s->vhost_log, 3, tail, sizeof(tail));
		snprintf(err, errlen, "sbx-vhost %s: %s", timed_out ? "not ready in 5 s" : "failed",
			 tail[0] ? tail : "no output");
		engine_proc_kill(&run->vhost, SIGKILL);
		engine_proc_wait_exit(&run->vhost, 2000);
		rc = -1;
	}
	close(ready[0]);
	if (rc < 0) {
		free(qa);
		return -1;
	}
	rc = engine_spawn_detached(qa->argv, s->engine_log, -1, &run->vmm, err, errlen);
	free(qa);
	if (rc < 0) {
		engine_log_tail(s->engine_log, 3, tail, sizeof(tail));
		if (tail[0]) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, ": %s", tail);
		}
		engine_proc_kill(&run->vhost, SIGTERM);
		engine_proc_wait_exit(&run->vhost, 2000);
		engine_proc_kill(&run->vhost, SIGKILL);
		return -1;
	}
	return 0;
}

const struct engine_ops engine_qemu = {
    .name = "qemu",
    .start = qemu_start,
    .stop = qemu_stop,
};
