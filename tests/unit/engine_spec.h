/* The VM spec both engine unit tests build command lines from (one made-up sandbox). */
#ifndef SBX_TESTS_UNIT_ENGINE_SPEC_H
#define SBX_TESTS_UNIT_ENGINE_SPEC_H

#include <string.h>

#include "engine/engine.h"

static inline void spec_fill(struct engine_vm_spec *s, enum engine_accel a)
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
	s->vmm_bin = "/usr/lib/sbx/sbx-vmm";
	s->run_dir = "/r/vm/3f2a9c1b";
	s->owner_uid = 1000;
	s->owner_gid = 1001;
	s->memory_mib = 2048;
	s->cpus = 3;
	s->accel = a;
	s->tsc_khz = 2449998;
	s->now = 1764291723;
}

#endif
