/* Start sbxd on demand (see daemon_start.h). Owns only the child it forks for `sbxd --daemon`;
 * never signals an sbxd it did not start, never waits past DAEMON_START_TIMEOUT_MS. */
#include "cli/daemon_start.h"
#include "cli/api_client.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int daemon_start(struct api *a, const struct sbx_paths *p)
{
	char sbxd[PATH_MAX], logpath[PATH_MAX];
	bool saved = a->autostart;
	const char *saved_spin = a->spinner;
	pid_t pid;
	int status, alive = 1;

	if (sbx_path_join(sbxd, "%s/sbxd", p->bindir) < 0 ||
	    sbx_path_join(logpath, "%s/sbxd.log", p->data) < 0) {
		sbx_err("cannot start sbxd: path too long (use a shorter SBX_HOME)");
		return -1;
	}
	if (access(sbxd, X_OK) < 0) {
		sbx_err("cannot start sbxd: %s: %s (reinstall sbx or run make)", sbxd,
			strerror(errno));
		return -1;
	}
	if (sbx_mkdir_p(p->data, 0700) < 0) {
		sbx_err("cannot start sbxd: cannot create %s: %s (check permissions)", p->data,
			strerror(errno));
		return -1;
	}

	pid = fork();
	if (pid < 0) {
		sbx_err("cannot start sbxd: fork: %s (see %s)", strerror(errno), logpath);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		setsid();
		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(log >= 0 ? log : nul, STDOUT_FILENO);
			dup2(log >= 0 ? log : nul, STDERR_FILENO);
		}
		execl(sbxd, "sbxd", "--daemon", (char *)NULL);
		dprintf(STDERR_FILENO, "sbx: exec %s: %s\n", sbxd, strerror(errno));
		_exit(127);
	}

	a->autostart = false;
	a->spinner = NULL;
	long deadline = now_ms() + DAEMON_START_TIMEOUT_MS;
	int rc = -1;
	char why[128] = "it did not answer within 5 s";
	while (now_ms() < deadline) {
		if (alive && waitpid(pid, &status, WNOHANG) == pid) {
			alive = 0;
			/* `sbxd --daemon` may fork and exit 0 once detached; anything else failed
			 */
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				if (WIFEXITED(status))
					snprintf(why, sizeof(why), "it exited with status %d",
						 WEXITSTATUS(status));
				else
					snprintf(why, sizeof(why), "it was killed by signal %d",
						 WTERMSIG(status));
				/* a concurrent sbx may have started it first */
				if (api_ping(a, 1000) == 0)
					rc = 0;
				break;
			}
		}
		if (api_ping(a, 1000) == 0) {
			rc = 0;
			break;
		}
		usleep(20000);
	}
	a->autostart = saved;
	a->spinner = saved_spin;
	if (rc < 0)
		sbx_err("cannot start sbxd: %s (see %s)", why, logpath);
	return rc;
}
