/* vhost-user wire messages (QEMU docs/interop/vhost-user.rst): the one bounds-checked parser of
 * bytes from the frontend, and reply encoding. Owns message layout and per-request size rules;
 * never acts on a message, never keeps or closes fds (the transport does). */
#ifndef SBX_VIRTIO_VHOST_USER_MSG_H
#define SBX_VIRTIO_VHOST_USER_MSG_H

#include <stddef.h>
#include <stdint.h>

enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
};

#define VHU_HDR_SIZE	    12
#define VHU_VERSION	    0x1
#define VHU_FLAG_REPLY	    0x4
#define VHU_FLAG_NEED_REPLY 0x8
#define VHU_MAX_FDS	    8
#define VHU_MAX_REGIONS	    8
#define VHU_MAX_CONFIG	    256
#define VHU_MAX_PAYLOAD	    (12 + VHU_MAX_CONFIG) /* largest message we accept */
#define VHU_VRING_NOFD	    (1u << 8)
#define VHU_VRING_IDX_MASK  0xffu

#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHU_PROTOCOL_F_CONFIG	       9

struct vhu_region {
	uint64_t gpa, size, uva, mmap_offset;
};

struct vhu_msg {
	uint32_t request, flags, size;
	union {
		uint64_t u64;
		struct {
			uint32_t index, num;
		} state;
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;
		struct {
			uint32_t nregions;
			struct vhu_region r[VHU_MAX_REGIONS];
		} mem;
		struct {
			uint32_t offset, size, flags;
			uint8_t data[VHU_MAX_CONFIG];
		} config;
	} u;
	int nfds;
	int fds[VHU_MAX_FDS];
};

/**
 * vhu_msg_parse() - decode one message: @buf holds the 12-byte header and the payload.
 * @buf, @len: received bytes (exactly header + size); @nfds: fds that came with it (copied by
 * the caller into m->fds beforehand is not needed: only the count is checked here).
 * Return: 0, or -1 if the header, size or payload is inconsistent for the request, or the
 * request is unknown, or it carries fds it must not (or lacks one it must).
 */
int vhu_msg_parse(const uint8_t *buf, size_t len, int nfds, struct vhu_msg *m);

/**
 * vhu_msg_payload_size() - how many payload bytes follow a header, validated.
 * @hdr: 12 header bytes. Return: the size, or -1 if it exceeds VHU_MAX_PAYLOAD.
 */
int vhu_msg_payload_size(const uint8_t hdr[VHU_HDR_SIZE]);

/**
 * vhu_reply_u64() - encode a reply carrying a u64 into @out (20 bytes). Return: length.
 */
size_t vhu_reply_u64(uint32_t request, uint64_t v, uint8_t *out);

/**
 * vhu_reply_state() - encode a vring-state reply (index, num) into @out (20 bytes). Return: length.
 */
size_t vhu_reply_state(uint32_t request, uint32_t index, uint32_t num, uint8_t *out);

/**
 * vhu_reply_config() - encode a GET_CONFIG reply into @out (12 + 12 + @size bytes).
 * Return: length.
 */
size_t vhu_reply_config(uint32_t offset, uint32_t size, uint32_t flags, const uint8_t *data,
			uint8_t *out);

#endif
