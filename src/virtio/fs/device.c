/* The virtio-fs device (id 26): virtio_dev_ops, config (tag + one request queue) and the worker
 * pool. Hiprio (FORGET) chains are popped and handled inline on the caller's (event-loop)
 * thread; a request-queue kick wakes cfg->threads workers, each popping its own chain (on its
 * stack), replying into it and pushing + notifying under the queue lock. Never knows the transport;
 * never blocks the event loop except to drain in-flight requests on reset. Cache mode: 1 s
 * entry/attr timeouts, no writeback, no KEEP_CACHE (srv.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "virtio/fs/fs_int.h"

#define FS_DEFAULT_THREADS 4
#define FS_MAX_THREADS	   64

struct fs_worker {
	struct fs_dev *d;
	struct fs_scratch *sc;
	pthread_t t;
};

struct fs_dev {
	struct virtio_dev vdev;
	struct fs_srv *srv;
	uint8_t tag[FS_TAG_MAX];

	pthread_mutex_t qlock; /* every vq_pop/vq_push/notify, and the fields below */
	pthread_cond_t work_cv, idle_cv;
	bool pending;  /* the request queue was kicked and may hold chains */
	unsigned busy; /* requests being run by workers */
	bool stopping;
	unsigned nthreads;
	void (*thread_init)(void);
	struct fs_worker *thr;
	struct fs_scratch *loop_scratch; /* hiprio, on the event-loop thread */
};

static struct fs_dev *to_dev(struct virtio_dev *v)
{
	return (struct fs_dev *)((char *)v - offsetof(struct fs_dev, vdev));
}

static void *worker(void *arg)
{
	struct fs_worker *me = arg;
	struct fs_dev *d = me->d;
	struct fs_scratch *sc = me->sc;
	struct vq_chain c;
	uint32_t len;

	if (d->thread_init)
		d->thread_init();
	pthread_mutex_lock(&d->qlock);
	for (;;) {
		while (!d->stopping && !d->pending)
			pthread_cond_wait(&d->work_cv, &d->qlock);
		if (d->stopping)
			break;
		if (!d->vdev.vqs || !vq_pop(&d->vdev.vqs[FS_QUEUE_REQUEST], &c)) {
			d->pending = false; /* empty: wait for the next kick */
			continue;
		}
		d->busy++;
		pthread_mutex_unlock(&d->qlock);

		len = fs_srv_handle(d->srv, &c, sc);

		pthread_mutex_lock(&d->qlock);
		vq_push(&d->vdev.vqs[FS_QUEUE_REQUEST], c.head, len);
		virtio_dev_notify(&d->vdev, FS_QUEUE_REQUEST);
		if (--d->busy == 0 && !d->pending)
			pthread_cond_broadcast(&d->idle_cv);
	}
	pthread_mutex_unlock(&d->qlock);
	return NULL;
}

static void run_hiprio(struct fs_dev *d)
{
	struct virtq *vq = &d->vdev.vqs[FS_QUEUE_HIPRIO];
	struct vq_chain ch;
	bool pushed = false;
	uint32_t len;

	for (;;) {
		pthread_mutex_lock(&d->qlock);
		if (!vq_pop(vq, &ch)) {
			pthread_mutex_unlock(&d->qlock);
			break;
		}
		pthread_mutex_unlock(&d->qlock);
		len = fs_srv_handle(d->srv, &ch, d->loop_scratch);
		pthread_mutex_lock(&d->qlock);
		vq_push(vq, ch.head, len);
		pushed = true;
		pthread_mutex_unlock(&d->qlock);
	}
	if (pushed) {
		pthread_mutex_lock(&d->qlock);
		virtio_dev_notify(&d->vdev, FS_QUEUE_HIPRIO);
		pthread_mutex_unlock(&d->qlock);
	}
}

static void fs_kick(struct virtio_dev *v, unsigned q)
{
	struct fs_dev *d = to_dev(v);

	if (!v->vqs || q >= FS_NUM_QUEUES)
		return;
	if (q == FS_QUEUE_HIPRIO) {
		run_hiprio(d);
		return;
	}
	pthread_mutex_lock(&d->qlock);
	d->pending = true;
	pthread_cond_broadcast(&d->work_cv);
	pthread_mutex_unlock(&d->qlock);
}

static unsigned fs_queue_count(struct virtio_dev *v)
{
	return FS_NUM_QUEUES;
}

static uint64_t fs_features(struct virtio_dev *v)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
	       1ull << VIRTIO_F_RING_EVENT_IDX;
}

static void fs_set_features(struct virtio_dev *v, uint64_t acked)
{
	v->acked_features = acked;
}

static int fs_config_read(struct virtio_dev *v, uint32_t off, void *buf, uint32_t len)
{
	struct fs_dev *d = to_dev(v);
	uint8_t cfg[FS_TAG_MAX + 4];

	memcpy(cfg, d->tag, FS_TAG_MAX);
	cfg[FS_TAG_MAX] = FS_NUM_QUEUES - 1; /* le32 num_request_queues */
	cfg[FS_TAG_MAX + 1] = cfg[FS_TAG_MAX + 2] = cfg[FS_TAG_MAX + 3] = 0;
	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -1;
	memcpy(buf, cfg + off, len);
	return 0;
}

/* Stop popping and wait for the workers' in-flight requests. */
static void drain(struct fs_dev *d)
{
	pthread_mutex_lock(&d->qlock);
	d->pending = false;
	while (d->busy)
		pthread_cond_wait(&d->idle_cv, &d->qlock);
	pthread_mutex_unlock(&d->qlock);
}

static void fs_reset(struct virtio_dev *v)
{
	struct fs_dev *d = to_dev(v);

	drain(d);
	fs_srv_reset(d->srv);
}

static const struct virtio_dev_ops fs_ops = {
    .device_id = VIRTIO_ID_FS,
    .queue_max = FS_QUEUE_MAX,
    .queue_count = fs_queue_count,
    .features = fs_features,
    .set_features = fs_set_features,
    .config_read = fs_config_read,
    .queue_kick = fs_kick,
    .reset = fs_reset,
};

struct fs_dev *fs_dev_new(const struct fs_share_config *cfg)
{
	struct fs_dev *d;
	unsigned i;
	size_t tl;

	if (!cfg || !cfg->tag || !(tl = strlen(cfg->tag)) || tl > FS_TAG_MAX) {
		sbx_err("virtio-fs: bad mount tag (use 1..%d bytes)", FS_TAG_MAX);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		sbx_err("virtio-fs: out of memory (free memory and retry)");
		return NULL;
	}
	memcpy(d->tag, cfg->tag, tl);
	d->vdev.ops = &fs_ops;
	d->nthreads = cfg->threads ? cfg->threads : FS_DEFAULT_THREADS;
	d->thread_init = cfg->thread_init;
	if (d->nthreads > FS_MAX_THREADS)
		d->nthreads = FS_MAX_THREADS;
	pthread_mutex_init(&d->qlock, NULL);
	pthread_cond_init(&d->work_cv, NULL);
	pthread_cond_init(&d->idle_cv, NULL);
	d->srv = fs_srv_new(cfg);
	d->loop_scratch = malloc(sizeof(*d->loop_scratch));
	d->thr = calloc(d->nthreads, sizeof(*d->thr));
	if (!d->srv || !d->loop_scratch || !d->thr) {
		if (d->srv)
			sbx_err("virtio-fs share %s: out of memory (free memory and retry)",
				cfg->root);
		d->nthreads = 0;
		fs_dev_free(d);
		return NULL;
	}
	for (i = 0; i < d->nthreads; i++) {
		int rc;

		d->thr[i].d = d;
		d->thr[i].sc = malloc(sizeof(*d->thr[i].sc));
		rc = d->thr[i].sc ? pthread_create(&d->thr[i].t, NULL, worker, &d->thr[i]) : ENOMEM;
		if (rc != 0) {
			sbx_err("virtio-fs share %s: cannot start worker threads: %s (raise the "
				"thread limit)",
				cfg->root, strerror(rc));
			free(d->thr[i].sc);
			d->nthreads = i;
			fs_dev_free(d);
			return NULL;
		}
	}
	return d;
}

struct virtio_dev *fs_dev_virtio(struct fs_dev *d)
{
	return &d->vdev;
}

void fs_dev_free(struct fs_dev *d)
{
	unsigned i;

	if (!d)
		return;
	drain(d);
	pthread_mutex_lock(&d->qlock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work_cv);
	pthread_mutex_unlock(&d->qlock);
	for (i = 0; i < d->nthreads; i++) {
		pthread_join(d->thr[i].t, NULL);
		free(d->thr[i].sc);
	}
	fs_srv_free(d->srv);
	free(d->thr);
	free(d->loop_scratch);
	pthread_mutex_destroy(&d->qlock);
	pthread_cond_destroy(&d->work_cv);
	pthread_cond_destroy(&d->idle_cv);
	free(d);
}
