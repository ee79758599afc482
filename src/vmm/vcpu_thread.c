/* The vCPU threads of sbx-vmm (see vcpu.h): start one per vCPU, pull them out of KVM_RUN with
 * immediate_exit plus a signal, join them. Owns the kick signal; never handles an exit itself
 * (vcpu.c does). */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define VCPU_KICK_SIGNAL SIGUSR1

static void on_kick(int sig)
{
	(void)sig; /* only interrupts KVM_RUN (EINTR) */
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *c = arg;

	if (c->thread_init && c->thread_init(c) != 0) {
		vmm_stop_set(c->stop, 1, "vCPU %u: thread set-up failed (see above)", c->id);
		return NULL;
	}
	vmm_vcpu_run(c, c->pio, c->mmio, c->stop);
	return NULL;
}

int vmm_vcpus_start(struct vmm_vcpu *cpus, unsigned n, const struct vmm_bus *pio,
		    const struct vmm_bus *mmio, struct vmm_stop *stop, char *err, size_t errlen)
{
	struct sigaction sa = {0};
	sigset_t kick;
	int rc;

	sa.sa_handler = on_kick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
		snprintf(err, errlen, "vCPU threads: sigaction: %s (report a bug)",
			 strerror(errno));
		return -1;
	}
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	for (unsigned i = 0; i < n; i++) {
		cpus[i].pio = pio;
		cpus[i].mmio = mmio;
		cpus[i].stop = stop;
		rc = pthread_create(&cpus[i].thread, NULL, vcpu_thread, &cpus[i]);
		if (rc != 0) {
			snprintf(err, errlen,
				 "vCPU %u: cannot start its thread: %s (lower --cpus or raise the "
				 "process limit)",
				 i, strerror(rc));
			return -1;
		}
		cpus[i].started = true;
	}
	return 0;
}

void vmm_vcpus_stop(struct vmm_vcpu *cpus, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!cpus[i].started)
			continue;
		__atomic_store_n(&cpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(cpus[i].thread, VCPU_KICK_SIGNAL);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!cpus[i].started)
			continue;
		pthread_join(cpus[i].thread, NULL);
		cpus[i].started = false;
	}
}
