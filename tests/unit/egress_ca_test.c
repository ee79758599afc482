/* Unit tests of sbxd's proxy-CA handout (src/daemon/tls/ca_default.c, egress/casrv.c) on its
 * real sockets: with no CA the CA_PORT stream closes empty; once the process-wide CA is made,
 * every stream carries exactly ca.pem and ends; a second init keeps the same CA; removing the
 * sandbox removes the listener. */
#include "daemon/tls/ca.h"
#include "daemon/tls/ca_default.h"
#include "egress_harness.h"
#include "guest/gi.h"
#include "proto/ca.h"
#include "t.h"

#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sbx_paths paths;

/* Everything the host sends on one CA_PORT stream, to EOF; -1 when it cannot connect or
 * the stream does not end. */
static long fetch(char *b, size_t cap)
{
	int fd = eh_guest_connect(CA_PORT);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n < cap && (r = read(fd, b + n, cap - n)) > 0)
		n += (size_t)r;
	r = n < cap ? read(fd, b, 1) : 1;
	close(fd);
	return r == 0 ? (long)n : -1;
}

static char *slurp(const char *path, size_t *len)
{
	static char b[CA_PEM_MAX];
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	*len = fread(b, 1, sizeof(b), f);
	fclose(f);
	return b;
}

TEST(no_ca_closes_at_once)
{
	char b[64];

	CHECK(tls_ca_default() == NULL);
	CHECK_EQ(fetch(b, sizeof(b)), 0);
}

TEST(ca_served_to_each_stream)
{
	static char b[CA_PEM_MAX + 1];
	char path[PATH_MAX + 32];
	const struct tls_ca *ca;
	size_t flen = 0;
	const char *file;

	CHECK_EQ(tls_ca_default_init(&paths), 0);
	ca = tls_ca_default();
	CHECK(ca != NULL);
	snprintf(path, sizeof(path), "%s/tls/ca.pem", paths.data);
	file = slurp(path, &flen);
	CHECK(file != NULL && flen > 0);
	for (int i = 0; i < 3 && file; i++) {
		long n = fetch(b, sizeof(b));

		CHECK_EQ(n, (long)flen);
		CHECK(n > 0 && memcmp(b, file, flen) == 0);
		CHECK(n > 0 && memcmp(b, tls_ca_pem(ca), (size_t)n) == 0);
		CHECK_EQ(gi_ca_pem_check(b, (size_t)n), 0); /* what the guest accepts */
	}
	CHECK_EQ(tls_ca_default_init(&paths), 0);
	CHECK(tls_ca_default() == ca);
}

TEST(remove_closes_the_listener)
{
	egress_sandbox_remove("sb");
	CHECK_EQ(eh_guest_connect(CA_PORT), -1);
}

int main(void)
{
	char err[256] = "";

	if (eh_tmpdir("/tmp/sbx-egress-ca-test-XXXXXX", &paths) < 0)
		return 1;
	if (eh_sandbox_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "egress_ca_test: set-up failed: %s\n", err);
		return 1;
	}
	RUN(no_ca_closes_at_once);
	RUN(ca_served_to_each_stream);
	RUN(remove_closes_the_listener);
	eh_finish(NULL);
	T_EXIT();
}
