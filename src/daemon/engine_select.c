/* Default engine choice and the kvm engine's host check (see engine_select.h). Pure: the
 * probing is the caller's; this file never opens a device or a file. */
#include "daemon/engine_select.h"

#include <stdio.h>
#include <string.h>

const char *engine_select_default(const struct engine_host *h, char *why, size_t whylen)
{
	bool kvm_ok = !h->kvm_no || !h->kvm_no[0];

	if (h->conf_eng && h->conf_eng[0]) {
		snprintf(why, whylen, "engine=%s in the config", h->conf_eng);
		return h->conf_eng;
	}
	if (!kvm_ok) {
		snprintf(why, whylen, "%s", h->kvm_no);
		return "qemu";
	}
	if (h->accel_tcg_conf) {
		snprintf(why, whylen, "accel=tcg in the config");
		return "qemu";
	}
	if (!h->vmm_found) {
		snprintf(why, whylen,
			 "KVM runs a stock kernel here, but sbx-vmm is not installed "
			 "next to sbxd");
		return "qemu";
	}
	snprintf(why, whylen, "KVM runs a stock kernel here");
	return "kvm";
}

int engine_select_check(const char *engine, const struct engine_host *h, char *err, size_t errlen)
{
	if (strcmp(engine, "kvm") != 0)
		return 0;
	if (h->kvm_no && h->kvm_no[0]) {
		snprintf(err, errlen, "engine kvm: %s (use --engine qemu)", h->kvm_no);
		return -1;
	}
	if (!h->vmm_found) {
		snprintf(err, errlen,
			 "engine kvm: sbx-vmm is not installed next to sbxd (install it, or use "
			 "--engine qemu)");
		return -1;
	}
	return 0;
}
