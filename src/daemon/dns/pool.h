/* One sandbox's synthetic-address pool: allowed hostname <-> one IPv4 address of 198.18.0.0/15,
 * so a connection to the address maps back to exactly one name. Pure memory, no I/O, no policy;
 * not thread-safe (sbxd's single event loop owns it). A name's address changes only when the
 * pool is full and that name is the least recently used. */
#ifndef SBX_DAEMON_DNS_POOL_H
#define SBX_DAEMON_DNS_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Handed out: 198.18.1.0 .. 198.19.255.255 minus every x.y.z.0 and x.y.z.255, in order
 * 198.18.1.1, 198.18.1.2, ... Never handed out: 198.18.0.0/24 (the guest's stub 198.18.0.1
 * and friends). 511 blocks of 254 addresses.
 */
#define DNS_POOL_MAX 129794u

struct dns_pool;

/**
 * dns_pool_new() - create an empty pool
 * @capacity: how many names it holds at once, 1..DNS_POOL_MAX
 *
 * Memory: about 24 bytes per slot plus a 4-byte bucket per slot, allocated zeroed so untouched
 * slots cost no resident pages; each name is one malloc'd copy.
 *
 * Return: the pool, or NULL (errno EINVAL for a bad capacity, ENOMEM).
 */
struct dns_pool *dns_pool_new(size_t capacity);

/**
 * dns_pool_free() - free a pool and every name in it
 * @pool: the pool, or NULL
 */
void dns_pool_free(struct dns_pool *pool);

/**
 * dns_pool_assign() - the address of a name, assigned on first sight
 * @pool: the pool
 * @name: the policy text of an allowed name (from dns_msg_parse()), 1..253 bytes, compared
 *	byte for byte
 * @out: set to the address (network order)
 *
 * The same name gets the same address for as long as it stays in the pool; when the pool is
 * full, the least recently used name (by assign or lookup) gives up its address. Counts as a
 * use of the name.
 *
 * Return: 0, or -1 (bad name length, or out of memory for the name copy: nothing changed).
 */
int dns_pool_assign(struct dns_pool *pool, const char *name, struct in_addr *out);

/**
 * dns_pool_lookup() - the one name behind a synthetic address
 * @pool: the pool
 * @addr: the address (network order)
 * @name_out: receives the name, NUL-terminated
 * @n: its size; DNS_NAME_MAX + 1 always suffices
 *
 * Counts as a use of the name.
 *
 * Return: 0, or -1 if the address is unknown (outside the handed-out range, never assigned)
 * or the name does not fit in @n (name_out is then "").
 */
int dns_pool_lookup(struct dns_pool *pool, struct in_addr addr, char *name_out, size_t n);

/**
 * dns_pool_count() - how many names the pool holds now
 * @pool: the pool
 *
 * Return: the count, at most the capacity.
 */
size_t dns_pool_count(const struct dns_pool *pool);

/**
 * dns_pool_in_range() - whether an address is in the synthetic range 198.18.0.0/15
 * @addr: the address (network order)
 *
 * True also for the reserved 198.18.0.0/24 and addresses never handed out: the proxy uses it
 * to tell "synthetic, look the name up" from "a raw IP the guest chose".
 *
 * Return: true if inside 198.18.0.0/15.
 */
bool dns_pool_in_range(struct in_addr addr);

#endif
