/* An evloop on a detached thread with ticks and cross-thread calls (see loopthread.h). Owns
 * its evloop, wake-up pipe, hand-over lock and queue of pending calls; never closes, reads or
 * writes any other fd, and never runs a caller's function on any thread but its own. */
#include "common/loopthread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"

/* One pending loopthread_call(), on the caller's stack until it returns. */
struct lt_call {
	loopthread_fn fn;
	void *arg;
	bool done;
	struct lt_call *next;
};

struct loopthread {
	struct evloop *loop;
	int wake[2]; /* a byte written to [1] wakes the loop to run calls */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct lt_call *calls; /* under lock */
	int tick_ms, soon_ms;  /* soon_ms: 0, or the interval of the next tick only */
	loopthread_fn tick;
	void *opaque;
};

long long loopthread_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void loopthread_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The wake-up pipe is readable: run every call not run yet, then wake their callers. */
static void on_wake(int fd, uint32_t events, void *opaque)
{
	struct loopthread *t = opaque;
	char drain[64];

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&t->lock);
	for (struct lt_call *c = t->calls; c; c = c->next) {
		if (c->done)
			continue;
		c->fn(c->arg);
		c->done = true;
	}
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->lock);
}

struct loopthread *loopthread_new(void)
{
	struct loopthread *t = calloc(1, sizeof(*t));
	int e;

	if (!t)
		return NULL;
	t->wake[0] = t->wake[1] = -1;
	t->loop = evloop_new();
	if (!t->loop || pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    evloop_add(t->loop, t->wake[0], EPOLLIN, on_wake, t) < 0)
		goto fail;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cv, NULL);
	return t;
fail:
	e = errno;
	evloop_free(t->loop);
	if (t->wake[0] >= 0) {
		close(t->wake[0]);
		close(t->wake[1]);
	}
	free(t);
	errno = e;
	return NULL;
}

struct evloop *loopthread_loop(const struct loopthread *t)
{
	return t->loop;
}

void loopthread_tick_soon(struct loopthread *t, int ms)
{
	if (!t->soon_ms || ms < t->soon_ms)
		t->soon_ms = ms;
}

/* The thread: dispatch, and tick whenever the interval (or the one asked for) has passed. */
static void *lt_main(void *arg)
{
	struct loopthread *t = arg;
	long long last = loopthread_now_ms();

	for (;;) {
		int every = t->soon_ms && t->soon_ms < t->tick_ms ? t->soon_ms : t->tick_ms;

		evloop_run_once(t->loop, every);
		if (loopthread_now_ms() - last >= every) {
			last = loopthread_now_ms();
			t->soon_ms = 0;
			if (t->tick)
				t->tick(t->opaque);
		}
	}
	return NULL;
}

int loopthread_start(struct loopthread *t, int tick_ms, loopthread_fn tick, void *opaque)
{
	pthread_t th;
	int rc;

	t->tick_ms = tick_ms > 0 ? tick_ms : 1000;
	t->tick = tick;
	t->opaque = opaque;
	rc = pthread_create(&th, NULL, lt_main, t);
	if (rc) {
		errno = rc;
		return -1;
	}
	pthread_detach(th);
	return 0;
}

/* Queue @c and wait until the loop thread ran it. */
static void queue_and_wait(struct loopthread *t, struct lt_call *c)
{
	pthread_mutex_lock(&t->lock);
	c->next = t->calls;
	t->calls = c;
	(void)!write(t->wake[1], "c", 1);
	while (!c->done)
		pthread_cond_wait(&t->cv, &t->lock);
	for (struct lt_call **pp = &t->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

void loopthread_call(struct loopthread *t, loopthread_fn fn, void *arg)
{
	struct lt_call c = {.fn = fn, .arg = arg};

	queue_and_wait(t, &c);
}
