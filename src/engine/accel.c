/* KVM/TCG probe and host TSC frequency (see accel.h). Reads /dev/kvm, /proc/cpuinfo and
 * /sys/module only; never creates a VM and never waits on anything. */
#include "engine/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read a small /proc file whole (NUL-terminated, malloc'd). NULL on failure. */
static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0 || len < cap - 1)
			break;
		if (cap >= (64u << 20))
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* True if the space-separated @list contains the word @w. */
static bool has_word(const char *list, size_t len, const char *w)
{
	size_t wl = strlen(w);
	for (size_t i = 0; i + wl <= len; i++) {
		if ((i == 0 || list[i - 1] == ' ' || list[i - 1] == '\t') &&
		    memcmp(list + i, w, wl) == 0 &&
		    (i + wl == len || list[i + wl] == ' ' || list[i + wl] == '\n'))
			return true;
	}
	return false;
}

bool accel_cpuinfo_has_virt(const char *cpuinfo)
{
	const char *line = cpuinfo;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (strncmp(line, "flags", 5) == 0) {
			const char *colon = memchr(line, ':', len);
			if (colon) {
				size_t off = (size_t)(colon + 1 - line);
				if (has_word(colon + 1, len - off, "vmx") ||
				    has_word(colon + 1, len - off, "svm"))
					return true;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

long accel_tsc_khz_parse(const char *cpuinfo)
{
	const char *p = cpuinfo;
	while (p && *p) {
		if (strncmp(p, "cpu MHz", 7) == 0) {
			const char *colon = strchr(p, ':');
			const char *eol = strchr(p, '\n');
			if (!colon || (eol && colon > eol))
				return 0;
			char *end;
			errno = 0;
			double mhz = strtod(colon + 1, &end);
			if (errno || end == colon + 1 || mhz <= 0 || mhz > 1e6)
				return 0;
			return (long)(mhz * 1000.0);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

long accel_tsc_khz(void)
{
	char *ci = read_small("/proc/cpuinfo");
	if (!ci)
		return 0;
	long k = accel_tsc_khz_parse(ci);
	free(ci);
	return k;
}

static void set_why(char *why, size_t len, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s", msg);
}

enum engine_accel accel_probe(char *why, size_t whylen)
{
	struct stat st;
	set_why(why, whylen, "");
	/* O_NONBLOCK: a character device open never waits on anything here. */
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		set_why(why, whylen, "/dev/kvm cannot be opened");
		return ENGINE_ACCEL_TCG;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		set_why(why, whylen, "/dev/kvm does not answer KVM_GET_API_VERSION");
		return ENGINE_ACCEL_TCG;
	}
	if (stat("/sys/module/kvm_pvm", &st) == 0) {
		set_why(why, whylen, "/dev/kvm is PVM, which cannot run a stock kernel");
		return ENGINE_ACCEL_TCG;
	}
	char *ci = read_small("/proc/cpuinfo");
	bool virt = ci && accel_cpuinfo_has_virt(ci);
	free(ci);
	if (!virt) {
		set_why(why, whylen, "the CPU has no vmx/svm");
		return ENGINE_ACCEL_TCG;
	}
	return ENGINE_ACCEL_KVM;
}

const char *accel_name(enum engine_accel a)
{
	return a == ENGINE_ACCEL_KVM ? "kvm" : "tcg";
}

int accel_parse(const char *s, enum engine_accel *out)
{
	if (strcmp(s, "kvm") == 0)
		*out = ENGINE_ACCEL_KVM;
	else if (strcmp(s, "tcg") == 0)
		*out = ENGINE_ACCEL_TCG;
	else
		return -1;
	return 0;
}
