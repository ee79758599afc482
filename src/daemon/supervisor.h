/* Watches the engine processes of running sandboxes: reattaches to VMs that survived an
 * sbxd restart and marks a sandbox stopped when its VM dies on its own. Never starts a VM
 * and never kills one that is healthy. */
#ifndef SBX_DAEMON_SUPERVISOR_H
#define SBX_DAEMON_SUPERVISOR_H

#include "daemon/sandbox.h"

/**
 * supervisor_reattach() - at sbxd start: every sandbox not recorded stopped is checked;
 * if its processes are alive with the recorded start times it stays (becomes) running,
 * otherwise its leftovers are cleaned up and it is marked stopped.
 * Return: number of sandboxes reattached, or -1 on a database error.
 */
int supervisor_reattach(struct sbxd_ctx *ctx);

/**
 * supervisor_check() - one pass of the watch: a running sandbox whose QEMU or sbx-vhost
 * is gone is cleaned up and marked stopped. Sandboxes busy with another operation are
 * skipped. Return: number of sandboxes marked stopped.
 */
int supervisor_check(struct sbxd_ctx *ctx);

/**
 * supervisor_start() - run supervisor_check() once a second on a detached thread.
 * Return 0 or -1.
 */
int supervisor_start(struct sbxd_ctx *ctx);

#endif
