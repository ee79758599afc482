/* An event loop (common/evloop.h) on its own detached thread: a tick callback every few ms
 * (sooner once when asked) for sweeping deadlines, and calls from other threads run on the
 * loop thread while the caller waits (a pipe wakes the loop; a mutex and condition variable
 * hand the call over and back). Owns the loop, the pipe and the thread; runs callers'
 * functions only on the loop thread. A loop thread lives as long as the process. */
#ifndef SBX_COMMON_LOOPTHREAD_H
#define SBX_COMMON_LOOPTHREAD_H

struct evloop;
struct loopthread;

/* A function run on the loop thread with the caller's argument. */
typedef void (*loopthread_fn)(void *arg);

/**
 * loopthread_new() - create the event loop and its wake-up pipe; no thread yet, so the
 * caller can register fds on loopthread_loop() first.
 * Return: the loop thread, or NULL with errno set. Syscalls: epoll_create1, pipe2.
 */
struct loopthread *loopthread_new(void);

/**
 * loopthread_loop() - the event loop @t runs (register fds on it from the loop thread, or
 * before loopthread_start()).
 */
struct evloop *loopthread_loop(const struct loopthread *t);

/**
 * loopthread_start() - run @t's loop on a new detached thread, calling @tick(@opaque) on it
 * every @tick_ms ms (@tick may be NULL: the loop then only dispatches).
 * Return: 0, or -1 with errno set (the thread could not be created). Syscalls: clone.
 */
int loopthread_start(struct loopthread *t, int tick_ms, loopthread_fn tick, void *opaque);

/**
 * loopthread_tick_soon() - make the next tick come @ms ms after the last one instead of the
 * usual interval (when @ms is shorter); the interval returns after that tick. Only on the loop
 * thread (from a callback or a tick).
 */
void loopthread_tick_soon(struct loopthread *t, int ms);

/**
 * loopthread_call() - run @fn(@arg) on @t's loop thread and return once it has run. Never
 * from the loop thread itself, and @fn must not call loopthread_call() (it runs with the
 * hand-over lock held). Syscalls: write, futex.
 */
void loopthread_call(struct loopthread *t, loopthread_fn fn, void *arg);

/**
 * loopthread_now_ms() - the monotonic clock in ms, the one ticks are measured with.
 */
long long loopthread_now_ms(void);

/**
 * loopthread_raise_nofile() - raise this process's RLIMIT_NOFILE soft limit to the hard one
 * (for services whose every connection holds two fds). Failure is ignored.
 * Syscalls: getrlimit, setrlimit.
 */
void loopthread_raise_nofile(void);

#endif
