/* Open file and directory handles: fh -> host fd (a real open file, never O_PATH). Owns handle
 * lifetime: RELEASE marks a handle released, the fd closes when the last in-flight request
 * using it ends. Never accepts a forged fh (fh = gen << 32 | slot, checked) or a file handle
 * where a directory handle is expected and the reverse. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "virtio/fs/fs_int.h"

/**
 * fs_handles_init() - allocate the fixed handle table (FS_HANDLES_MAX entries).
 * Return: 0 or -ENOMEM.
 */
int fs_handles_init(struct fs_srv *s)
{
	pthread_mutex_init(&s->handles_lock, NULL);
	s->handles = calloc(FS_HANDLES_MAX, sizeof(*s->handles));
	s->handle_gen = calloc(FS_HANDLES_MAX, sizeof(*s->handle_gen));
	s->handle_free = calloc(FS_HANDLES_MAX, sizeof(*s->handle_free));
	s->handles_hw = 1; /* fh 0 is never valid */
	if (!s->handles || !s->handle_gen || !s->handle_free)
		return -ENOMEM;
	return 0;
}

static void handle_close(struct fs_handle *h)
{
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/**
 * fs_handles_free() - close every handle and free the table.
 */
void fs_handles_free(struct fs_srv *s)
{
	uint32_t i;

	if (!s->handles)
		return;
	for (i = 0; i < s->handles_hw; i++)
		if (s->handles[i])
			handle_close(s->handles[i]);
	free(s->handles);
	free(s->handle_gen);
	free(s->handle_free);
	s->handles = NULL;
	pthread_mutex_destroy(&s->handles_lock);
}

/**
 * fs_handle_new() - register open @fd (ownership taken; closed on error) as a handle.
 * Return: 0 with *@fh set, or -errno (ENFILE when FS_HANDLES_MAX are open).
 */
int fs_handle_new(struct fs_srv *s, int fd, bool dir, uint64_t *fh)
{
	struct fs_handle *h = calloc(1, sizeof(*h));
	uint32_t slot;

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->dir = dir;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_lock(&s->handles_lock);
	if (s->nhfree) {
		slot = s->handle_free[--s->nhfree];
	} else if (s->handles_hw < FS_HANDLES_MAX) {
		slot = s->handles_hw++;
	} else {
		pthread_mutex_unlock(&s->handles_lock);
		handle_close(h);
		return -ENFILE;
	}
	h->slot = slot;
	h->gen = s->handle_gen[slot];
	s->handles[slot] = h;
	*fh = (uint64_t)h->gen << 32 | slot;
	pthread_mutex_unlock(&s->handles_lock);
	return 0;
}

/**
 * fs_handle_get() - the open handle @fh of the right kind (@dir) with a reference, or NULL.
 */
struct fs_handle *fs_handle_get(struct fs_srv *s, uint64_t fh, bool dir)
{
	uint32_t slot = (uint32_t)fh, gen = (uint32_t)(fh >> 32);
	struct fs_handle *h = NULL;

	pthread_mutex_lock(&s->handles_lock);
	if (slot < s->handles_hw && s->handles[slot] && s->handles[slot]->gen == gen &&
	    !s->handles[slot]->released && s->handles[slot]->dir == dir) {
		h = s->handles[slot];
		h->refs++;
	}
	pthread_mutex_unlock(&s->handles_lock);
	return h;
}

static void handle_drop(struct fs_srv *s, struct fs_handle *h)
{
	if (!h->released || h->refs)
		return;
	s->handles[h->slot] = NULL;
	s->handle_gen[h->slot]++;
	s->handle_free[s->nhfree++] = h->slot;
	handle_close(h);
}

/**
 * fs_handle_put() - drop a reference from fs_handle_get(); closes a released handle.
 */
void fs_handle_put(struct fs_srv *s, struct fs_handle *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&s->handles_lock);
	h->refs--;
	handle_drop(s, h);
	pthread_mutex_unlock(&s->handles_lock);
}

/**
 * fs_handle_release() - RELEASE/RELEASEDIR: forget @fh (fd closed once unused).
 * Return: 0, or -EBADF for an unknown handle.
 */
int fs_handle_release(struct fs_srv *s, uint64_t fh, bool dir)
{
	struct fs_handle *h = fs_handle_get(s, fh, dir);

	if (!h)
		return -EBADF;
	pthread_mutex_lock(&s->handles_lock);
	h->released = true;
	h->refs--;
	handle_drop(s, h);
	pthread_mutex_unlock(&s->handles_lock);
	return 0;
}

/**
 * fs_handles_release_all() - RELEASE every handle (guest reset or DESTROY).
 */
void fs_handles_release_all(struct fs_srv *s)
{
	uint32_t i;

	pthread_mutex_lock(&s->handles_lock);
	for (i = 1; i < s->handles_hw; i++)
		if (s->handles[i] && !s->handles[i]->released) {
			s->handles[i]->released = true;
			handle_drop(s, s->handles[i]);
		}
	pthread_mutex_unlock(&s->handles_lock);
}
