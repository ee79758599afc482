/* vhost-user message parsing and reply encoding (see vhost_user_msg.h).
 * Owns byte-level checks of every frontend message; never trusts a size or count. */
#include "virtio/vhost_user_msg.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

int vhu_msg_payload_size(const uint8_t hdr[VHU_HDR_SIZE])
{
	uint32_t size = rd32(hdr + 8);

	return size > VHU_MAX_PAYLOAD ? -1 : (int)size;
}

int vhu_msg_parse(const uint8_t *buf, size_t len, int nfds, struct vhu_msg *m)
{
	const uint8_t *p = buf + VHU_HDR_SIZE;
	uint32_t i;

	if (len < VHU_HDR_SIZE || nfds < 0 || nfds > VHU_MAX_FDS)
		return -1;
	memset(&m->u, 0, sizeof(m->u));
	m->request = rd32(buf);
	m->flags = rd32(buf + 4);
	m->size = rd32(buf + 8);
	if ((m->flags & 0x3) != VHU_VERSION || m->size > VHU_MAX_PAYLOAD ||
	    len != VHU_HDR_SIZE + (size_t)m->size)
		return -1;

	switch (m->request) {
	case VHU_GET_FEATURES:
	case VHU_SET_OWNER:
	case VHU_RESET_OWNER:
	case VHU_GET_PROTOCOL_FEATURES:
	case VHU_GET_QUEUE_NUM:
		return m->size == 0 && nfds == 0 ? 0 : -1;
	case VHU_SET_FEATURES:
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->size != 8 || nfds != 0)
			return -1;
		m->u.u64 = rd64(p);
		return 0;
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		if (m->size != 8)
			return -1;
		m->u.u64 = rd64(p);
		if (m->u.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD))
			return -1;
		return (m->u.u64 & VHU_VRING_NOFD) ? (nfds == 0 ? 0 : -1) : (nfds == 1 ? 0 : -1);
	case VHU_SET_VRING_NUM:
	case VHU_SET_VRING_BASE:
	case VHU_GET_VRING_BASE:
	case VHU_SET_VRING_ENABLE:
		if (m->size != 8 || nfds != 0)
			return -1;
		m->u.state.index = rd32(p);
		m->u.state.num = rd32(p + 4);
		return 0;
	case VHU_SET_VRING_ADDR:
		if (m->size != 40 || nfds != 0)
			return -1;
		m->u.addr.index = rd32(p);
		m->u.addr.flags = rd32(p + 4);
		m->u.addr.desc = rd64(p + 8);
		m->u.addr.used = rd64(p + 16);
		m->u.addr.avail = rd64(p + 24);
		m->u.addr.log = rd64(p + 32);
		return 0;
	case VHU_SET_MEM_TABLE:
		if (m->size < 8)
			return -1;
		m->u.mem.nregions = rd32(p);
		if (m->u.mem.nregions == 0 || m->u.mem.nregions > VHU_MAX_REGIONS ||
		    m->size != 8 + 32 * m->u.mem.nregions || (uint32_t)nfds != m->u.mem.nregions)
			return -1;
		for (i = 0; i < m->u.mem.nregions; i++) {
			const uint8_t *r = p + 8 + 32 * i;
			m->u.mem.r[i] =
			    (struct vhu_region){rd64(r), rd64(r + 8), rd64(r + 16), rd64(r + 24)};
		}
		return 0;
	case VHU_GET_CONFIG:
	case VHU_SET_CONFIG:
		if (m->size < 12 || nfds != 0)
			return -1;
		m->u.config.offset = rd32(p);
		m->u.config.size = rd32(p + 4);
		m->u.config.flags = rd32(p + 8);
		if (m->u.config.size > VHU_MAX_CONFIG || m->size != 12 + m->u.config.size)
			return -1;
		memcpy(m->u.config.data, p + 12, m->u.config.size);
		return 0;
	default:
		return -1;
	}
}

static void hdr(uint8_t *out, uint32_t request, uint32_t size)
{
	wr32(out, request);
	wr32(out + 4, VHU_VERSION | VHU_FLAG_REPLY);
	wr32(out + 8, size);
}

size_t vhu_reply_u64(uint32_t request, uint64_t v, uint8_t *out)
{
	hdr(out, request, 8);
	wr64(out + 12, v);
	return 20;
}

size_t vhu_reply_state(uint32_t request, uint32_t index, uint32_t num, uint8_t *out)
{
	hdr(out, request, 8);
	wr32(out + 12, index);
	wr32(out + 16, num);
	return 20;
}

size_t vhu_reply_config(uint32_t offset, uint32_t size, uint32_t flags, const uint8_t *data,
			uint8_t *out)
{
	hdr(out, VHU_GET_CONFIG, 12 + size);
	wr32(out + 12, offset);
	wr32(out + 16, size);
	wr32(out + 20, flags);
	memcpy(out + 24, data, size);
	return 24 + size;
}
