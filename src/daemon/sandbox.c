/* Sandbox lifecycle (see sandbox.h): validation and defaults, state disks, start/stop
 * through an engine, rm/reset, and the busy table serializing operations per sandbox.
 * Never formats HTTP or builds SQL; never lets a failed operation leave half a sandbox. */
#include "daemon/sandbox.h"
#include "daemon/egress/egress.h"
#include "daemon/publish.h"
#include "daemon/secrets/store.h"
#include "daemon/netpol.h"
#include "common/assets.h"
#include "common/err.h"
#include "proto/agent_client.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STATE_DISK_BYTES    (20ULL << 30)
#define BUSY_MAX	    256
#define BUSY_WAIT_S	    300 /* longest a request waits for another operation on its sandbox */
#define MKFS_TIMEOUT_S	    60
#define BOOT_TIMEOUT_TCG_MS 90000
#define BOOT_TIMEOUT_KVM_MS 20000

/* ---- busy table: one operation per sandbox at a time ---- */

static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cv = PTHREAD_COND_INITIALIZER;
static char busy_names[BUSY_MAX][STORE_NAME_MAX + 1];
static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;

static int busy_find(const char *name)
{
	for (int i = 0; i < BUSY_MAX; i++)
		if (busy_names[i][0] && strcmp(busy_names[i], name) == 0)
			return i;
	return -1;
}

static int busy_free_slot(void)
{
	for (int i = 0; i < BUSY_MAX; i++)
		if (!busy_names[i][0])
			return i;
	return -1;
}

/* Wait (bounded) until @name is free, then claim it. Return 0 or -1 on timeout. */
static int busy_acquire(const char *name)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += BUSY_WAIT_S;
	pthread_mutex_lock(&busy_mu);
	while (busy_find(name) >= 0 || busy_free_slot() < 0) {
		if (pthread_cond_timedwait(&busy_cv, &busy_mu, &dl) == ETIMEDOUT) {
			pthread_mutex_unlock(&busy_mu);
			return -1;
		}
	}
	snprintf(busy_names[busy_free_slot()], STORE_NAME_MAX + 1, "%s", name);
	pthread_mutex_unlock(&busy_mu);
	return 0;
}

bool sandbox_busy_try(const char *name)
{
	bool ok = false;
	pthread_mutex_lock(&busy_mu);
	int slot = busy_free_slot();
	if (busy_find(name) < 0 && slot >= 0) {
		snprintf(busy_names[slot], STORE_NAME_MAX + 1, "%s", name);
		ok = true;
	}
	pthread_mutex_unlock(&busy_mu);
	return ok;
}

void sandbox_busy_release(const char *name)
{
	pthread_mutex_lock(&busy_mu);
	int i = busy_find(name);
	if (i >= 0)
		busy_names[i][0] = '\0';
	pthread_cond_broadcast(&busy_cv);
	pthread_mutex_unlock(&busy_mu);
}

/* ---- helpers ---- */

void sandbox_seterr(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, SBX_ERR_MAX, fmt, ap);
	va_end(ap);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* rm -rf @path (no symlink following). Return 0 or -1 with errno. */
static int rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int sandbox_data_dir(const struct sbxd_ctx *ctx, const char *name, char *out)
{
	return sbx_path_join(out, "%s/sandboxes/%s", ctx->paths.data, name);
}

static int run_dir_for(const struct sbxd_ctx *ctx, const char *id, char *out)
{
	return sbx_path_join(out, "%s/vm/%s", ctx->paths.runtime, id);
}

static unsigned default_memory_mib(void)
{
	struct sysinfo si;
	unsigned long long half = 2048;
	if (sysinfo(&si) == 0)
		half = (unsigned long long)si.totalram * si.mem_unit / 2 / (1024 * 1024);
	if (half < 512)
		half = 512;
	if (half > 32768)
		half = 32768;
	return (unsigned)half;
}

static unsigned default_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 1 ? (unsigned)(n - 1) : 1;
}

static void new_id(char out[9])
{
	unsigned char b[4];
	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		unsigned v = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ (unsigned)rand();
		memcpy(b, &v, 4);
	}
	snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

static bool word_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return s[0] != '.';
}

/* Run @argv with output to @log, bounded by @timeout_s. Return exit status, or -1. */
static int run_tool(char *const argv[], const char *log, int timeout_s)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	for (int waited = 0;; waited += 50) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_s * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(50 * 1000);
	}
}

/* Make @dir/state.img: sparse 20 GiB ext4. Return 0 or -1 with @err set. */
static int make_state_disk(const char *dir, const char *name, char *err)
{
	char img[PATH_MAX], log[PATH_MAX], tail[512];
	if (sbx_path_join(img, "%s/state.img", dir) < 0 ||
	    sbx_path_join(log, "%s/mkfs.log", dir) < 0) {
		sandbox_seterr(err, "cannot create sandbox %s: path too long", name);
		return -1;
	}
	int fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)STATE_DISK_BYTES) < 0) {
		sandbox_seterr(err,
			       "cannot create sandbox %s: state disk %s: %s (free some disk space)",
			       name, img, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	const char *mkfs = getenv("SBX_MKFS"); /* tests: make mkfs fail on purpose */
	char *argv[] = {
	    (char *)(mkfs && *mkfs ? mkfs : "mkfs.ext4"), "-q", "-F", "-L", "sbx-state", "-E",
	    "lazy_itable_init=1,lazy_journal_init=1",	  img,	NULL};
	int rc = run_tool(argv, log, MKFS_TIMEOUT_S);
	if (rc != 0) {
		int e = errno;
		engine_log_tail(log, 2, tail, sizeof(tail));
		if (rc < 0 && e == ENOENT)
			snprintf(
			    err, SBX_ERR_MAX,
			    "cannot create sandbox %s: %s not found (apt-get install e2fsprogs)",
			    name, argv[0]);
		else
			sandbox_seterr(
			    err, "cannot create sandbox %s: %s failed: %s (check free disk space)",
			    name, argv[0],
			    tail[0] ? tail : (rc < 0 ? strerror(e) : "non-zero exit"));
		return -1;
	}
	unlink(log);
	return 0;
}

/* ---- config and accelerator ---- */

void sandbox_engine_host(const struct sbxd_ctx *ctx, struct engine_host *h)
{
	*h = (struct engine_host){.kvm_no = ctx->kvm_no,
				  .vmm_found = ctx->vmm_found,
				  .accel_tcg_conf =
				      ctx->accel == ENGINE_ACCEL_TCG && !ctx->accel_why[0]};
}

int sandbox_ctx_init(struct sbxd_ctx *ctx)
{
	char path[PATH_MAX], line[256];
	char conf_eng[16] = "";
	bool accel_set = false;

	ctx->accel_why[0] = '\0';
	ctx->tsc_khz = accel_tsc_khz();
	if (sbx_path_join(path, "%s/config", ctx->paths.config) == 0) {
		FILE *f = fopen(path, "re");
		int lineno = 0;
		while (f && fgets(line, sizeof(line), f)) {
			lineno++;
			line[strcspn(line, "\r\n")] = '\0';
			char *k = line + strspn(line, " \t");
			if (!*k || *k == '#')
				continue;
			char *eq = strchr(k, '=');
			if (!eq)
				continue; /* keys for other parts are free-form; only ours are
					     checked */
			*eq = '\0';
			char *v = eq + 1;
			k[strcspn(k, " \t")] = '\0';
			v += strspn(v, " \t");
			v[strcspn(v, " \t")] = '\0';
			if (strcmp(k, "engine") == 0) {
				if (!engine_find(v)) {
					sbx_err(
					    "config %s:%d: unknown engine %s (use engine=kvm or "
					    "engine=qemu)",
					    path, lineno, v);
					fclose(f);
					return -1;
				}
				snprintf(conf_eng, sizeof(conf_eng), "%s", v);
			} else if (strcmp(k, "accel") == 0) {
				if (accel_parse(v, &ctx->accel) < 0) {
					sbx_err("config %s:%d: unknown accel %s (use accel=kvm or "
						"accel=tcg)",
						path, lineno, v);
					fclose(f);
					return -1;
				}
				accel_set = true;
			}
		}
		if (f)
			fclose(f);
	}
	/* the kvm engine needs KVM that runs a stock kernel, whatever accel= says for qemu */
	char kvm_no[sizeof(ctx->kvm_no)];
	enum engine_accel probed = accel_probe(kvm_no, sizeof(kvm_no));
	snprintf(ctx->kvm_no, sizeof(ctx->kvm_no), "%s",
		 probed == ENGINE_ACCEL_KVM ? "" : (kvm_no[0] ? kvm_no : "KVM probe said no"));
	const char *vmm = getenv("SBX_VMM");
	if (vmm && *vmm)
		snprintf(ctx->vmm_bin, sizeof(ctx->vmm_bin), "%s", vmm);
	else if (sbx_path_join(ctx->vmm_bin, "%s/sbx-vmm", ctx->paths.bindir) < 0)
		ctx->vmm_bin[0] = '\0';
	ctx->vmm_found = ctx->vmm_bin[0] && access(ctx->vmm_bin, X_OK) == 0;
	if (accel_set) {
		sbx_log("accelerator %s (from config)", accel_name(ctx->accel));
	} else {
		ctx->accel = probed;
		snprintf(ctx->accel_why, sizeof(ctx->accel_why), "%s", ctx->kvm_no);
		if (ctx->accel == ENGINE_ACCEL_TCG)
			sbx_log("KVM cannot run a stock kernel here (%s): VMs run under QEMU TCG, "
				"slower",
				ctx->accel_why);
		else
			sbx_log("accelerator kvm");
	}
	struct engine_host h;
	sandbox_engine_host(ctx, &h);
	h.conf_eng = conf_eng[0] ? conf_eng : NULL;
	snprintf(ctx->engine_default, sizeof(ctx->engine_default), "%s",
		 engine_select_default(&h, ctx->engine_why, sizeof(ctx->engine_why)));
	sbx_log("default engine %s (%s)", ctx->engine_default, ctx->engine_why);
	return 0;
}

/* ---- create ---- */

int sandbox_create(struct sbxd_ctx *ctx, const struct sandbox_create_req *req,
		   struct sbx_sandbox *out, char *err)
{
	struct sbx_sandbox sb;
	struct stat st;
	char dir[PATH_MAX];

	memset(&sb, 0, sizeof(sb));
	if (!word_ok(req->agent, sizeof(sb.agent) - 1) ||
	    !assets_template_known(&ctx->paths, req->agent)) {
		sandbox_seterr(
		    err, "unknown agent %s: no such template (see sbx template ls; e.g. shell)",
		    req->agent ? req->agent : "(none)");
		return 400;
	}
	const char *ws = req->workspace;
	if (!ws && req->n_mounts > 0)
		ws = req->mounts[0].path;
	if (!ws || ws[0] != '/' || strlen(ws) >= sizeof(sb.workspace)) {
		sandbox_seterr(err, "bad workspace %s: not an absolute path (give the full path)",
			       ws ? ws : "(none)");
		return 400;
	}
	if (stat(ws, &st) < 0 || !S_ISDIR(st.st_mode)) {
		sandbox_seterr(err, "bad workspace %s: not a directory (create it first)", ws);
		return 400;
	}
	if (req->n_mounts > 0) {
		/* shared: the workspace is the path the guest sees the first share at */
		if (sandbox_path_normal(ws))
			snprintf(sb.workspace, sizeof(sb.workspace), "%s", ws);
		else if (!realpath(ws, sb.workspace)) {
			sandbox_seterr(err, "bad workspace %s: %s (create it first)", ws,
				       strerror(errno));
			return 400;
		}
		int mrc = sandbox_mounts_from_req(ctx, req, &sb, err);
		if (mrc)
			return mrc;
	} else {
		snprintf(sb.workspace, sizeof(sb.workspace), "%s", ws);
	}
	if (req->name && !store_name_valid(req->name)) {
		sandbox_seterr(err,
			       "bad sandbox name %s: must match [a-z0-9][a-z0-9_.-]{0,39} (pick "
			       "another name)",
			       req->name);
		return 400;
	}
	const char *engine = req->engine ? req->engine : ctx->engine_default;
	if (!engine_find(engine)) {
		sandbox_seterr(err, "unknown engine %s (use --engine kvm or --engine qemu)",
			       engine);
		return 400;
	}
	struct engine_host eh;
	sandbox_engine_host(ctx, &eh);
	if (engine_select_check(engine, &eh, err, SBX_ERR_MAX) < 0)
		return 400;
	if (req->memory_mib && (req->memory_mib < 256 || req->memory_mib > 1048576)) {
		sandbox_seterr(
		    err, "bad memory %lld MiB: out of range (give 256 MiB to 1 TiB, e.g. 4096)",
		    req->memory_mib);
		return 400;
	}
	if (req->cpus && (req->cpus < 1 || req->cpus > 255)) {
		sandbox_seterr(err, "bad cpus %lld: out of range (give 1 to 255)", req->cpus);
		return 400;
	}
	snprintf(sb.agent, sizeof(sb.agent), "%s", req->agent);
	snprintf(sb.engine, sizeof(sb.engine), "%s", engine);
	snprintf(sb.status, sizeof(sb.status), "stopped");
	sb.memory_mib = req->memory_mib ? (unsigned)req->memory_mib : default_memory_mib();
	sb.cpus = req->cpus ? (unsigned)req->cpus : default_cpus();
	if (strcmp(engine, "kvm") == 0) {
		if (req->memory_mib > KVM_ENGINE_MEM_MAX_MIB) {
			sandbox_seterr(err,
				       "bad memory %lld MiB: engine kvm runs at most %d MiB "
				       "(give less, or --engine qemu)",
				       req->memory_mib, KVM_ENGINE_MEM_MAX_MIB);
			return 400;
		}
		if (req->cpus > KVM_ENGINE_CPUS_MAX) {
			sandbox_seterr(
			    err,
			    "bad cpus %lld: engine kvm runs at most %d vCPUs (give fewer, "
			    "or --engine qemu)",
			    req->cpus, KVM_ENGINE_CPUS_MAX);
			return 400;
		}
		if (sb.memory_mib > KVM_ENGINE_MEM_MAX_MIB)
			sb.memory_mib = KVM_ENGINE_MEM_MAX_MIB;
		if (sb.cpus > KVM_ENGINE_CPUS_MAX)
			sb.cpus = KVM_ENGINE_CPUS_MAX;
	}
	sb.created_at = (int64_t)time(NULL);

	/* Name choice, directory and insert happen under one lock so two creates never pick
	 * the same default name. mkfs on a sparse file takes well under a second. */
	pthread_mutex_lock(&create_mu);
	int status = 500;
	if (req->name) {
		struct sbx_sandbox tmp;
		int rc = store_get(ctx->store, req->name, &tmp);
		if (rc == 0) {
			sandbox_seterr(
			    err,
			    "cannot create sandbox %s: name in use (pick another name with "
			    "--name, or sbx rm %s)",
			    req->name, req->name);
			status = 409;
			goto unlock;
		}
		if (rc < 0)
			goto dberr;
		snprintf(sb.name, sizeof(sb.name), "%s", req->name);
	} else if (store_name_default(ctx->store, sb.agent, sb.workspace, sb.name) < 0) {
		sandbox_seterr(
		    err, "cannot create sandbox: no usable default name from %s (give --name)",
		    sb.workspace);
		status = 400;
		goto unlock;
	}
	if (sandbox_data_dir(ctx, sb.name, dir) < 0) {
		sandbox_seterr(err, "cannot create sandbox %s: data path too long", sb.name);
		goto unlock;
	}
	/* A directory without a record is a leftover of an interrupted create: replace it. */
	rm_rf(dir);
	if (sbx_mkdir_p(dir, 0700) < 0) {
		sandbox_seterr(err, "cannot create sandbox %s: %s: %s (check %s)", sb.name, dir,
			       strerror(errno), ctx->paths.data);
		goto unlock;
	}
	if (make_state_disk(dir, sb.name, err) < 0) {
		rm_rf(dir);
		goto unlock;
	}
	for (int tries = 0; tries < 8; tries++) {
		new_id(sb.id);
		int rc = store_insert(ctx->store, &sb);
		if (rc == 0) {
			*out = sb;
			status = 201;
			goto unlock;
		}
		if (rc < 0)
			break;
	}
	rm_rf(dir);
dberr:
	sandbox_seterr(
	    err, "cannot create sandbox: state database error (see the sbxd log, %s/sbxd.log)",
	    ctx->paths.data);
unlock:
	pthread_mutex_unlock(&create_mu);
	if (status == 201)
		sbx_log("created sandbox %s (%s, %s, %u MiB, %u cpus, %u shares)", sb.name, sb.id,
			sb.agent, sb.memory_mib, sb.cpus, sb.n_mounts);
	return status;
}

/* ---- start / stop ---- */

void sandbox_mark_stopped(struct sbxd_ctx *ctx, struct sbx_sandbox *sb)
{
	const struct engine_ops *eng = engine_find(sb->engine);
	egress_sandbox_remove(sb->name);
	publish_close_all(ctx, sb->name);
	if (eng && (engine_proc_alive(&sb->run.vmm) || engine_proc_alive(&sb->run.vhost)))
		eng->stop(&sb->run, 0);
	if (sb->run_dir[0])
		rm_rf(sb->run_dir);
	memset(&sb->run, 0, sizeof(sb->run));
	sb->run_dir[0] = '\0';
	snprintf(sb->status, sizeof(sb->status), "stopped");
	store_update_state(ctx->store, sb);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Test hook: SBX_TEST_KERNEL/INITRAMFS/ROOTFS name the boot assets directly. */
static int find_assets(struct sbxd_ctx *ctx, const char *agent, struct sbx_assets *a, char *err)
{
	const char *k = getenv("SBX_TEST_KERNEL"), *i = getenv("SBX_TEST_INITRAMFS"),
		   *r = getenv("SBX_TEST_ROOTFS");
	if (k && i && r) {
		snprintf(a->kernel, sizeof(a->kernel), "%s", k);
		snprintf(a->initramfs, sizeof(a->initramfs), "%s", i);
		snprintf(a->rootfs, sizeof(a->rootfs), "%s", r);
		return 0;
	}
	if (assets_find(&ctx->paths, agent, a) == 0)
		return 0;
	/* assets_find() printed its reason to our log; the client gets the same in one line. */
	char kdir[PATH_MAX], kver[256];
	if (!assets_template_built(&ctx->paths, agent))
		sandbox_seterr(
		    err, "cannot start: template %s is not built (run: sbx template build %s)",
		    agent, agent);
	else if (assets_kernel_find(&ctx->paths, kdir, kver, sizeof(kver)) < 0)
		sandbox_seterr(
		    err,
		    "cannot start: guest kernel missing in %s/kernel (run: sbx template build "
		    "%s)",
		    ctx->paths.cache, agent);
	else
		sandbox_seterr(
		    err,
		    "cannot start: guest initramfs missing or corrupt for kernel %s (run: sbx "
		    "template build %s)",
		    kver, agent);
	return -1;
}

/* Boot the stopped @sb. Caller holds its busy claim. Return HTTP-like status. */
static int do_start(struct sbxd_ctx *ctx, struct sbx_sandbox *sb, char *err)
{
	struct sbx_assets as;
	char dir[PATH_MAX], state[PATH_MAX], console[PATH_MAX], elog[PATH_MAX], vlog[PATH_MAX];
	char vhost_sock[PATH_MAX], uds[PATH_MAX], vhost_bin[PATH_MAX], tail[768], eerr[768];
	struct engine_run run;
	struct engine_share shares[STORE_MOUNTS_MAX];
	char host_paths[STORE_MOUNTS_MAX][PATH_MAX]; /* 64 KiB: API threads have 8 MiB stacks */
	struct stat st;

	const struct engine_ops *eng = engine_find(sb->engine);
	if (!eng) {
		sandbox_seterr(err, "cannot start %s: engine %s is not available", sb->name,
			       sb->engine);
		return 500;
	}
	/* the kvm engine is always KVM; qemu uses what sbxd found or was told */
	bool kvm = eng == &engine_kvm;
	enum engine_accel accel = kvm ? ENGINE_ACCEL_KVM : ctx->accel;
	const char *vmm_name = kvm ? "sbx-vmm" : "QEMU";
	struct engine_host eh;
	sandbox_engine_host(ctx, &eh);
	if (engine_select_check(sb->engine, &eh, eerr, sizeof(eerr)) < 0) {
		sandbox_seterr(err, "cannot start %s: %s", sb->name, eerr);
		return 409;
	}
	memset(&as, 0, sizeof(as));
	if (find_assets(ctx, sb->agent, &as, err) < 0)
		return 409;
	if (sandbox_data_dir(ctx, sb->name, dir) < 0 ||
	    sbx_path_join(state, "%s/state.img", dir) < 0 ||
	    sbx_path_join(console, "%s/console.log", dir) < 0 ||
	    sbx_path_join(elog, "%s/%s.log", dir, kvm ? "vmm" : "qemu") < 0 ||
	    sbx_path_join(vlog, "%s/vhost.log", dir) < 0 ||
	    run_dir_for(ctx, sb->id, sb->run_dir) < 0 ||
	    sbx_path_join(vhost_sock, "%s/vhost-vsock.sock", sb->run_dir) < 0 ||
	    sbx_path_join(uds, "%s/vsock.sock", sb->run_dir) < 0 ||
	    sbx_path_join(vhost_bin, "%s/sbx-vhost", ctx->paths.bindir) < 0 ||
	    strlen(vhost_sock) >= sizeof(((struct sockaddr_un *)0)->sun_path) - 8) {
		sandbox_seterr(
		    err,
		    "cannot start %s: socket path %s too long (use a shorter SBX_HOME or "
		    "XDG_RUNTIME_DIR)",
		    sb->name, sb->run_dir);
		sb->run_dir[0] = '\0';
		return 500;
	}
	if (access(state, R_OK | W_OK) < 0) {
		sandbox_seterr(err, "cannot start %s: state disk %s: %s (sbx rm %s, create again)",
			       sb->name, state, strerror(errno), sb->name);
		sb->run_dir[0] = '\0';
		return 500;
	}
	for (unsigned i = 0; i < sb->n_mounts; i++) {
		bool file = sb->mounts[i].file;
		/* served from where the path points now; the guest sees it at the path */
		int bad = !realpath(sb->mounts[i].path, host_paths[i]) ? errno
			  : stat(host_paths[i], &st) < 0	       ? errno
								       : 0;
		if (bad || (file ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))) {
			sandbox_seterr(err,
				       "cannot start %s: shared %s %s: %s (create it again, or sbx "
				       "rm %s and create the sandbox anew)",
				       sb->name, file ? "file" : "directory", sb->mounts[i].path,
				       bad    ? strerror(bad)
				       : file ? "not a regular file"
					      : "not a directory",
				       sb->name);
			sb->run_dir[0] = '\0';
			return 409;
		}
		shares[i].path = sb->mounts[i].path;
		shares[i].host_path = host_paths[i];
		shares[i].readonly = sb->mounts[i].readonly;
		shares[i].file = file;
	}
	rm_rf(sb->run_dir);
	if (sbx_mkdir_p(sb->run_dir, 0700) < 0) {
		sandbox_seterr(err, "cannot start %s: %s: %s", sb->name, sb->run_dir,
			       strerror(errno));
		sb->run_dir[0] = '\0';
		return 500;
	}
	/* The guest's only way out: the egress sockets exist before the VM can use them. */
	char eerr_net[256];
	if (egress_sandbox_add(sb->name, sb->created_at, sb->run_dir, eerr_net, sizeof(eerr_net)) <
	    0) {
		sandbox_seterr(err, "cannot start %s: %s", sb->name, eerr_net);
		rm_rf(sb->run_dir);
		sb->run_dir[0] = '\0';
		return 500;
	}
	/* Published ports come back with every start; one taken by someone else fails it. */
	int prc = publish_open_all(ctx, sb, err);
	if (prc) {
		egress_sandbox_remove(sb->name);
		rm_rf(sb->run_dir);
		sb->run_dir[0] = '\0';
		return prc;
	}
	/* Fresh logs per boot so an error tail is about this boot. */
	unlink(console);
	unlink(elog);
	unlink(vlog);

	struct engine_vm_spec spec = {
	    .name = sb->name,
	    .kernel = as.kernel,
	    .initramfs = as.initramfs,
	    .rootfs = as.rootfs,
	    .state_img = state,
	    .vhost_socket = vhost_sock,
	    .vsock_uds = uds,
	    .console_log = console,
	    .engine_log = elog,
	    .vhost_log = vlog,
	    .vhost_bin = getenv("SBX_VHOST") ? getenv("SBX_VHOST") : vhost_bin,
	    .qemu_bin = getenv("SBX_QEMU"),
	    .vmm_bin = ctx->vmm_bin,
	    .run_dir = sb->run_dir,
	    .shares = shares,
	    .n_shares = sb->n_mounts,
	    .owner_uid = getuid(),
	    .owner_gid = getgid(),
	    .memory_mib = sb->memory_mib,
	    .cpus = sb->cpus,
	    .accel = accel,
	    .tsc_khz = ctx->tsc_khz,
	    .now = time(NULL),
	};
	snprintf(sb->accel, sizeof(sb->accel), "%s", accel_name(accel));
	snprintf(sb->status, sizeof(sb->status), "starting");
	store_update_state(ctx->store, sb);
	sbx_log("starting sandbox %s (%s, %s)", sb->name, sb->engine, sb->accel);

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (eng->start(&spec, &run, eerr, sizeof(eerr)) < 0) {
		sandbox_seterr(err, "sandbox %s did not come up: %s", sb->name, eerr);
		sbx_log("%s", err);
		sandbox_mark_stopped(ctx, sb);
		return 500;
	}
	sb->run = run;
	store_update_state(ctx->store, sb); /* pids recorded: a crash now can still reattach */

	int timeout = accel == ENGINE_ACCEL_KVM ? BOOT_TIMEOUT_KVM_MS : BOOT_TIMEOUT_TCG_MS;
	/* SBX_BOOT_TIMEOUT_S: slow hosts (the nested test bed's KVM runs inside TCG) wait longer */
	const char *bt = getenv("SBX_BOOT_TIMEOUT_S");
	if (bt && atoi(bt) > 0 && atoi(bt) <= 3600)
		timeout = atoi(bt) * 1000;
	int status = 0;
	for (;;) {
		if (!engine_proc_alive(&sb->run.vmm)) {
			engine_log_tail(elog, 3, tail, sizeof(tail));
			if (!tail[0])
				engine_log_tail(console, 5, tail, sizeof(tail));
			sandbox_seterr(err,
				       "sandbox %s did not come up: %s exited: %s (full log: %s)",
				       sb->name, vmm_name, tail[0] ? tail : "no output", console);
			status = 500;
			break;
		}
		if (!engine_proc_alive(&sb->run.vhost)) {
			engine_log_tail(vlog, 3, tail, sizeof(tail));
			sandbox_seterr(err,
				       "sandbox %s did not come up: sbx-vhost exited: %s (log: %s)",
				       sb->name, tail[0] ? tail : "no output", vlog);
			status = 500;
			break;
		}
		long left = timeout - ms_since(&t0);
		if (left <= 0) {
			engine_log_tail(console, 5, tail, sizeof(tail));
			sandbox_seterr(err, "sandbox %s did not come up in %d s: %s (full log: %s)",
				       sb->name, timeout / 1000,
				       tail[0] ? tail : "no console output", console);
			status = 504;
			break;
		}
		if (agent_wait_ready(uds, left < 1000 ? (int)left : 1000) == 0)
			break;
		usleep(100 * 1000); /* the socket may not exist yet: don't spin */
	}
	if (status) {
		sbx_log("%s", err);
		sandbox_mark_stopped(ctx, sb);
		return status;
	}
	int fd = agent_connect(uds, SBX_AGENT_PORT, 2000);
	if (fd < 0 || agent_settime(fd, 2000) < 0)
		sbx_log("sandbox %s: could not set the guest clock: %s", sb->name, strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(sb->status, sizeof(sb->status), "running");
	store_update_state(ctx->store, sb);
	sbx_log("sandbox %s running after %ld ms (%s pid %d, sbx-vhost pid %d)", sb->name,
		ms_since(&t0), vmm_name, (int)sb->run.vmm.pid, (int)sb->run.vhost.pid);
	return 200;
}

static int not_found(const char *name, char *err)
{
	sandbox_seterr(err, "no sandbox named %s (see sbx ls)", name);
	return 404;
}

static int busy_timeout(const char *name, char *err)
{
	sandbox_seterr(err,
		       "sandbox %s: another operation on it did not finish in %d s (try again)",
		       name, BUSY_WAIT_S);
	return 504;
}

int sandbox_claim(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err)
{
	int rc;

	if (!store_name_valid(name))
		return not_found(name, err);
	if (busy_acquire(name) < 0)
		return busy_timeout(name, err);
	rc = store_get(ctx->store, name, out);
	if (rc == 0)
		return 0;
	if (rc == 1) {
		rc = not_found(name, err);
	} else {
		sandbox_seterr(err, "cannot read sandbox %s: state database error", name);
		rc = 500;
	}
	sandbox_busy_release(name);
	return rc;
}

int sandbox_start(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err)
{
	int rc = sandbox_claim(ctx, name, out, err);

	if (rc)
		return rc;
	rc = strcmp(out->status, "running") == 0 ? 200 : do_start(ctx, out, err);
	sandbox_busy_release(name);
	return rc;
}

/* Stop @sb if it runs. Caller holds its busy claim. */
static void do_stop(struct sbxd_ctx *ctx, struct sbx_sandbox *sb)
{
	if (strcmp(sb->status, "stopped") == 0)
		return;
	const struct engine_ops *eng = engine_find(sb->engine);
	snprintf(sb->status, sizeof(sb->status), "stopping");
	store_update_state(ctx->store, sb);
	sbx_log("stopping sandbox %s", sb->name);
	if (engine_proc_alive(&sb->run.vmm) && sb->run_dir[0]) {
		char uds[PATH_MAX];
		if (sbx_path_join(uds, "%s/vsock.sock", sb->run_dir) == 0) {
			int fd = agent_connect(uds, SBX_AGENT_PORT, 2000);
			if (fd < 0 || agent_shutdown(fd, 5000) < 0)
				sbx_log("sandbox %s: guest did not take the shutdown request (%s): "
					"stopping its VMM",
					sb->name, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (eng)
			eng->stop(&sb->run, 15000);
	}
	sandbox_mark_stopped(ctx, sb);
	sbx_log("sandbox %s stopped", sb->name);
}

int sandbox_stop(struct sbxd_ctx *ctx, const char *name, struct sbx_sandbox *out, char *err)
{
	int rc = sandbox_claim(ctx, name, out, err);

	if (rc)
		return rc;
	do_stop(ctx, out);
	sandbox_busy_release(name);
	return 200;
}

int sandbox_rm(struct sbxd_ctx *ctx, const char *name, bool force, char *err)
{
	struct sbx_sandbox sb;
	char dir[PATH_MAX];
	int rc = sandbox_claim(ctx, name, &sb, err);

	if (rc)
		return rc;
	if (strcmp(sb.status, "stopped") != 0) {
		if (!force) {
			sandbox_seterr(
			    err, "cannot remove sandbox %s: it is %s (stop it first, or use -f)",
			    name, sb.status);
			rc = 409;
			goto out;
		}
		do_stop(ctx, &sb);
	}
	if (sandbox_data_dir(ctx, name, dir) < 0 || rm_rf(dir) < 0) {
		sandbox_seterr(err, "cannot remove sandbox %s: %s: %s (check permissions)", name,
			       dir, strerror(errno));
		rc = 500;
		goto out;
	}
	if (store_delete(ctx->store, name) < 0) {
		sandbox_seterr(err, "cannot remove sandbox %s: state database error", name);
		rc = 500;
		goto out;
	}
	netpol_sandbox_removed(name);
	if (secrets_default() &&
	    secret_store_remove_scope(secrets_default(), name, err, SBX_ERR_MAX) < 0)
		sbx_log("removed sandbox %s, but not its secrets: %s", name, err);
	sbx_log("removed sandbox %s", name);
	rc = 204;
out:
	sandbox_busy_release(name);
	return rc;
}

int sandbox_reset(struct sbxd_ctx *ctx, char *err)
{
	struct sbx_sandbox *all;
	size_t n;
	char one[SBX_ERR_MAX];
	int status = 204;

	if (store_list(ctx->store, &all, &n) < 0) {
		sandbox_seterr(err, "cannot reset: state database error");
		return 500;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = sandbox_rm(ctx, all[i].name, true, one);
		if (rc != 204 && rc != 404 && status == 204) {
			memcpy(err, one, SBX_ERR_MAX);
			status = rc;
		}
	}
	free(all);
	return status;
}
