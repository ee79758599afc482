/* TLS interception for hosts with a bound secret: sbxd is the TLS server to the guest (a leaf
 * minted by the per-install CA for exactly the connection's host, SNI required to match) and
 * a verifying TLS client to the real host (system trust store, or SBX_TLS_UPSTREAM_CA), HTTP/1.1
 * only (ALPN both ways). Request heads go through req_rewrite.h, which puts the real key in;
 * responses are relayed as they arrive. Both TLS sessions run on memory BIOs so the egress
 * loop's sockets stay non-blocking: raw bytes are read and written here, OpenSSL only sees
 * buffers. Never logs a key; never relays a byte to an upstream whose certificate failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "daemon/egress/egress_int.h"
#include "daemon/egress/mitm.h"
#include "daemon/proxy/http_head.h"
#include "daemon/proxy/req_rewrite.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"
#include "daemon/tls/ca_default.h"
#include "daemon/tls/leaf.h"

#define MITM_PLAIN    (16u << 10)  /* plaintext buffers, each way */
#define MITM_BIO_HIGH (256u << 10) /* stop producing into a memory BIO above this */
#define MITM_ROUNDS   16 /* pump rounds per wake-up: one busy connection never starves others */

/* offered upstream; the guest side's ALPN is the leaf context's (tls/leaf.h) */
static const unsigned char alpn_h1[] = "\x08http/1.1";

struct eg_mitm {
	SSL *cs, *us;		/* guest side (we serve), upstream side (we connect) */
	BIO *c_in, *c_out;	/* owned by cs */
	BIO *u_in, *u_out;	/* owned by us */
	struct iobuf uout;	/* raw bytes for the upstream socket */
	struct iobuf pin, pout; /* client plaintext: before and after the rewriter */
	struct req_rw *rw;
	bool c_hs, u_hs, u_fail;
	bool c_closed, u_closed; /* TLS stream ended (close_notify, EOF or error) */
	bool c_sent_close, u_sent_close;
	bool more; /* the pump stopped at its round limit with work left: run it again soon */
};

/* Touched only on the egress thread. */
static struct tls_leaf_cache *leaves;
static SSL_CTX *upstream_ctx;

const char *eg_mitm_upstream_ca(void)
{
	const char *f = getenv("SBX_TLS_UPSTREAM_CA");

	return f && f[0] ? f : NULL;
}

static SSL_CTX *get_upstream_ctx(void)
{
	const char *ca = eg_mitm_upstream_ca();
	SSL_CTX *x;

	if (upstream_ctx)
		return upstream_ctx;
	x = SSL_CTX_new(TLS_client_method());
	if (!x)
		return NULL;
	SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
	SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
	if ((ca ? SSL_CTX_load_verify_locations(x, ca, NULL)
		: SSL_CTX_set_default_verify_paths(x)) != 1 ||
	    SSL_CTX_set_alpn_protos(x, alpn_h1, sizeof(alpn_h1) - 1) != 0) {
		sbx_log("egress: cannot load the upstream trust store %s", ca ? ca : "(system)");
		SSL_CTX_free(x);
		return NULL;
	}
	upstream_ctx = x;
	return x;
}

/* The secret for @c, if any: fills @info and @value. Return 0 found, else -1. */
static int find_secret(const struct eg_conn *c, struct secret_info *info, char *value, size_t vlen)
{
	struct secret_store *s = secrets_default();

	if (!s || !tls_ca_default() || !c->host[0])
		return -1;
	return secret_store_find(s, c->sb->name, c->sb->created, c->host, info, value, vlen) == 0
		   ? 0
		   : -1;
}

bool eg_mitm_wanted(const struct eg_conn *c)
{
	struct secret_info info;

	return find_secret(c, &info, NULL, 0) == 0;
}

void eg_mitm_free(struct eg_mitm *m)
{
	if (!m)
		return;
	SSL_free(m->cs);
	SSL_free(m->us);
	iobuf_free(&m->uout);
	if (m->pin.d)
		OPENSSL_cleanse(m->pin.d, m->pin.cap);
	if (m->pout.d)
		OPENSSL_cleanse(m->pout.d, m->pout.cap); /* rewritten heads hold the key */
	iobuf_free(&m->pin);
	iobuf_free(&m->pout);
	req_rw_free(m->rw);
	free(m);
}

/* The rewriter for @c's secret. */
static struct req_rw *make_rewriter(const struct eg_conn *c)
{
	struct secret_info info;
	char *value = malloc(SECRET_VALUE_MAX + 1);
	struct req_rw_conf conf = {.host = c->host};
	struct req_rw *rw = NULL;

	if (!value)
		return NULL;
	if (find_secret(c, &info, value, SECRET_VALUE_MAX + 1) == 0) {
		conf.value = value;
		if (info.kind == SECRET_CUSTOM) {
			conf.placeholder = info.placeholder;
		} else {
			const struct secret_service *svc = secret_service_find(info.name);

			conf.header = svc ? svc->header : NULL;
			conf.prefix = svc ? svc->prefix : NULL;
		}
		rw = req_rw_new(&conf);
	}
	OPENSSL_cleanse(value, SECRET_VALUE_MAX + 1);
	free(value);
	return rw;
}

static int setup_fail(struct eg_conn *c, struct eg_mitm *m, const char *why)
{
	snprintf(c->reason, sizeof(c->reason), "interception: %.140s", why);
	eg_mitm_free(m);
	return -1;
}

int eg_mitm_begin(struct eg_conn *c)
{
	char err[256];
	struct eg_mitm *m;
	SSL_CTX *lctx, *uctx;

	if (!eg_mitm_wanted(c))
		return 0;
	if (!leaves && !(leaves = tls_leaf_cache_new(tls_ca_default(), 0)))
		return setup_fail(c, NULL, "cannot make the leaf cache");
	m = calloc(1, sizeof(*m));
	if (!m || iobuf_init(&m->uout, EG_C2U_CAP) < 0 || iobuf_init(&m->pin, MITM_PLAIN) < 0 ||
	    iobuf_init(&m->pout, MITM_PLAIN) < 0)
		return setup_fail(c, m, "out of memory");
	if (!(m->rw = make_rewriter(c)))
		return setup_fail(c, m, "no usable secret");
	lctx = tls_leaf_for_host(leaves, c->host, err, sizeof(err));
	if (!lctx)
		return setup_fail(c, m, err);
	m->cs = SSL_new(lctx);
	SSL_CTX_free(lctx);
	uctx = get_upstream_ctx();
	m->us = uctx ? SSL_new(uctx) : NULL;
	m->c_in = BIO_new(BIO_s_mem());
	m->c_out = BIO_new(BIO_s_mem());
	m->u_in = BIO_new(BIO_s_mem());
	m->u_out = BIO_new(BIO_s_mem());
	if (!m->cs || !m->us || !m->c_in || !m->c_out || !m->u_in || !m->u_out) {
		BIO_free(m->c_in);
		BIO_free(m->c_out);
		BIO_free(m->u_in);
		BIO_free(m->u_out);
		return setup_fail(c, m, "cannot set up TLS");
	}
	SSL_set_bio(m->cs, m->c_in, m->c_out);
	SSL_set_bio(m->us, m->u_in, m->u_out);
	SSL_set_accept_state(m->cs);
	SSL_set_connect_state(m->us);
	if (SSL_set_tlsext_host_name(m->us, c->host) != 1 || SSL_set1_host(m->us, c->host) != 1)
		return setup_fail(c, m, "bad host name for TLS");
	c->mitm = m;
	c->state = EG_ST_MITM;
	c->proxy = "intercept";
	c->deadline = eg_now_ms() + EG_HEAD_MS;
	return 1;
}

/* ---- the pump ---- */

/* Raw socket bytes into a session's input BIO. Return bytes moved, -1 peer gone. */
static ssize_t raw_in(int fd, BIO *in, bool *eof)
{
	uint8_t b[16384];
	ssize_t n;

	if (*eof || BIO_ctrl_pending(in) >= MITM_BIO_HIGH)
		return 0;
	n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		*eof = true;
		BIO_set_mem_eof_return(in, 0); /* the session sees EOF once the BIO is drained */
		return n < 0 ? -1 : 0;
	}
	BIO_write(in, b, (int)n);
	return n;
}

/* A session's output BIO into @buf. Return bytes moved. */
static size_t bio_out(BIO *out, struct iobuf *buf)
{
	size_t want = BIO_ctrl_pending(out);
	int n;

	if (!want)
		return 0;
	if (buf->len == buf->cap)
		iobuf_compact(buf);
	if (want > buf->cap - buf->len)
		want = buf->cap - buf->len;
	if (!want)
		return 0;
	n = BIO_read(out, buf->d + buf->len, (int)want);
	if (n <= 0)
		return 0;
	buf->len += (size_t)n;
	return (size_t)n;
}

/* Our own response to the guest inside its TLS session, then the end. */
static enum eg_mitm_next answer(struct eg_conn *c, int status, const char *why)
{
	struct eg_mitm *m = c->mitm;
	char resp[1024], body[512];
	int n;

	snprintf(c->reason, sizeof(c->reason), "%s", why);
	snprintf(body, sizeof(body), "sbx: %.253s:%u: %.200s\n", c->host, c->port, why);
	n = http_resp_simple(resp, sizeof(resp), status, NULL, body);
	if (n > 0)
		SSL_write(m->cs, resp, n);
	SSL_shutdown(m->cs);
	while (bio_out(m->c_out, &c->u2c))
		;
	return EG_MITM_FINISH;
}

/* SSL_read result: true if the stream ended for good. */
static bool read_ended(SSL *s, int r)
{
	int e = SSL_get_error(s, r);

	return e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
}

static enum eg_mitm_next handshakes(struct eg_conn *c, bool *progress)
{
	struct eg_mitm *m = c->mitm;
	int r;

	if (!m->c_hs) {
		r = SSL_do_handshake(m->cs);
		if (r == 1) {
			const char *sni = SSL_get_servername(m->cs, TLSEXT_NAMETYPE_host_name);

			m->c_hs = *progress = true;
			if (!sni || strcasecmp(sni, c->host) != 0) {
				snprintf(c->reason, sizeof(c->reason),
					 "interception: TLS SNI is not the host");
				return EG_MITM_CLOSE;
			}
		} else if (read_ended(m->cs, r)) {
			snprintf(c->reason, sizeof(c->reason),
				 "interception: the guest's TLS handshake failed (does it trust "
				 "sbx's CA?)");
			ERR_clear_error();
			return EG_MITM_CLOSE;
		}
	}
	if (!m->u_hs && !m->u_fail) {
		r = SSL_do_handshake(m->us);
		if (r == 1) {
			m->u_hs = *progress = true;
		} else if (read_ended(m->us, r)) {
			long v = SSL_get_verify_result(m->us);

			m->u_fail = *progress = true;
			snprintf(c->reason, sizeof(c->reason), "upstream TLS failed: %s",
				 v != X509_V_OK ? X509_verify_cert_error_string(v)
						: "handshake error");
			ERR_clear_error();
		}
	}
	if (m->u_fail && m->c_hs) {
		char why[sizeof(c->reason)];

		snprintf(why, sizeof(why), "%s", c->reason);
		return answer(c, 502, why);
	}
	return EG_MITM_GO;
}

/* Guest plaintext -> rewriter -> upstream session. */
static enum eg_mitm_next relay_requests(struct eg_conn *c, bool *progress)
{
	struct eg_mitm *m = c->mitm;
	int r;

	while (!m->c_closed && iobuf_room(&m->pin) > 0) {
		if (m->pin.len == m->pin.cap)
			iobuf_compact(&m->pin);
		r = SSL_read(m->cs, m->pin.d + m->pin.len, (int)(m->pin.cap - m->pin.len));
		if (r > 0) {
			m->pin.len += (size_t)r;
			*progress = true;
		} else {
			if (read_ended(m->cs, r)) {
				m->c_closed = *progress = true;
				ERR_clear_error();
			}
			break;
		}
	}
	for (;;) {
		size_t used;
		ssize_t w;

		if (m->pout.len == m->pout.cap)
			iobuf_compact(&m->pout);
		w = req_rw_feed(m->rw, m->pin.d + m->pin.off, iobuf_data(&m->pin), &used,
				m->pout.d + m->pout.len, m->pout.cap - m->pout.len);
		if (w < 0)
			return answer(c, (int)-w, req_rw_why(m->rw));
		iobuf_consume(&m->pin, used);
		m->pout.len += (size_t)w;
		if (w || used)
			*progress = true;
		if (!iobuf_data(&m->pout) || BIO_ctrl_pending(m->u_out) >= MITM_BIO_HIGH)
			break;
		r = SSL_write(m->us, m->pout.d + m->pout.off, (int)iobuf_data(&m->pout));
		if (r <= 0) {
			snprintf(c->reason, sizeof(c->reason), "upstream TLS write failed");
			ERR_clear_error();
			return EG_MITM_CLOSE;
		}
		iobuf_consume(&m->pout, (size_t)r);
		if (!w && !used)
			break;
	}
	if (m->c_closed && !iobuf_data(&m->pin) && !iobuf_data(&m->pout) && !m->u_sent_close) {
		SSL_shutdown(m->us);
		m->u_sent_close = true;
	}
	return EG_MITM_GO;
}

/* Upstream plaintext -> guest session, as it comes. */
static void relay_responses(struct eg_conn *c, bool *progress)
{
	struct eg_mitm *m = c->mitm;
	char b[16384];
	int r;

	while (!m->u_closed && BIO_ctrl_pending(m->c_out) < MITM_BIO_HIGH) {
		r = SSL_read(m->us, b, sizeof(b));
		if (r <= 0) {
			if (read_ended(m->us, r)) {
				m->u_closed = *progress = true;
				ERR_clear_error();
			}
			break;
		}
		*progress = true;
		if (SSL_write(m->cs, b, r) != r) {
			m->u_closed = true;
			ERR_clear_error();
			break;
		}
	}
	OPENSSL_cleanse(b, sizeof(b));
	if (m->u_closed && !m->c_sent_close) {
		SSL_shutdown(m->cs);
		m->c_sent_close = true;
	}
}

enum eg_mitm_next eg_mitm_pump(struct eg_conn *c)
{
	struct eg_mitm *m = c->mitm;
	enum eg_mitm_next nx;

	m->more = false;
	for (int round = 0; round < MITM_ROUNDS; round++) {
		bool progress = false;
		ssize_t n;
		int w;

		if (iobuf_data(&c->c2u)) { /* bytes read before interception began */
			BIO_write(m->c_in, c->c2u.d + c->c2u.off, (int)iobuf_data(&c->c2u));
			c->c2u.off = c->c2u.len = 0;
			progress = true;
		}
		n = raw_in(c->cfd, m->c_in, &c->c_eof);
		if (n < 0)
			return EG_MITM_CLOSE;
		progress |= n > 0;
		n = raw_in(c->ufd, m->u_in, &c->u_eof);
		progress |= n > 0;
		nx = handshakes(c, &progress);
		if (nx != EG_MITM_GO)
			return nx;
		if (m->c_hs && m->u_hs) {
			nx = relay_requests(c, &progress);
			if (nx != EG_MITM_GO)
				return nx;
			relay_responses(c, &progress);
		}
		/* bytes written count as progress too: a full buffer just sent makes room for what
		 * the sessions still hold, and no socket event would announce that */
		progress |= bio_out(m->u_out, &m->uout) > 0;
		w = iobuf_write(c->ufd, &m->uout, &c->bytes);
		if (w < 0) {
			m->u_closed = true; /* deliver what we have, then end */
			m->uout.off = m->uout.len = 0;
		}
		progress |= w > 0;
		progress |= bio_out(m->c_out, &c->u2c) > 0;
		w = iobuf_write(c->cfd, &c->u2c, &c->bytes);
		if (w < 0)
			return EG_MITM_CLOSE;
		progress |= w > 0;
		if (c->c_eof && !m->c_hs)
			return EG_MITM_CLOSE;
		if (m->u_closed && m->c_sent_close && !iobuf_data(&c->u2c) &&
		    !BIO_ctrl_pending(m->c_out))
			return EG_MITM_CLOSE;
		if (m->c_closed && (c->u_eof || !m->u_hs) && !iobuf_data(&m->uout))
			return EG_MITM_CLOSE;
		if (!progress)
			break;
		if (m->c_hs && m->u_hs)
			c->deadline = eg_now_ms() + EG_IDLE_MS;
		/* bytes may now wait inside the BIOs and sessions where no socket event will
		 * announce them (the upstream already sent everything): ask for another turn */
		m->more = round == MITM_ROUNDS - 1;
	}
	return EG_MITM_GO;
}

void eg_mitm_interest(const struct eg_conn *c, uint32_t *cw, uint32_t *uw)
{
	const struct eg_mitm *m = c->mitm;

	*cw = *uw = 0;
	if (!c->c_eof && BIO_ctrl_pending(m->c_in) < MITM_BIO_HIGH)
		*cw |= EPOLLIN;
	if (iobuf_data(&c->u2c) || m->more) /* more: the guest's socket is writable soon */
		*cw |= EPOLLOUT;
	if (!c->u_eof && BIO_ctrl_pending(m->u_in) < MITM_BIO_HIGH)
		*uw |= EPOLLIN;
	if (iobuf_data(&m->uout))
		*uw |= EPOLLOUT;
}
