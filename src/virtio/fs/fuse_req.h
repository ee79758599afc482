/* The one parser of FUSE requests arriving from the guest: header, per-opcode body, names.
 * Owns every read of request bytes: copies them once into private memory (the guest may change
 * its buffers while we work), checks every length against the chain. Never acts on a request. */
#ifndef SBX_VIRTIO_FS_FUSE_REQ_H
#define SBX_VIRTIO_FS_FUSE_REQ_H

#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/queue.h"

/* Largest request part copied: header + body + names or an xattr value (64 KiB). */
#define FUSE_REQ_COPY_MAX    (sizeof(struct fuse_in_header) + 128 + 2 * 256 + 4096 + 65536)
#define FUSE_XATTR_VALUE_MAX 65536

struct fuse_req {
	struct fuse_in_header h;
	union {
		struct fuse_init_in init;
		struct fuse_forget_in forget;
		struct fuse_batch_forget_in batch;
		struct fuse_getattr_in getattr;
		struct fuse_setattr_in setattr;
		struct fuse_mknod_in mknod;
		struct fuse_mkdir_in mkdir;
		struct fuse_rename_in rename;
		struct fuse_rename2_in rename2;
		struct fuse_link_in link;
		struct fuse_open_in open;
		struct fuse_create_in create;
		struct fuse_read_in read;
		struct fuse_write_in write;
		struct fuse_release_in release;
		struct fuse_flush_in flush;
		struct fuse_fsync_in fsync;
		struct fuse_setxattr_in setxattr;
		struct fuse_getxattr_in getxattr;
		struct fuse_lk_in lk;
		struct fuse_access_in access;
		struct fuse_interrupt_in interrupt;
		struct fuse_lseek_in lseek;
		struct fuse_fallocate_in fallocate;
	} in;
	const char *name; /* NUL-terminated, validated; NULL if the opcode has none */
	size_t name_len;
	const char *name2; /* second name (rename new name, symlink target) */
	size_t name2_len;
	const uint8_t *value; /* SETXATTR value */
	size_t value_len;
	const struct fuse_forget_one *forgets; /* BATCH_FORGET entries (count may be clipped) */
	uint32_t nforgets;
	size_t data_off;   /* WRITE payload: offset in the chain's readable part */
	uint32_t data_len; /* WRITE payload length */
	const struct vq_chain *c;
};

/**
 * fuse_req_parse() - parse the request in chain @c, copying it into @buf (@bufsz bytes).
 * @q: out; q->h is valid whenever the return is not -EPROTO.
 * Return: 0; -EPROTO if not even a header can be read (no reply possible); another negative
 * errno (EINVAL, EPERM, ENAMETOOLONG, E2BIG) to reply to the guest as the request's result.
 * Opcodes the parser does not know parse as header only (the dispatcher answers ENOSYS).
 */
int fuse_req_parse(const struct vq_chain *c, uint8_t *buf, size_t bufsz, struct fuse_req *q);

/**
 * fuse_name_check() - whether @name (@len bytes, no NUL inside) is one directory entry name.
 * Return: 0, -EINVAL (empty, '/' or NUL inside), -EPERM ("." or ".."), -ENAMETOOLONG.
 */
int fuse_name_check(const char *name, size_t len);

#endif
