/* Which engine sbxd runs a new sandbox on by default, and whether a named engine can run on
 * this host: the decision only, from facts the caller probed (no I/O here). */
#ifndef SBX_DAEMON_ENGINE_SELECT_H
#define SBX_DAEMON_ENGINE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

/* What sbxd found out about this host at start. */
struct engine_host {
	const char *kvm_no;   /* why KVM cannot run a stock kernel here; "" or NULL: it can */
	bool vmm_found;	      /* sbx-vmm is installed next to sbxd (or SBX_VMM names it) */
	bool accel_tcg_conf;  /* the config says accel=tcg */
	const char *conf_eng; /* engine= from the config; NULL: none */
};

/**
 * engine_select_default() - the default engine for @h: the config's engine= if set, else
 * "kvm" when KVM runs a stock kernel, sbx-vmm is found and the config does not force TCG,
 * else "qemu". @why receives the reason in a few words (for sbxd's log and `sbx version`).
 * Return: "kvm" or "qemu" (or the configured name).
 */
const char *engine_select_default(const struct engine_host *h, char *why, size_t whylen);

/**
 * engine_select_check() - can @engine run a sandbox on @h? "kvm" needs KVM that runs a
 * stock kernel and sbx-vmm; @err receives "engine kvm: <why not> (use --engine qemu)".
 * Return: 0 if it can, -1 if not.
 */
int engine_select_check(const char *engine, const struct engine_host *h, char *err, size_t errlen);

#endif
