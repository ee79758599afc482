/* vhost-user backend (see vhost_user.h): message loop, memory table, rings, eventfds.
 * Owns mmap/munmap of frontend memory and every fd the frontend passes. A bad message drops
 * the frontend with one log line; never crashes, never blocks longer than a message read.
 * Devices may notify from worker threads: call fds are swapped under call_mu. */
#include "virtio/vhost_user.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "virtio/vhost_user_msg.h"

#define VHU_MAX_QUEUES 8

struct vhu_vring {
	int kick_fd, call_fd, err_fd;
	uint16_t num;
	uint16_t base;
	uint64_t desc_uva, used_uva, avail_uva;
	bool has_addr;
	bool started;
	bool disabled;
};

struct vhost_user {
	struct evloop *loop;
	struct virtio_dev *dev;
	char *path;
	int listen_fd, conn_fd;
	unsigned nq;
	struct guest_mem mem;
	void *map_base[GM_MAX_REGIONS];
	size_t map_len[GM_MAX_REGIONS];
	struct virtq vqs[VHU_MAX_QUEUES];
	struct vhu_vring vr[VHU_MAX_QUEUES];
	uint64_t features, protocol_features;
	vhost_user_gone_fn gone;
	void *opaque;
	pthread_mutex_t call_mu; /* guards vr[].call_fd against notify() from device threads */
};

static const char *const qnames[VHU_MAX_QUEUES] = {"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void unmap_all(struct vhost_user *vu)
{
	unsigned i;

	for (i = 0; i < vu->mem.nr; i++)
		munmap(vu->map_base[i], vu->map_len[i]);
	memset(&vu->mem, 0, sizeof(vu->mem));
}

static void ring_stop(struct vhost_user *vu, unsigned q)
{
	struct vhu_vring *r = &vu->vr[q];

	if (r->kick_fd >= 0)
		evloop_del(vu->loop, r->kick_fd);
	close_fd(&r->kick_fd);
	if (r->started)
		r->base = vu->vqs[q].last_avail;
	r->started = false;
	vu->vqs[q].ready = false;
}

static void rings_reset(struct vhost_user *vu)
{
	unsigned q;

	for (q = 0; q < vu->nq; q++) {
		ring_stop(vu, q);
		pthread_mutex_lock(&vu->call_mu);
		close_fd(&vu->vr[q].call_fd);
		pthread_mutex_unlock(&vu->call_mu);
		close_fd(&vu->vr[q].err_fd);
		memset(&vu->vr[q], 0, sizeof(vu->vr[q]));
		vu->vr[q].kick_fd = vu->vr[q].call_fd = vu->vr[q].err_fd = -1;
		vq_reset(&vu->vqs[q]);
	}
	if (vu->dev->ops->reset)
		vu->dev->ops->reset(vu->dev);
}

static void frontend_drop(struct vhost_user *vu, const char *why)
{
	if (vu->conn_fd < 0)
		return;
	if (why)
		sbx_log("vhost-user %s: dropping frontend: %s", vu->path, why);
	else
		sbx_log("vhost-user %s: frontend disconnected", vu->path);
	evloop_del(vu->loop, vu->conn_fd);
	close_fd(&vu->conn_fd);
	rings_reset(vu);
	unmap_all(vu);
	vu->features = vu->protocol_features = 0;
	if (vu->gone)
		vu->gone(vu->opaque);
}

static void notify(struct virtio_dev *dev, unsigned q, void *opaque)
{
	struct vhost_user *vu = opaque;
	uint64_t one = 1;
	int err = 0;

	if (q >= vu->nq)
		return;
	pthread_mutex_lock(&vu->call_mu);
	if (vu->vr[q].call_fd >= 0 && write(vu->vr[q].call_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		err = errno;
	pthread_mutex_unlock(&vu->call_mu);
	if (err)
		sbx_log("vhost-user: call eventfd for queue %u: %s", q, strerror(err));
}

static void kick_event(int fd, uint32_t events, void *opaque)
{
	struct vhost_user *vu = opaque;
	uint64_t v;
	unsigned q;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (q = 0; q < vu->nq; q++)
		if (vu->vr[q].kick_fd == fd && vu->vr[q].started && !vu->vr[q].disabled)
			vu->dev->ops->queue_kick(vu->dev, q);
}

/* Start a ring once it has size, addresses and a kick fd. Return -1 on bad addresses. */
static int ring_start(struct vhost_user *vu, unsigned q)
{
	struct vhu_vring *r = &vu->vr[q];
	uint64_t desc, avail, used;
	uint16_t n = r->num;

	if (!r->has_addr || !n || r->kick_fd < 0)
		return 0;
	if (gm_uva_to_gpa(&vu->mem, r->desc_uva, 16ull * n, &desc) < 0 ||
	    gm_uva_to_gpa(&vu->mem, r->avail_uva, 6 + 2ull * n, &avail) < 0 ||
	    gm_uva_to_gpa(&vu->mem, r->used_uva, 6 + 8ull * n, &used) < 0 ||
	    vq_setup(&vu->vqs[q], n, desc, avail, used, r->base) < 0)
		return -1;
	vu->vqs[q].event_idx = (vu->features >> VIRTIO_F_RING_EVENT_IDX) & 1;
	if (evloop_add(vu->loop, r->kick_fd, EPOLLIN, kick_event, vu) < 0)
		return -1;
	r->started = true;
	if (!r->disabled)
		vu->dev->ops->queue_kick(vu->dev, q);
	return 0;
}

static int set_mem_table(struct vhost_user *vu, struct vhu_msg *m)
{
	struct guest_mem nm = {0};
	void *base[GM_MAX_REGIONS] = {0};
	size_t blen[GM_MAX_REGIONS] = {0};
	uint32_t i;

	for (i = 0; i < m->u.mem.nregions; i++) {
		const struct vhu_region *r = &m->u.mem.r[i];
		size_t len = (size_t)(r->size + r->mmap_offset);
		if (r->size == 0 || len < r->size || r->gpa + r->size < r->gpa)
			goto fail;
		base[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			       m->fds[i], 0);
		if (base[i] == MAP_FAILED)
			goto fail;
		blen[i] = len;
		if (gm_add(&nm, r->gpa, r->size, r->uva, (char *)base[i] + r->mmap_offset) < 0) {
			munmap(base[i], len);
			goto fail;
		}
	}
	unmap_all(vu);
	vu->mem = nm;
	memcpy(vu->map_base, base, sizeof(base));
	memcpy(vu->map_len, blen, sizeof(blen));
	return 0;
fail:
	while (i-- > 0)
		munmap(base[i], blen[i]);
	return -1;
}

static int send_reply(struct vhost_user *vu, const uint8_t *buf, size_t len)
{
	ssize_t n = send(vu->conn_fd, buf, len, MSG_NOSIGNAL);

	return n == (ssize_t)len ? 0 : -1;
}

/* Act on one parsed message. Return -1 to drop the frontend (with @why set). */
static int handle(struct vhost_user *vu, struct vhu_msg *m, const char **why)
{
	uint8_t out[24 + VHU_MAX_CONFIG];
	unsigned q = m->u.state.index;
	uint64_t f;
	int fdi = 0;

	switch (m->request) {
	case VHU_GET_FEATURES:
		f = vu->dev->ops->features(vu->dev) | 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
		return send_reply(vu, out, vhu_reply_u64(m->request, f, out));
	case VHU_SET_FEATURES:
		f = vu->dev->ops->features(vu->dev) | 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
		if (m->u.u64 & ~f) {
			*why = "SET_FEATURES with features we did not offer";
			return -1;
		}
		vu->features = m->u.u64;
		vu->dev->ops->set_features(vu->dev,
					   m->u.u64 & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES));
		for (q = 0; q < vu->nq; q++)
			vu->vqs[q].event_idx = (m->u.u64 >> VIRTIO_F_RING_EVENT_IDX) & 1;
		return 0;
	case VHU_GET_PROTOCOL_FEATURES:
		return send_reply(vu, out,
				  vhu_reply_u64(m->request, 1ull << VHU_PROTOCOL_F_CONFIG, out));
	case VHU_SET_PROTOCOL_FEATURES:
		vu->protocol_features = m->u.u64 & (1ull << VHU_PROTOCOL_F_CONFIG);
		return 0;
	case VHU_GET_QUEUE_NUM:
		return send_reply(vu, out, vhu_reply_u64(m->request, vu->nq, out));
	case VHU_SET_OWNER:
		return 0;
	case VHU_RESET_OWNER:
		rings_reset(vu);
		return 0;
	case VHU_SET_MEM_TABLE:
		if (set_mem_table(vu, m) < 0) {
			*why = "SET_MEM_TABLE regions cannot be mapped";
			return -1;
		}
		return 0;
	case VHU_GET_CONFIG:
		if (vu->dev->ops->config_read(vu->dev, m->u.config.offset, m->u.config.data,
					      m->u.config.size) < 0)
			memset(m->u.config.data, 0, m->u.config.size);
		return send_reply(vu, out,
				  vhu_reply_config(m->u.config.offset, m->u.config.size,
						   m->u.config.flags, m->u.config.data, out));
	case VHU_SET_CONFIG:
		if (vu->dev->ops->config_write)
			vu->dev->ops->config_write(vu->dev, m->u.config.offset, m->u.config.data,
						   m->u.config.size);
		return 0;
	default:
		break;
	}

	/* ring messages */
	if (m->request == VHU_SET_VRING_ADDR)
		q = m->u.addr.index;
	else if (m->request == VHU_SET_VRING_KICK || m->request == VHU_SET_VRING_CALL ||
		 m->request == VHU_SET_VRING_ERR)
		q = (unsigned)(m->u.u64 & VHU_VRING_IDX_MASK);
	if (q >= vu->nq) {
		*why = "ring index out of range";
		return -1;
	}
	switch (m->request) {
	case VHU_SET_VRING_NUM:
		if (m->u.state.num == 0 || m->u.state.num > vu->dev->ops->queue_max ||
		    (m->u.state.num & (m->u.state.num - 1))) {
			*why = "bad ring size";
			return -1;
		}
		vu->vr[q].num = (uint16_t)m->u.state.num;
		return 0;
	case VHU_SET_VRING_BASE:
		if (m->u.state.num > 0xffff) {
			*why = "bad ring base";
			return -1;
		}
		vu->vr[q].base = (uint16_t)m->u.state.num;
		return 0;
	case VHU_SET_VRING_ADDR:
		vu->vr[q].desc_uva = m->u.addr.desc;
		vu->vr[q].used_uva = m->u.addr.used;
		vu->vr[q].avail_uva = m->u.addr.avail;
		vu->vr[q].has_addr = true;
		return 0;
	case VHU_GET_VRING_BASE: {
		bool any = false;
		unsigned k;

		ring_stop(vu, q);
		for (k = 0; k < vu->nq; k++)
			any |= vu->vr[k].started;
		if (!any && vu->dev->ops->reset) /* device stopped: streams cannot survive */
			vu->dev->ops->reset(vu->dev);
		return send_reply(vu, out, vhu_reply_state(m->request, q, vu->vr[q].base, out));
	}
	case VHU_SET_VRING_ENABLE:
		vu->vr[q].disabled = m->u.state.num == 0;
		if (!vu->vr[q].disabled && vu->vr[q].started)
			vu->dev->ops->queue_kick(vu->dev, q);
		return 0;
	case VHU_SET_VRING_KICK:
		ring_stop(vu, q);
		if (m->nfds) {
			vu->vr[q].kick_fd = m->fds[fdi];
			m->fds[fdi] = -1;
			if (ring_start(vu, q) < 0) {
				*why = "ring addresses outside guest memory";
				return -1;
			}
		}
		return 0;
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR: {
		int *slot =
		    m->request == VHU_SET_VRING_CALL ? &vu->vr[q].call_fd : &vu->vr[q].err_fd;
		pthread_mutex_lock(&vu->call_mu);
		close_fd(slot);
		if (m->nfds) {
			*slot = m->fds[fdi];
			m->fds[fdi] = -1;
		}
		pthread_mutex_unlock(&vu->call_mu);
		return 0;
	}
	default:
		*why = "unexpected request";
		return -1;
	}
}

static void conn_event(int fd, uint32_t events, void *opaque)
{
	struct vhost_user *vu = opaque;
	uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	union {
		char b[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {buf, VHU_HDR_SIZE};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	struct cmsghdr *cm;
	struct vhu_msg m;
	const char *why = NULL;
	ssize_t n;
	int size, i;

	m.nfds = 0;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (m.nfds < VHU_MAX_FDS)
					m.fds[m.nfds++] = f;
				else
					close(f);
			}
		}
	}
	if (n == 0) {
		why = NULL;
		goto drop;
	}
	if (n != VHU_HDR_SIZE || (mh.msg_flags & MSG_CTRUNC)) {
		why = n < 0 ? "read error" : "short or truncated message header";
		goto drop;
	}
	size = vhu_msg_payload_size(buf);
	if (size < 0) {
		why = "message too large";
		goto drop;
	}
	if (size && recv(fd, buf + VHU_HDR_SIZE, (size_t)size, MSG_WAITALL) != size) {
		why = "short message payload (or none within 5 s)";
		goto drop;
	}
	if (vhu_msg_parse(buf, VHU_HDR_SIZE + (size_t)size, m.nfds, &m) < 0) {
		why = "malformed message";
		goto drop;
	}
	if (handle(vu, &m, &why) < 0) {
		if (!why)
			why = "cannot send reply";
		goto drop;
	}
	for (i = 0; i < m.nfds; i++)
		if (m.fds[i] >= 0)
			close(m.fds[i]);
	return;
drop:
	for (i = 0; i < m.nfds; i++)
		if (m.fds[i] >= 0)
			close(m.fds[i]);
	if (why) {
		char msg[128];
		snprintf(msg, sizeof(msg), "request %u: %s",
			 n >= 4 ? (unsigned)buf[0] | buf[1] << 8 : 0u, why);
		frontend_drop(vu, msg);
	} else {
		frontend_drop(vu, NULL);
	}
}

static void listen_event(int fd, uint32_t events, void *opaque)
{
	struct vhost_user *vu = opaque;
	struct timeval tv = {5, 0};
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (vu->conn_fd >= 0) {
		sbx_log("vhost-user %s: a frontend is already connected; refusing another",
			vu->path);
		close(c);
		return;
	}
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (evloop_add(vu->loop, c, EPOLLIN, conn_event, vu) < 0) {
		close(c);
		return;
	}
	vu->conn_fd = c;
	sbx_log("vhost-user %s: frontend connected", vu->path);
}

struct vhost_user *vhost_user_new(struct evloop *loop, struct virtio_dev *dev, const char *path,
				  vhost_user_gone_fn gone, void *opaque)
{
	struct vhost_user *vu;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	unsigned q;
	int e;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(a.sun_path, path);
	vu = calloc(1, sizeof(*vu));
	if (!vu)
		return NULL;
	vu->loop = loop;
	vu->dev = dev;
	vu->gone = gone;
	vu->opaque = opaque;
	vu->conn_fd = vu->listen_fd = -1;
	pthread_mutex_init(&vu->call_mu, NULL);
	vu->nq = dev->ops->queue_count(dev);
	if (vu->nq > VHU_MAX_QUEUES)
		vu->nq = VHU_MAX_QUEUES;
	for (q = 0; q < VHU_MAX_QUEUES; q++) {
		vu->vr[q].kick_fd = vu->vr[q].call_fd = vu->vr[q].err_fd = -1;
		vu->vqs[q].mem = &vu->mem;
		vu->vqs[q].name = qnames[q];
	}
	dev->mem = &vu->mem;
	dev->vqs = vu->vqs;
	dev->notify = notify;
	dev->notify_opaque = vu;
	vu->path = strdup(path);
	if (!vu->path)
		goto fail;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail;
		}
		unlink(path);
	}
	vu->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (vu->listen_fd < 0 || bind(vu->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(vu->listen_fd, 4) < 0 ||
	    evloop_add(loop, vu->listen_fd, EPOLLIN, listen_event, vu) < 0)
		goto fail;
	return vu;
fail:
	e = errno;
	if (vu->listen_fd >= 0)
		close(vu->listen_fd);
	free(vu->path);
	pthread_mutex_destroy(&vu->call_mu);
	free(vu);
	errno = e;
	return NULL;
}

bool vhost_user_connected(const struct vhost_user *vu)
{
	return vu->conn_fd >= 0;
}

void vhost_user_free(struct vhost_user *vu)
{
	if (!vu)
		return;
	vu->gone = NULL;
	frontend_drop(vu, "shutting down");
	evloop_del(vu->loop, vu->listen_fd);
	close(vu->listen_fd);
	unlink(vu->path);
	free(vu->path);
	pthread_mutex_destroy(&vu->call_mu);
	free(vu);
}
