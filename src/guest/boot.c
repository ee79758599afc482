/* PID 1's boot steps, in order: /dev (console) /proc /sys, kernel modules, the disks, the
 * overlay root (read-only base below, the state disk above), switch root, the mounts inside,
 * the shares (virtio-fs at their host paths; a single file bind-mounted from its hidden
 * /run/sbx/shares/<tag> mount), hostname, clock, lo, the egress network (net.c). Also the
 * clean power-off.
 * Runs only in the VM as PID 1; never exits: a missing base disk powers the VM off with one
 * clear console line; a share that cannot be mounted is one console line, not fatal. */
#include "guest/gi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NEWROOT "/mnt/root"
#define BASE	"/mnt/base"
#define STATE	"/mnt/state"

char gi_workspace[4096];

static void mnt(const char *src, const char *dst, const char *type, unsigned long fl,
		const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, fl, data) < 0)
		gi_log("mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

int gi_cmdline_get(const char *key, char *out, size_t n)
{
	char buf[4096], *tok, *save = NULL;
	size_t kl = strlen(key);
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (strncmp(tok, key, kl) == 0 && tok[kl] == '=') {
			snprintf(out, n, "%s", tok + kl + 1);
			return 0;
		}
	}
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one "TAG:PCT-PATH:MODE" entry of @len bytes. Return 0 or -1. */
static int share_decode(const char *e, size_t len, struct gi_share *sh)
{
	const char *c1 = memchr(e, ':', len), *c2 = NULL;
	size_t o = 0;

	for (size_t i = len; i > 0; i--)
		if (e[i - 1] == ':') {
			c2 = e + i - 1;
			break;
		}
	if (!c1 || c2 == c1 || c1 == e || (size_t)(c1 - e) > GI_SHARE_TAG_MAX)
		return -1;
	memcpy(sh->tag, e, (size_t)(c1 - e));
	sh->tag[c1 - e] = 0;
	sh->file = false;
	if ((size_t)(e + len - c2) == 3 && strncmp(c2 + 1, "rw", 2) == 0)
		sh->readonly = false;
	else if ((size_t)(e + len - c2) == 3 && strncmp(c2 + 1, "ro", 2) == 0)
		sh->readonly = true;
	else if ((size_t)(e + len - c2) == 7 && strncmp(c2 + 1, "rofile", 6) == 0)
		sh->readonly = sh->file = true;
	else
		return -1;
	for (const char *p = c1 + 1; p < c2; p++) {
		int ch = (unsigned char)*p;
		if (ch == '%') {
			int hi = p + 2 < c2 ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
			if (lo < 0)
				return -1;
			ch = hi << 4 | lo;
			p += 2;
		}
		if (ch == 0 || o + 1 >= sizeof(sh->path))
			return -1;
		sh->path[o++] = (char)ch;
	}
	sh->path[o] = 0;
	if (sh->path[0] != '/')
		return -1;
	for (const char *p = sh->path; (p = strchr(p, '/')); p++)
		if ((p[1] == '.' && (p[2] == '/' || !p[2])) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || !p[3])))
			return -1;
	if (sh->file && sh->path[o - 1] == '/')
		return -1; /* a file needs a name */
	return 0;
}

int gi_shares_parse(const char *val, struct gi_share *out, int max, int *bad)
{
	int n = 0;

	*bad = 0;
	while (val && *val) {
		const char *semi = strchr(val, ';');
		size_t len = semi ? (size_t)(semi - val) : strlen(val);

		if (len && n < max && share_decode(val, len, &out[n]) == 0)
			n++;
		else if (len)
			(*bad)++;
		val += len + (semi ? 1 : 0);
	}
	return n;
}

/* mkdir -p @path (components made 0755, owned by root). */
static void mkdir_p(const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* The one entry the host shows in a single-file share's directory @dir (its name on the host
 * differs from the path's when that path is a symlink, e.g. a dotfile) into @out as dir/name.
 * Return 0, or -1 when there is not exactly one. */
static int sole_entry(const char *dir, char *out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && found++ == 0 &&
		    (size_t)snprintf(out, n, "%s/%s", dir, e->d_name) >= n)
			found = 2; /* cannot name it: refuse */
	closedir(d);
	return found == 1 ? 0 : -1;
}

/* A single-file share: its tag at /run/sbx/shares/<tag> (the server shows only the file there),
 * then that file bind-mounted read-only at the host path, created empty (and its directory) if
 * the guest has none. Return 0 or -1 with one console line. */
static int mount_file_share(const struct gi_share *sh)
{
	const char *name = strrchr(sh->path, '/') + 1;
	char dir[4096], src[4200];
	int fd;

	snprintf(dir, sizeof(dir), "/run/sbx/shares/%s", sh->tag);
	snprintf(src, sizeof(src), "%s/%s", dir, name);
	mkdir("/run/sbx/shares", 0700);
	mkdir(dir, 0700);
	if (mount(sh->tag, dir, "virtiofs", MS_NOSUID | MS_NODEV | MS_RDONLY, NULL) < 0) {
		gi_log("mounting file share %s on %s: %s", sh->tag, dir, strerror(errno));
		return -1;
	}
	if (access(src, F_OK) < 0 && sole_entry(dir, src, sizeof(src)) < 0) {
		gi_log("file share %s: the host serves no file (%s)", sh->tag, sh->path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(name - 1 - sh->path), sh->path);
	if (dir[0])
		mkdir_p(dir);
	fd = open(sh->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	if (mount(src, sh->path, NULL, MS_BIND, NULL) < 0) {
		gi_log("bind-mounting shared file %s (%s): %s", sh->path, sh->tag, strerror(errno));
		return -1;
	}
	if (mount(NULL, sh->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0) {
		gi_log("making shared file %s read-only: %s (unmounted)", sh->path,
		       strerror(errno));
		umount2(sh->path, MNT_DETACH);
		return -1;
	}
	return 0;
}

/* Mount each share at its host path; the first one is the workspace. */
static void mount_shares(void)
{
	static struct gi_share sh[GI_SHARES_MAX];
	static char val[4096];
	int n, bad;

	if (gi_cmdline_get("sbx.shares", val, sizeof(val)) < 0)
		return;
	n = gi_shares_parse(val, sh, GI_SHARES_MAX, &bad);
	if (bad)
		gi_log("sbx.shares: %d malformed entr%s skipped", bad, bad == 1 ? "y" : "ies");
	for (int i = 0; i < n; i++) {
		unsigned long fl = MS_NOSUID | MS_NODEV | (sh[i].readonly ? MS_RDONLY : 0);

		if (sh[i].file) {
			mount_file_share(&sh[i]);
			continue;
		}
		mkdir_p(sh[i].path);
		if (mount(sh[i].tag, sh[i].path, "virtiofs", fl, NULL) < 0) {
			gi_log("mounting share %s (%s) on %s: %s", sh[i].tag,
			       sh[i].readonly ? "ro" : "rw", sh[i].path, strerror(errno));
			continue;
		}
		if (i == 0)
			memcpy(gi_workspace, sh[i].path, sizeof(gi_workspace));
	}
}

static void load_modules(void)
{
	FILE *f = fopen("/etc/sbx/modules", "re");
	char line[512], path[600];

	if (!f) {
		gi_log("no /etc/sbx/modules: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		int fd;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		snprintf(path, sizeof(path), "%s%s", line[0] == '/' ? "" : "/lib/modules/", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			gi_log("module %s: %s", path, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			gi_log("loading module %s: %s", path, strerror(errno));
		close(fd);
	}
	fclose(f);
}

/* Scan /sys/block/vd* for serials. Return: number of vd disks seen. */
static int scan_disks(char *base, char *state, size_t n)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int seen = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[300], serial[64] = "";
		int fd;
		ssize_t r;

		if (strncmp(e->d_name, "vd", 2) != 0)
			continue;
		seen++;
		snprintf(p, sizeof(p), "/sys/block/%s/serial", e->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, serial, sizeof(serial) - 1);
		close(fd);
		if (r <= 0)
			continue;
		serial[r] = 0;
		serial[strcspn(serial, "\n")] = 0;
		if (strcmp(serial, "sbx-base") == 0)
			snprintf(base, n, "/dev/%s", e->d_name);
		else if (strcmp(serial, "sbx-state") == 0)
			snprintf(state, n, "/dev/%s", e->d_name);
	}
	closedir(d);
	return seen;
}

static void power_off_now(void)
{
	sync();
	reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Find the disks, waiting up to 10 s for the base one (and 200 ms more for the state one). */
static void find_disks(char *base, char *state, size_t n)
{
	long t0 = mono_ms(), found = 0;

	base[0] = state[0] = 0;
	while (mono_ms() - t0 < 10000) {
		int seen = scan_disks(base, state, n);

		if (base[0] && !found)
			found = mono_ms();
		if (base[0] && (state[0] || seen >= 2 || mono_ms() - found >= 200))
			return;
		usleep(5000);
	}
	gi_log("no base disk (serial sbx-base) found");
	power_off_now();
}

/* Delete the initramfs's files (they stay in RAM otherwise); stays on its device. */
static void free_tree(int dfd, dev_t dev)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub >= 0)
				free_tree(sub, dev);
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(d), e->d_name, 0);
		}
	}
	closedir(d);
}

/* Our own binary as NEWROOT/run/sbx/bin/sbx-init with "runc" linked to it: the runc wrapper
 * containerd and dockerd find first in PATH (runc.c, docker.c). Never fatal. */
static void install_runc_wrapper(void)
{
	static const char dst[] = NEWROOT "/run/sbx/bin/sbx-init";
	static char buf[64 << 10];
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out = -1, e;
	ssize_t n = 0;
	bool ok;

	if (in < 0)
		in = open("/init", O_RDONLY | O_CLOEXEC);
	mkdir(NEWROOT "/run/sbx/bin", 0755);
	if (in >= 0)
		out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ok = in >= 0 && out >= 0;
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	ok = ok && n == 0 && fchmod(out, 0755) == 0;
	e = errno;
	if (out >= 0 && close(out) < 0 && ok)
		ok = false, e = errno;
	if (in >= 0)
		close(in);
	if (ok && symlink("sbx-init", NEWROOT "/run/sbx/bin/runc") < 0)
		ok = false, e = errno;
	if (!ok)
		gi_log("installing the runc wrapper (containers will not trust the proxy CA): %s",
		       strerror(e));
}

static void mount_root(const char *base, const char *state)
{
	char opts[256];

	mkdir("/mnt", 0755);
	mkdir(BASE, 0755);
	if (mount(base, BASE, "erofs", MS_RDONLY, NULL) < 0 &&
	    mount(base, BASE, "ext4", MS_RDONLY, "noload") < 0) {
		gi_log("mounting the base disk %s (erofs or ext4): %s", base, strerror(errno));
		power_off_now();
	}
	mkdir(STATE, 0755);
	if (!state[0] || mount(state, STATE, "ext4", MS_NOATIME, NULL) < 0) {
		if (state[0])
			gi_log("mounting the state disk %s: %s; changes will be lost at stop",
			       state, strerror(errno));
		else
			gi_log("no state disk (serial sbx-state); changes will be lost at stop");
		mnt("tmpfs", STATE, "tmpfs", 0, "mode=0755");
	}
	mkdir(STATE "/upper", 0755);
	mkdir(STATE "/work", 0755);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", BASE, STATE,
		 STATE);
	mkdir(NEWROOT, 0755);
	if (mount("overlay", NEWROOT, "overlay", 0, opts) < 0) {
		gi_log("mounting the overlay root: %s", strerror(errno));
		power_off_now();
	}
	mnt("tmpfs", NEWROOT "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mkdir(NEWROOT "/run/sbx", 0755);
	install_runc_wrapper();
	mnt(BASE, NEWROOT "/run/sbx/base", NULL, MS_MOVE, NULL);
	mnt(STATE, NEWROOT "/run/sbx/state", NULL, MS_MOVE, NULL);
	mnt("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL);
	mnt("/proc", NEWROOT "/proc", NULL, MS_MOVE, NULL);
	mnt("/sys", NEWROOT "/sys", NULL, MS_MOVE, NULL);
}

static void switch_root(void)
{
	struct stat st;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		gi_log("switching root: %s", strerror(errno));
		power_off_now();
	}
	if (fd >= 0 && fstat(fd, &st) == 0)
		free_tree(fd, st.st_dev); /* the old initramfs, now unreachable */
	else if (fd >= 0)
		close(fd);
}

static void mounts_inside(void)
{
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,gid=5,mode=620");
	unlink("/dev/ptmx");
	if (symlink("pts/ptmx", "/dev/ptmx") < 0)
		gi_log("/dev/ptmx: %s", strerror(errno));
	mnt("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mnt("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Make the sandbox name resolve (sudo and many tools look their own hostname up): keep
 * /etc/hosts as the user left it but for one "127.0.1.1 NAME" line, and write /etc/hostname. */
static void write_hosts(const char *name)
{
	char buf[16384], out[16384 + 300];
	size_t n = 0, o = 0;
	FILE *f = fopen("/etc/hosts", "r");

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "127.0.1.1", 9) == 0)
			continue;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", line);
	}
	if (n == 0)
		o += (size_t)snprintf(out + o, sizeof(out) - o,
				      "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
	o += (size_t)snprintf(out + o, sizeof(out) - o, "127.0.1.1\t%s\n", name);
	f = fopen("/etc/hosts", "w");
	if (!f || fwrite(out, 1, o, f) != o || fclose(f) != 0)
		gi_log("/etc/hosts: %s", strerror(errno));
	f = fopen("/etc/hostname", "w");
	if (!f || fprintf(f, "%s\n", name) < 0 || fclose(f) != 0)
		gi_log("/etc/hostname: %s", strerror(errno));
}

static void set_identity(void)
{
	char v[256];
	int s;
	struct ifreq ifr;

	if (gi_cmdline_get("sbx.name", v, sizeof(v)) == 0) {
		if (sethostname(v, strlen(v)) < 0)
			gi_log("hostname %s: %s", v, strerror(errno));
		write_hosts(v);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		gi_log("bringing up lo: %s", strerror(errno));
	if (s >= 0)
		close(s);
}

static void set_clock(void)
{
	char v[32];
	struct timespec ts = {0};

	if (gi_cmdline_get("sbx.time", v, sizeof(v)) < 0)
		return;
	ts.tv_sec = (time_t)strtoll(v, NULL, 10);
	if (ts.tv_sec > 0 && clock_settime(CLOCK_REALTIME, &ts) < 0)
		gi_log("setting the clock: %s", strerror(errno));
}

void gi_boot(void)
{
	char base[300], state[300];
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	set_clock();
	load_modules();
	gi_docker_prepare(); /* Docker's modules, loaded after "ready" */
	find_disks(base, state, sizeof(base));
	mount_root(base, state);
	switch_root();
	mounts_inside();
	mount_shares();
	set_identity();
	gi_net_setup(); /* in the real root (resolv.conf); its modules were loaded above */
}

void gi_poweroff(void)
{
	int st, i;

	gi_log("shutting down");
	kill(-1, SIGTERM);
	kill(-1, SIGCONT);
	for (i = 0; i < 500; i++) {
		while (waitpid(-1, &st, WNOHANG) > 0)
			;
		if (waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
	kill(-1, SIGKILL);
	for (i = 0; i < 200; i++) {
		if (waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
	sync();
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		gi_log("remounting / read-only: %s", strerror(errno));
	if (mount(NULL, "/run/sbx/state", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 &&
	    errno != EINVAL)
		gi_log("remounting the state disk read-only: %s", strerror(errno));
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
