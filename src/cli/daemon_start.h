/* Starting sbxd on demand for the CLI: fork/exec <bindir>/sbxd --daemon and wait (bounded)
 * until it answers. Never leaves the CLI waiting more than DAEMON_START_TIMEOUT_MS; never
 * kills or restarts a running sbxd. */
#ifndef SBX_CLI_DAEMON_START_H
#define SBX_CLI_DAEMON_START_H

#include "common/paths.h"

#define DAEMON_START_TIMEOUT_MS 5000

struct api;

/**
 * daemon_start() - start sbxd (stderr appended to <data>/sbxd.log until it detaches) and
 * poll GET /v1/version through @a until it answers or DAEMON_START_TIMEOUT_MS pass.
 * Return 0, or -1 with "sbx: cannot start sbxd: <why> (see <data>/sbxd.log)" printed.
 */
int daemon_start(struct api *a, const struct sbx_paths *p);

#endif
