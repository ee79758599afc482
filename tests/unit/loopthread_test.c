/* Unit tests of src/common/loopthread.c: calls run on the loop thread and return after they
 * ran, from many threads at once; fds registered before the start are served on the thread;
 * ticks come at their interval, and once sooner after loopthread_tick_soon(). */
#include "common/evloop.h"
#include "common/loopthread.h"
#include "t.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct loopthread *lt;
static atomic_int ticks;
static pthread_t loop_tid;
static bool loop_tid_set;

static void on_tick(void *opaque)
{
	atomic_fetch_add(&ticks, 1);
}

/* Record the loop thread and whether a call ran on it. */
struct probe {
	pthread_t tid;
	int ran;
};

static void probe_fn(void *arg)
{
	struct probe *p = arg;

	p->tid = pthread_self();
	p->ran++;
}

TEST(call_runs_on_the_loop_thread)
{
	struct probe p = {0};

	loopthread_call(lt, probe_fn, &p);
	CHECK_EQ(p.ran, 1); /* done before the call returned */
	CHECK(!pthread_equal(p.tid, pthread_self()));
	loop_tid = p.tid;
	loop_tid_set = true;
}

/* Only the loop thread touches it: calls from many threads must not lose an increment. */
static int counter;

static void incr(void *arg)
{
	if (!pthread_equal(pthread_self(), loop_tid))
		*(int *)arg = 1;
	counter++;
}

static void *caller(void *arg)
{
	for (int i = 0; i < 200; i++)
		loopthread_call(lt, incr, arg);
	return NULL;
}

TEST(calls_from_many_threads)
{
	pthread_t t[4];
	int wrong_thread = 0;

	CHECK(loop_tid_set);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, caller, &wrong_thread), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(counter, 800);
	CHECK_EQ(wrong_thread, 0);
}

static int evpipe[2];
static atomic_int fd_events;
static atomic_int fd_wrong_thread;

static void on_fd(int fd, uint32_t events, void *opaque)
{
	char b[16];

	while (read(fd, b, sizeof(b)) > 0)
		atomic_fetch_add(&fd_events, 1);
	if (loop_tid_set && !pthread_equal(pthread_self(), loop_tid))
		atomic_store(&fd_wrong_thread, 1);
}

TEST(fd_registered_before_start)
{
	CHECK_EQ(write(evpipe[1], "x", 1), 1);
	for (int i = 0; i < 200 && !atomic_load(&fd_events); i++)
		usleep(5000);
	CHECK_EQ(atomic_load(&fd_events), 1);
	CHECK_EQ(atomic_load(&fd_wrong_thread), 0);
}

/* On the loop thread, so no tick can come between counting and asking. */
static void ask_soon(void *arg)
{
	*(int *)arg = atomic_load(&ticks);
	loopthread_tick_soon(lt, 20);
}

TEST(ticks_and_tick_soon)
{
	/* the interval is 400 ms: a tick asked for in 20 ms comes long before the next one */
	int before;
	long long t0 = loopthread_now_ms();

	loopthread_call(lt, ask_soon, &before);
	while (atomic_load(&ticks) == before && loopthread_now_ms() - t0 < 2000)
		usleep(2000);
	CHECK_EQ(atomic_load(&ticks), before + 1);
	CHECK(loopthread_now_ms() - t0 < 300);
	/* then the usual interval again: no second tick within 200 ms */
	usleep(200000);
	CHECK_EQ(atomic_load(&ticks), before + 1);
	/* and ticks keep coming at it */
	usleep(900000);
	CHECK(atomic_load(&ticks) >= before + 2);
	CHECK(atomic_load(&ticks) <= before + 4);
}

int main(void)
{
	lt = loopthread_new();
	if (!lt || pipe2(evpipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    evloop_add(loopthread_loop(lt), evpipe[0], EPOLLIN, on_fd, NULL) < 0 ||
	    loopthread_start(lt, 400, on_tick, NULL) < 0) {
		fprintf(stderr, "loopthread_test: set-up failed\n");
		return 1;
	}
	RUN(call_runs_on_the_loop_thread);
	RUN(calls_from_many_threads);
	RUN(fd_registered_before_start);
	RUN(ticks_and_tick_soon);
	T_EXIT();
}
