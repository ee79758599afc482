/* A small single-threaded epoll loop: register an fd with a callback, change or drop it.
 * Owns the epoll fd and the fd -> handler table; stale events for an fd removed (or
 * re-added) during a dispatch batch are never delivered. Never closes callers' fds. */
#ifndef SBX_COMMON_EVLOOP_H
#define SBX_COMMON_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* Called with the fd, the epoll events that fired and the caller's opaque pointer. */
typedef void (*evloop_cb)(int fd, uint32_t events, void *opaque);

/**
 * evloop_new() - create an event loop.
 * Return: the loop, or NULL with errno set. Syscalls: epoll_create1.
 */
struct evloop *evloop_new(void);

/**
 * evloop_free() - destroy a loop (does not close registered fds).
 * @l: loop or NULL.
 */
void evloop_free(struct evloop *l);

/**
 * evloop_add() - watch @fd for @events (EPOLLIN/EPOLLOUT...), calling @cb with @opaque.
 * Return: 0, or -1 with errno set. Syscalls: epoll_ctl.
 */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque);

/**
 * evloop_mod() - change the events watched on an fd added before.
 * Return: 0, or -1 with errno set.
 */
int evloop_mod(struct evloop *l, int fd, uint32_t events);

/**
 * evloop_del() - stop watching @fd; pending events for it in this batch are dropped.
 * Return: 0, or -1 if the fd was not registered.
 */
int evloop_del(struct evloop *l, int fd);

/**
 * evloop_set_lock() - hold @lock while dispatching each batch of events (not while waiting),
 * so other threads that take @lock (sbx-vmm's vCPUs touching device registers) never run
 * alongside a callback.
 * @l: loop; @lock: a mutex, or NULL for none (the default).
 */
void evloop_set_lock(struct evloop *l, pthread_mutex_t *lock);

/**
 * evloop_run_once() - wait up to @timeout_ms (-1: forever) and dispatch what fired.
 * Return: number of events dispatched, or -1 on an epoll error other than EINTR.
 * Syscalls: epoll_wait.
 */
int evloop_run_once(struct evloop *l, int timeout_ms);

/**
 * evloop_stop() - make evloop_run() return after the current batch.
 */
void evloop_stop(struct evloop *l);

/**
 * evloop_run() - dispatch until evloop_stop() is called.
 * Return: 0 when stopped, -1 on an epoll error.
 */
int evloop_run(struct evloop *l);

#endif
