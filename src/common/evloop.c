/* epoll loop with a generation-checked fd table (see evloop.h).
 * Owns only its epoll fd and handler table; never closes or reads callers' fds. */
#include "common/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct evloop_slot {
	evloop_cb cb;
	void *opaque;
	uint32_t gen;
	bool used;
};

struct evloop {
	int epfd;
	bool stop;
	uint32_t gen;
	struct evloop_slot *slots;
	size_t nslots;
	pthread_mutex_t *lock;
};

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->slots);
	free(l);
}

static int slot_grow(struct evloop *l, int fd)
{
	size_t n = l->nslots ? l->nslots : 64;
	struct evloop_slot *s;

	if ((size_t)fd < l->nslots)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	s = realloc(l->slots, n * sizeof(*s));
	if (!s)
		return -1;
	memset(s + l->nslots, 0, (n - l->nslots) * sizeof(*s));
	l->slots = s;
	l->nslots = n;
	return 0;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || !cb) {
		errno = EINVAL;
		return -1;
	}
	if (slot_grow(l, fd) < 0)
		return -1;
	if (l->slots[fd].used) {
		errno = EEXIST;
		return -1;
	}
	l->gen++;
	ev.data.u64 = ((uint64_t)l->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->slots[fd] =
	    (struct evloop_slot){.cb = cb, .opaque = opaque, .gen = l->gen, .used = true};
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].used) {
		errno = ENOENT;
		return -1;
	}
	ev.data.u64 = ((uint64_t)l->slots[fd].gen << 32) | (uint32_t)fd;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

int evloop_del(struct evloop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].used) {
		errno = ENOENT;
		return -1;
	}
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->slots[fd].used = false;
	return 0;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i, done = 0;

	n = epoll_wait(l->epfd, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (l->lock)
		pthread_mutex_lock(l->lock);
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct evloop_slot *s;

		if ((size_t)fd >= l->nslots)
			continue;
		s = &l->slots[fd];
		if (!s->used || s->gen != gen)
			continue;
		s->cb(fd, evs[i].events, s->opaque);
		done++;
	}
	if (l->lock)
		pthread_mutex_unlock(l->lock);
	return done;
}

void evloop_set_lock(struct evloop *l, pthread_mutex_t *lock)
{
	l->lock = lock;
}

void evloop_stop(struct evloop *l)
{
	l->stop = true;
}

int evloop_run(struct evloop *l)
{
	l->stop = false;
	while (!l->stop)
		if (evloop_run_once(l, 1000) < 0)
			return -1;
	return 0;
}
