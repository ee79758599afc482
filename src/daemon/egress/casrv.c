/* The proxy-CA handout (src/proto/ca.h): each stream a guest opens to CA_PORT gets sbxd's CA
 * certificate as PEM, written without blocking from the egress loop, then closed. Reads
 * nothing from the guest; with no CA the stream closes at once. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/err.h"
#include "daemon/egress/egress_int.h"
#include "daemon/tls/ca.h"
#include "daemon/tls/ca_default.h"
#include "proto/ca.h"

void eg_ca_start(struct eg_conn *c)
{
	const struct tls_ca *ca = tls_ca_default();
	const char *pem = ca ? tls_ca_pem(ca) : NULL;
	size_t n = pem ? strlen(pem) : 0;

	c->proxy = "ca";
	c->state = EG_ST_FINISH;
	if (!n || n > CA_PEM_MAX || iobuf_put(&c->u2c, pem, n) != n) {
		eg_conn_close(c);
		return;
	}
	eg_ca_event(c, c->cfd, EPOLLOUT);
}

void eg_ca_event(struct eg_conn *c, int fd, uint32_t events)
{
	(void)fd;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
		eg_conn_close(c);
		return;
	}
	if (iobuf_write(c->cfd, &c->u2c, &c->bytes) < 0 || iobuf_data(&c->u2c) == 0) {
		eg_conn_close(c); /* sent (the guest reads to EOF) or the guest went away */
		return;
	}
	eg_conn_update(c);
}
