/* Engine process watch and reattach (see supervisor.h). Identifies processes by pid and
 * start time, so a recycled pid is never taken for a VM; claims a sandbox (busy table)
 * before touching it, so it never races a start, stop or rm. */
#include "daemon/supervisor.h"
#include "daemon/egress/egress.h"
#include "daemon/publish.h"
#include "common/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int supervisor_reattach(struct sbxd_ctx *ctx)
{
	struct sbx_sandbox *all;
	size_t n;
	int reattached = 0;

	if (store_list(ctx->store, &all, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct sbx_sandbox *sb = &all[i];
		if (strcmp(sb->status, "stopped") == 0)
			continue;
		if (!sandbox_busy_try(sb->name))
			continue;
		if (engine_proc_alive(&sb->run.vmm) && engine_proc_alive(&sb->run.vhost)) {
			if (strcmp(sb->status, "running") != 0) {
				snprintf(sb->status, sizeof(sb->status), "running");
				store_update_state(ctx->store, sb);
			}
			char eerr[256];
			if (egress_sandbox_add(sb->name, sb->created_at, sb->run_dir, eerr,
					       sizeof(eerr)) < 0)
				sbx_log("sandbox %s: its guest has no network: %s", sb->name, eerr);
			publish_reattach(ctx, sb);
			sbx_log("reattached to sandbox %s (qemu pid %d, sbx-vhost pid %d)",
				sb->name, (int)sb->run.vmm.pid, (int)sb->run.vhost.pid);
			reattached++;
		} else {
			sbx_log("sandbox %s was %s but its VM is gone: marked stopped", sb->name,
				sb->status);
			sandbox_mark_stopped(ctx, sb);
		}
		sandbox_busy_release(sb->name);
	}
	free(all);
	return reattached;
}

int supervisor_check(struct sbxd_ctx *ctx)
{
	struct sbx_sandbox *all, sb;
	size_t n;
	int stopped = 0;

	if (store_list(ctx->store, &all, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].status, "running") != 0)
			continue;
		if (!sandbox_busy_try(all[i].name))
			continue; /* a start/stop/rm owns it right now */
		/* Re-read under the claim: it may have changed since the list. */
		if (store_get(ctx->store, all[i].name, &sb) == 0 &&
		    strcmp(sb.status, "running") == 0) {
			bool vmm = engine_proc_alive(&sb.run.vmm);
			bool vhost = engine_proc_alive(&sb.run.vhost);
			if (!vmm || !vhost) {
				sbx_log("sandbox %s: %s exited on its own: marked stopped", sb.name,
					!vmm ? (strcmp(sb.engine, "kvm") == 0 ? "sbx-vmm" : "QEMU")
					     : "sbx-vhost");
				sandbox_mark_stopped(ctx, &sb);
				stopped++;
			}
		}
		sandbox_busy_release(all[i].name);
	}
	free(all);
	return stopped;
}

static void *supervisor_main(void *arg)
{
	struct sbxd_ctx *ctx = arg;
	for (;;) {
		sleep(1);
		supervisor_check(ctx);
	}
	return NULL;
}

int supervisor_start(struct sbxd_ctx *ctx)
{
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &at, supervisor_main, ctx);
	pthread_attr_destroy(&at);
	return rc == 0 ? 0 : -1;
}
