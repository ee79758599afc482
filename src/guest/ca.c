/* The guest's trust in sbxd's proxy CA (src/proto/ca.h): at boot, PID 1 reads the CA's PEM
 * from the host's CA_PORT (2 s at most), checks it, writes it to CA_GUEST_CERT and puts it
 * into CA_GUEST_BUNDLE as one marked block (replacing the block of an earlier boot: the state
 * disk keeps /etc), and names both in the environment of every exec, login shell and sudo.
 * Never runs update-ca-certificates (slow under TCG); never fatal. No TLS code in here. */
#include "guest/gi.h"
#include "proto/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEM_BEGIN   "-----BEGIN CERTIFICATE-----"
#define PEM_END	    "-----END CERTIFICATE-----"
#define BLOCK_BEGIN "# BEGIN sbx proxy CA"
#define BLOCK_END   "# END sbx proxy CA"
#define FETCH_MS    2000
#define BUNDLE_MAX  (8u << 20) /* Debian's is ~220 KiB */
#define GI_AF_VSOCK 40
#define GI_HOST_CID 2u

bool gi_ca_trusted;

const char *const gi_ca_env[][2] = {
    {"NODE_EXTRA_CA_CERTS", CA_GUEST_CERT},  {"SSL_CERT_FILE", CA_GUEST_BUNDLE},
    {"REQUESTS_CA_BUNDLE", CA_GUEST_BUNDLE}, {"CURL_CA_BUNDLE", CA_GUEST_BUNDLE},
    {"GIT_SSL_CAINFO", CA_GUEST_BUNDLE},     {NULL, NULL},
};

int gi_ca_pem_check(const char *pem, size_t len)
{
	if (len == 0 || len > CA_PEM_MAX || len < sizeof(PEM_BEGIN) - 1 ||
	    memcmp(pem, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)pem[i];

		if (!(ch == '\n' || ch == '\r' || (ch >= 0x20 && ch < 0x7f)))
			return -1;
	}
	if (!memmem(pem, len, PEM_END, sizeof(PEM_END) - 1))
		return -1;
	return 0;
}

/* Length of the line at @p (up to @end), its '\n' included. */
static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
}

static bool line_is(const char *p, size_t n, const char *marker)
{
	size_t m = strlen(marker);

	return n >= m && memcmp(p, marker, m) == 0 && (n == m || p[m] == ' ' || p[m] == '\n');
}

size_t gi_ca_bundle_merge(const char *old, size_t oldlen, const char *pem, size_t pemlen, char *out,
			  size_t cap)
{
	static const char head[] = BLOCK_BEGIN " (sbx-init writes this block at every boot)\n";
	static const char tail[] = BLOCK_END "\n";
	const char *p = old, *end = old + oldlen;
	bool skipping = false;
	size_t o = 0;

	while (p < end) {
		size_t n = line_len(p, end);

		if (!skipping && line_is(p, n, BLOCK_BEGIN)) {
			skipping = true; /* an unterminated block runs to the end: it was ours */
		} else if (skipping) {
			if (line_is(p, n, BLOCK_END))
				skipping = false;
		} else {
			if (o + n > cap)
				return 0;
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	bool nl_old = o > 0 && out[o - 1] != '\n';
	bool nl_pem = pemlen > 0 && pem[pemlen - 1] != '\n';
	size_t need = nl_old + (sizeof(head) - 1) + pemlen + nl_pem + (sizeof(tail) - 1);

	if (o + need > cap)
		return 0;
	if (nl_old)
		out[o++] = '\n';
	memcpy(out + o, head, sizeof(head) - 1);
	o += sizeof(head) - 1;
	memcpy(out + o, pem, pemlen);
	o += pemlen;
	if (nl_pem)
		out[o++] = '\n';
	memcpy(out + o, tail, sizeof(tail) - 1);
	return o + sizeof(tail) - 1;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* struct sockaddr_vm, spelled out: musl's headers do not carry <linux/vm_sockets.h>. */
struct ca_vsa {
	unsigned short family, reserved1;
	unsigned int port, cid;
	unsigned char flags, zero[3];
};

/* Read the host's PEM into @buf (@cap bytes) within FETCH_MS. Return its length (0: the host
 * has no CA), or -1 with *@why set. */
static long fetch(char *buf, size_t cap, const char **why)
{
	struct ca_vsa sa = {.family = GI_AF_VSOCK, .port = CA_PORT, .cid = GI_HOST_CID};
	long t0 = mono_ms();
	size_t len = 0;
	int fd = socket(GI_AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	*why = "vsock socket";
	if (fd < 0)
		return -1;
	*why = "connecting to the host";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto fail;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = FETCH_MS - (mono_ms() - t0);
		ssize_t n;

		*why = "no answer from the host in 2 s";
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			goto fail_silent;
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*why = len ? "reading from the host" : "connecting to the host";
			goto fail;
		}
		len += (size_t)n;
		*why = "the host sent more than 16 KiB";
		if (len == cap)
			goto fail_silent;
	}
	close(fd);
	return (long)len;
fail_silent:
	errno = 0;
fail : {
	int e = errno;

	close(fd);
	errno = e;
}
	return -1;
}

/* Install @pem (@len bytes, checked): the certificate file and the bundle's block. */
static int install(const char *pem, size_t len, const char **why)
{
	size_t oldlen = 0, cap, n;
	char *old, *out;

	mkdir("/usr/local/share/ca-certificates", 0755);
	*why = "writing " CA_GUEST_CERT;
	if (gi_file_write_atomic(CA_GUEST_CERT, pem, len, 0644, true) < 0)
		return -1;
	*why = "reading " CA_GUEST_BUNDLE;
	old = gi_file_read(CA_GUEST_BUNDLE, BUNDLE_MAX, &oldlen);
	if (!old && errno != ENOENT)
		return -1;
	cap = oldlen + len + 256;
	out = malloc(cap);
	*why = "building " CA_GUEST_BUNDLE;
	n = out ? gi_ca_bundle_merge(old ? old : "", oldlen, pem, len, out, cap) : 0;
	if (n && old && n == oldlen && memcmp(old, out, n) == 0) {
		free(old); /* the same CA as at the last boot: nothing to write */
		free(out);
		return 0;
	}
	free(old);
	if (!n) {
		free(out);
		errno = ENOMEM;
		return -1;
	}
	mkdir("/etc/ssl", 0755);
	mkdir("/etc/ssl/certs", 0755);
	*why = "writing " CA_GUEST_BUNDLE;
	if (gi_file_write_atomic(CA_GUEST_BUNDLE, out, n, 0644, true) < 0) {
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* The variables for login shells and sudo (an exec's own environment wins), or neither file
 * when the guest has no CA. */
static void write_env_files(void)
{
	char prof[1024];
	size_t o = 0;
	struct stat st;

	if (!gi_ca_trusted) {
		unlink("/etc/profile.d/sbx-ca.sh");
		unlink("/etc/sudoers.d/sbx-ca");
		return;
	}
	o += (size_t)snprintf(prof, sizeof(prof), "# sbx: trust sbxd's proxy CA (sbx-init)\n");
	for (size_t i = 0; gi_ca_env[i][0]; i++)
		o += (size_t)snprintf(prof + o, sizeof(prof) - o, ": \"${%s:=%s}\"; export %s\n",
				      gi_ca_env[i][0], gi_ca_env[i][1], gi_ca_env[i][0]);
	if (stat("/etc/profile.d", &st) == 0 && S_ISDIR(st.st_mode) &&
	    gi_file_write_atomic("/etc/profile.d/sbx-ca.sh", prof, o, 0644, true) < 0)
		gi_log("writing /etc/profile.d/sbx-ca.sh: %s", strerror(errno));
	static const char sudo[] = "Defaults env_keep += \"NODE_EXTRA_CA_CERTS SSL_CERT_FILE "
				   "REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO\"\n";
	if (stat("/etc/sudoers.d", &st) == 0 && S_ISDIR(st.st_mode) &&
	    gi_file_write_atomic("/etc/sudoers.d/sbx-ca", sudo, sizeof(sudo) - 1, 0440, true) < 0)
		gi_log("writing /etc/sudoers.d/sbx-ca: %s", strerror(errno));
}

void gi_ca_setup(void)
{
	char *pem = malloc(CA_PEM_MAX + 1);
	const char *why = "out of memory";
	long n = pem ? fetch(pem, CA_PEM_MAX + 1, &why) : -1;

	if (n < 0)
		gi_log("proxy CA not installed: %s%s%s", why, errno ? ": " : "",
		       errno ? strerror(errno) : "");
	else if (n == 0)
		gi_log("proxy CA not installed: the host has none (see sbxd.log)");
	else if (gi_ca_pem_check(pem, (size_t)n) < 0)
		gi_log("proxy CA not installed: the host sent no PEM certificate");
	else if (install(pem, (size_t)n, &why) < 0)
		gi_log("proxy CA not installed: %s: %s", why, strerror(errno));
	else
		gi_log("proxy CA installed (%ld bytes)", n);
	free(pem);
	/* an earlier boot's CA still serves when this one got none (sbxd keeps its CA) */
	gi_ca_trusted = access(CA_GUEST_CERT, R_OK) == 0 && access(CA_GUEST_BUNDLE, R_OK) == 0;
	write_env_files();
}
