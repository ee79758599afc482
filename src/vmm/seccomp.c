/* Per-thread seccomp filters (see seccomp.h): the tables of syscalls.c plus a few argument
 * filters, built with libseccomp and loaded on the calling thread. Never TSYNC, never a default
 * other than killing the process: a missing entry must show up as a dead VMM in the tests. */
#include "vmm/seccomp.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One argument comparison (libseccomp's SCMP_Ax macros leave datum_b out for 2-operand ops). */
static struct scmp_arg_cmp arg_is(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				  scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};

	return c;
}

/* Allow every name of @l. Return 0, or -1 with @err set. */
static int add_list(scmp_filter_ctx ctx, const struct vmm_syscall_list *l, const char *role,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < l->n; i++) {
		int nr = seccomp_syscall_resolve_name(l->names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR) {
			snprintf(
			    err, errlen,
			    "seccomp %s: unknown syscall \"%s\" in src/vmm/syscalls.c (fix the "
			    "table)",
			    role, l->names[i]);
			return -1;
		}
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			snprintf(err, errlen,
				 "seccomp %s: allowing %s: %s (fix src/vmm/syscalls.c)", role,
				 l->names[i], strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* kill/tgkill only towards @pid (the own process or the supervisor's VM process). */
static int allow_signals_to(scmp_filter_ctx ctx, pid_t pid)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				  arg_is(0, SCMP_CMP_EQ, (scmp_datum_t)pid, 0));

	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      arg_is(0, SCMP_CMP_EQ, (scmp_datum_t)pid, 0));
	return rc;
}

/* The argument-filtered rules of @role. Return 0 or -errno. */
static int add_arg_rules(scmp_filter_ctx ctx, enum vmm_role role, pid_t peer)
{
	int rc = allow_signals_to(ctx, getpid());

	if (rc == 0 && peer > 0)
		rc = allow_signals_to(ctx, peer);
	if (rc < 0)
		return rc;
	switch (role) {
	case VMM_ROLE_VCPU: {
		size_t n;
		const unsigned long *req = vmm_kvm_vcpu_ioctls(&n);

		/* the kernel reads the request as an unsigned int: compare the low 32 bits */
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					      arg_is(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, req[i]));
		/* a vCPU runs device code too (a QueueReady or DRIVER_OK write kicks the queue
		 * on the vCPU thread): the device role's socket rule */
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					      arg_is(0, SCMP_CMP_EQ, AF_UNIX, 0));
		return rc;
	}
	case VMM_ROLE_DEVICE:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      arg_is(0, SCMP_CMP_EQ, AF_UNIX, 0));
		/* an interrupt without an irqfd (devices.c's fallback) */
		if (rc == 0)
			rc = seccomp_rule_add(
			    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			    arg_is(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, KVM_IRQ_LINE));
		return rc;
	case VMM_ROLE_FS: /* replies notify: an interrupt without an irqfd, as above */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					arg_is(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, KVM_IRQ_LINE));
	case VMM_ROLE_CONTROL:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      arg_is(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		if (rc == 0) /* its flags sit in memory seccomp cannot read: make glibc use clone */
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		return rc;
	case VMM_ROLE_COUNT:
		break;
	}
	return 0;
}

int vmm_seccomp_install(enum vmm_role role, pid_t peer, char *err, size_t errlen)
{
	const struct vmm_syscall_list *l = vmm_syscalls_role(role);
	const char *name = vmm_role_name(role);
	scmp_filter_ctx ctx;
	int rc;

	if (!l) {
		snprintf(err, errlen, "seccomp: no thread role %d (a bug in sbx-vmm)", (int)role);
		return -1;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, errlen, "seccomp %s: cannot create a filter (out of memory?)", name);
		return -1;
	}
	if (add_list(ctx, vmm_syscalls_common(), name, err, errlen) < 0 ||
	    add_list(ctx, l, name, err, errlen) < 0 ||
	    (role == VMM_ROLE_VCPU &&
	     add_list(ctx, vmm_syscalls_role(VMM_ROLE_DEVICE), name, err, errlen) < 0)) {
		seccomp_release(ctx);
		return -1;
	}
	rc = add_arg_rules(ctx, role, peer);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp %s: argument filters: %s (fix src/vmm/seccomp.c)",
			 name, strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen,
			 "seccomp %s: loading the filter: %s (needs a kernel with "
			 "CONFIG_SECCOMP_FILTER; or run sbx-vmm with --no-jail)",
			 name, strerror(-rc));
		return -1;
	}
	return 0;
}
