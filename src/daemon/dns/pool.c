/* The synthetic-address pool: a slot array indexed by address offset, a chained hash table
 * keyed by name (SipHash-2-4 with a per-pool random key, so guest-chosen names cannot build
 * long chains) and an LRU list through the slots. Indices are 1-based so zeroed memory is
 * an empty table. Never does I/O beyond one getrandom() at creation; never hands out
 * 198.18.0.0/24 or an address ending in .0 or .255. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/dns/msg.h"
#include "daemon/dns/pool.h"

#define POOL_BASE	 0xC6120000u /* 198.18.0.0 */
#define POOL_BLOCK_HOSTS 254u
#define POOL_FIRST_BLOCK 1u   /* block 0 = 198.18.0.0/24, reserved */
#define POOL_BLOCKS	 512u /* /24 blocks in the /15 */

struct slot {
	char *name; /* NULL while free */
	uint32_t hash;
	uint32_t hnext;	     /* next slot in the bucket chain, 1-based, 0 = end */
	uint32_t prev, next; /* LRU list, 1-based; head = most recent */
};

struct dns_pool {
	struct slot *slots;
	uint32_t *buckets; /* 1-based slot index of the chain head, 0 = empty */
	uint32_t nbuckets; /* power of two */
	uint32_t capacity, used;
	uint32_t head, tail; /* LRU, 1-based */
	uint64_t k0, k1;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

/* siphash() - SipHash-2-4 of s[0..n) under the pool's key */
static uint64_t siphash(const struct dns_pool *p, const uint8_t *s, size_t n)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ p->k0, v1 = 0x646f72616e646f6dull ^ p->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ p->k0, v3 = 0x7465646279746573ull ^ p->k1;
	uint64_t b = (uint64_t)n << 56;
	size_t i, k, full = n & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		uint64_t m = 0;

		for (k = 0; k < 8; k++)
			m |= (uint64_t)s[i + k] << (8 * k);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (k = 0; i + k < n; k++)
		b |= (uint64_t)s[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* slot_addr() - the address (network order) of 0-based slot i */
static struct in_addr slot_addr(uint32_t i)
{
	uint32_t block = POOL_FIRST_BLOCK + i / POOL_BLOCK_HOSTS, host = 1 + i % POOL_BLOCK_HOSTS;
	struct in_addr a = {.s_addr = htonl(POOL_BASE + block * 256u + host)};

	return a;
}

/* addr_slot() - the 0-based slot of an address, or -1 if it is never handed out */
static long addr_slot(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr), off, block, host;

	if ((h & 0xFFFE0000u) != POOL_BASE)
		return -1;
	off = h - POOL_BASE;
	block = off >> 8;
	host = off & 0xFF;
	if (block < POOL_FIRST_BLOCK || host == 0 || host == 255)
		return -1;
	return (long)((block - POOL_FIRST_BLOCK) * POOL_BLOCK_HOSTS + host - 1);
}

bool dns_pool_in_range(struct in_addr addr)
{
	return (ntohl(addr.s_addr) & 0xFFFE0000u) == POOL_BASE;
}

struct dns_pool *dns_pool_new(size_t capacity)
{
	struct dns_pool *p;
	uint64_t key[2];

	if (capacity < 1 || capacity > DNS_POOL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->k0 = key[0];
	p->k1 = key[1];
	p->capacity = (uint32_t)capacity;
	p->nbuckets = 1;
	while (p->nbuckets < p->capacity)
		p->nbuckets <<= 1;
	p->slots = calloc(capacity, sizeof(*p->slots));
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	if (!p->slots || !p->buckets) {
		dns_pool_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void dns_pool_free(struct dns_pool *p)
{
	if (!p)
		return;
	if (p->slots)
		for (uint32_t i = 0; i < p->used; i++)
			free(p->slots[i].name);
	free(p->slots);
	free(p->buckets);
	free(p);
}

size_t dns_pool_count(const struct dns_pool *p)
{
	return p->used;
}

static void lru_unlink(struct dns_pool *p, uint32_t i1)
{
	struct slot *s = &p->slots[i1 - 1];

	if (s->prev)
		p->slots[s->prev - 1].next = s->next;
	else
		p->head = s->next;
	if (s->next)
		p->slots[s->next - 1].prev = s->prev;
	else
		p->tail = s->prev;
	s->prev = s->next = 0;
}

static void lru_push_head(struct dns_pool *p, uint32_t i1)
{
	struct slot *s = &p->slots[i1 - 1];

	s->prev = 0;
	s->next = p->head;
	if (p->head)
		p->slots[p->head - 1].prev = i1;
	p->head = i1;
	if (!p->tail)
		p->tail = i1;
}

static void lru_touch(struct dns_pool *p, uint32_t i1)
{
	if (p->head == i1)
		return;
	lru_unlink(p, i1);
	lru_push_head(p, i1);
}

/* hash_unlink() - take slot i1 out of its bucket chain */
static void hash_unlink(struct dns_pool *p, uint32_t i1)
{
	uint32_t *link = &p->buckets[p->slots[i1 - 1].hash & (p->nbuckets - 1)];

	while (*link && *link != i1)
		link = &p->slots[*link - 1].hnext;
	if (*link)
		*link = p->slots[i1 - 1].hnext;
	p->slots[i1 - 1].hnext = 0;
}

int dns_pool_assign(struct dns_pool *p, const char *name, struct in_addr *out)
{
	size_t n = strnlen(name, DNS_NAME_MAX + 1);
	uint32_t h, i1;
	char *copy;

	if (n < 1 || n > DNS_NAME_MAX)
		return -1;
	h = (uint32_t)siphash(p, (const uint8_t *)name, n);
	for (i1 = p->buckets[h & (p->nbuckets - 1)]; i1; i1 = p->slots[i1 - 1].hnext) {
		const struct slot *s = &p->slots[i1 - 1];

		if (s->hash == h && strcmp(s->name, name) == 0) {
			lru_touch(p, i1);
			*out = slot_addr(i1 - 1);
			return 0;
		}
	}
	copy = malloc(n + 1);
	if (!copy)
		return -1;
	memcpy(copy, name, n + 1);
	if (p->used < p->capacity) {
		i1 = ++p->used;
	} else {
		i1 = p->tail; /* recycle the least recently used name */
		hash_unlink(p, i1);
		lru_unlink(p, i1);
		free(p->slots[i1 - 1].name);
	}
	p->slots[i1 - 1].name = copy;
	p->slots[i1 - 1].hash = h;
	p->slots[i1 - 1].hnext = p->buckets[h & (p->nbuckets - 1)];
	p->buckets[h & (p->nbuckets - 1)] = i1;
	lru_push_head(p, i1);
	*out = slot_addr(i1 - 1);
	return 0;
}

int dns_pool_lookup(struct dns_pool *p, struct in_addr addr, char *name_out, size_t n)
{
	long i = addr_slot(addr);
	size_t len;

	if (n)
		name_out[0] = 0;
	if (i < 0 || (uint32_t)i >= p->used)
		return -1;
	len = strlen(p->slots[i].name);
	if (len >= n)
		return -1;
	memcpy(name_out, p->slots[i].name, len + 1);
	lru_touch(p, (uint32_t)i + 1);
	return 0;
}
