/* Unit tests for guest_mem (bounds, uva translation) and the split virtqueue walk: good chains,
 * loops, bad indexes, out-of-memory descriptors, misordering, overflow, indirect tables,
 * interrupt suppression. Drives hand-built rings in a fake guest memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "fake_ram.h"
#include "virtio/guest_mem.h"
#include "virtio/queue.h"

#define BUFS (BASE + 0x10000)

static struct virtq vq;

static void setup(void)
{
	fake_ram_reset(0x7000000000ull);
	memset(&vq, 0, sizeof(vq));
	vq.mem = &gm;
	vq.name = "test";
	CHECK_EQ(vq_setup(&vq, QSZ, DESC, AVAIL, USED, 0), 0);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc *d = g(DESC);
	d[i] = (struct virtq_desc){addr, len, flags, next};
}

static void avail_add(uint16_t head)
{
	uint16_t *a = g(AVAIL);
	a[2 + a[1] % QSZ] = head;
	a[1]++;
}

static uint16_t used_idx(void)
{
	return ((uint16_t *)g(USED))[1];
}

TEST(gm_bounds)
{
	struct guest_mem m = {0};
	static uint8_t a[4096], b[4096];
	uint64_t gpa;

	CHECK_EQ(gm_add(&m, 0x1000, 4096, 0x5000, a), 0);
	CHECK_EQ(gm_add(&m, 0x2000, 4096, 0x9000, b), 0);
	CHECK_EQ(gm_add(&m, 0x1800, 16, 0, a), -1);	      /* overlap */
	CHECK_EQ(gm_add(&m, UINT64_MAX - 10, 100, 0, a), -1); /* wraps */
	CHECK(gm_ptr(&m, 0x1000, 4096) == a);
	CHECK(gm_ptr(&m, 0x1ff0, 16) == a + 0xff0);
	CHECK(gm_ptr(&m, 0x1ff0, 17) == NULL); /* spans two regions */
	CHECK(gm_ptr(&m, 0x2010, 0) == b + 0x10);
	CHECK(gm_ptr(&m, 0x3000, 0) == b + 4096); /* empty range at the end */
	CHECK(gm_ptr(&m, 0x3000, 1) == NULL);
	CHECK(gm_ptr(&m, 0x1000, UINT64_MAX) == NULL);
	CHECK(gm_ptr(&m, UINT64_MAX, 2) == NULL);
	CHECK(gm_ptr(&m, 0xfff, 1) == NULL);
	CHECK_EQ(gm_uva_to_gpa(&m, 0x5010, 16, &gpa), 0);
	CHECK_EQ(gpa, 0x1010);
	CHECK_EQ(gm_uva_to_gpa(&m, 0x5ff0, 32, &gpa), -1);
	CHECK_EQ(gm_uva_to_gpa(&m, 0x9000 + 4096, 1, &gpa), -1);
}

TEST(setup_refuses_bad_rings)
{
	setup();
	CHECK_EQ(vq_setup(&vq, 3, DESC, AVAIL, USED, 0), -1); /* not a power of two */
	CHECK_EQ(vq_setup(&vq, QSZ, BASE + MEM_SIZE - 8, AVAIL, USED, 0), -1);
	CHECK_EQ(vq_setup(&vq, QSZ, DESC + 8, AVAIL, USED, 0), -1); /* misaligned */
	CHECK(!vq.ready);
}

TEST(pop_simple_chain)
{
	struct vq_chain c;
	uint8_t out[8];

	setup();
	memcpy(g(BUFS), "abcd", 4);
	memcpy(g(BUFS + 0x100), "efgh", 4);
	desc(3, BUFS, 4, VIRTQ_DESC_F_NEXT, 7);
	desc(7, BUFS + 0x100, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUFS + 0x200, 100, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(vq_pop(&vq, &c), 0); /* nothing available yet */
	avail_add(3);
	CHECK(vq_has_avail(&vq));
	CHECK_EQ(vq_pop(&vq, &c), 1);
	CHECK_EQ(c.head, 3);
	CHECK_EQ(c.nr_rd, 2);
	CHECK_EQ(c.nr_wr, 1);
	CHECK_EQ(c.rd_len, 8);
	CHECK_EQ(c.wr_len, 100);
	CHECK_EQ(vq_chain_read(&c, 2, out, 8), 6);
	CHECK(memcmp(out, "cdefgh", 6) == 0);
	CHECK_EQ(vq_chain_write(&c, 98, "xyz", 3), 2);
	CHECK(memcmp(g(BUFS + 0x200 + 98), "xy", 2) == 0);
	vq_push(&vq, c.head, 42);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(((uint32_t *)g(USED + 4))[0], 3);
	CHECK_EQ(((uint32_t *)g(USED + 4))[1], 42);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(!vq.broken);
}

TEST(unpop_returns_same_chain)
{
	struct vq_chain c;

	setup();
	desc(0, BUFS, 10, 0, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 1);
	vq_unpop(&vq);
	CHECK_EQ(vq_pop(&vq, &c), 1);
	CHECK_EQ(c.head, 0);
}

TEST(loop_breaks_queue)
{
	struct vq_chain c;

	setup();
	desc(0, BUFS, 10, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUFS, 10, VIRTQ_DESC_F_NEXT, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
	desc(2, BUFS, 10, 0, 0);
	avail_add(2);
	CHECK_EQ(vq_pop(&vq, &c), 0); /* stays broken until reset */
}

TEST(bad_indexes_break_queue)
{
	struct vq_chain c;

	setup();
	avail_add(QSZ); /* head out of range */
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup();
	desc(0, BUFS, 10, VIRTQ_DESC_F_NEXT, 999); /* next out of range */
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup();
	((uint16_t *)g(AVAIL))[1] = QSZ + 1; /* avail idx jumped too far */
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
}

TEST(descriptor_outside_memory_breaks_queue)
{
	struct vq_chain c;

	setup();
	desc(0, BASE + MEM_SIZE - 4, 8, 0, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup();
	desc(0, UINT64_MAX - 2, 8, 0, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
}

TEST(readable_after_writable_breaks_queue)
{
	struct vq_chain c;

	setup();
	desc(0, BUFS, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUFS, 10, 0, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
}

TEST(length_overflow_breaks_queue)
{
	static uint8_t dummy[16];
	struct vq_chain c;

	setup();
	/* a large fake region whose bytes are never touched by the walk */
	CHECK_EQ(gm_add(&gm, 0x100000000ull, 0x300000000ull, 0, dummy), 0);
	desc(0, 0x100000000ull, 0xffffffffu, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, 0x200000000ull, 0x10, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
}

TEST(indirect_tables)
{
	struct virtq_desc *t = g(BUFS + 0x1000);
	struct vq_chain c;

	setup();
	t[0] = (struct virtq_desc){BUFS, 44, VIRTQ_DESC_F_NEXT, 1};
	t[1] = (struct virtq_desc){BUFS + 0x100, 100, VIRTQ_DESC_F_NEXT, 2};
	t[2] = (struct virtq_desc){BUFS + 0x200, 64, VIRTQ_DESC_F_WRITE, 0};
	desc(5, BUFS + 0x1000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(5);
	CHECK_EQ(vq_pop(&vq, &c), 1);
	CHECK_EQ(c.head, 5);
	CHECK_EQ(c.rd_len, 144);
	CHECK_EQ(c.wr_len, 64);

	/* nested indirect */
	t[1] = (struct virtq_desc){BUFS + 0x1000, 32, VIRTQ_DESC_F_INDIRECT, 0};
	avail_add(5);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup(); /* length not a multiple of 16 */
	desc(5, BUFS + 0x1000, 40, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(5);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup(); /* INDIRECT together with NEXT */
	desc(5, BUFS + 0x1000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 6);
	avail_add(5);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);

	setup(); /* loop inside the table */
	t[0] = (struct virtq_desc){BUFS, 4, VIRTQ_DESC_F_NEXT, 1};
	t[1] = (struct virtq_desc){BUFS, 4, VIRTQ_DESC_F_NEXT, 0};
	desc(5, BUFS + 0x1000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(5);
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK(vq.broken);
}

TEST(interrupt_suppression)
{
	struct vq_chain c;
	uint16_t *avail = g(AVAIL);

	setup();
	desc(0, BUFS, 4, 0, 0);
	CHECK(!vq_notify_needed(&vq)); /* nothing pushed */
	avail_add(0);
	vq_pop(&vq, &c);
	vq_push(&vq, c.head, 0);
	CHECK(vq_notify_needed(&vq));
	CHECK(!vq_notify_needed(&vq)); /* already signalled */

	avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	avail_add(0);
	vq_pop(&vq, &c);
	vq_push(&vq, c.head, 0);
	CHECK(!vq_notify_needed(&vq));

	/* EVENT_IDX: interrupt only when used idx passes used_event */
	avail[0] = 0;
	vq.event_idx = true;
	avail[2 + QSZ] = 5; /* used_event */
	avail_add(0);
	vq_pop(&vq, &c);
	vq_push(&vq, c.head, 0); /* used idx 3 */
	CHECK(!vq_notify_needed(&vq));
	avail_add(0);
	avail_add(0);
	avail_add(0);
	for (int i = 0; i < 3; i++) {
		vq_pop(&vq, &c);
		vq_push(&vq, c.head, 0); /* up to 6: crosses 5 */
	}
	CHECK(vq_notify_needed(&vq));
	/* and we publish avail_event when we find the queue empty */
	CHECK_EQ(vq_pop(&vq, &c), 0);
	CHECK_EQ(*(uint16_t *)g(USED + 4 + 8 * QSZ), 6);
}

int main(void)
{
	RUN(gm_bounds);
	RUN(setup_refuses_bad_rings);
	RUN(pop_simple_chain);
	RUN(unpop_returns_same_chain);
	RUN(loop_breaks_queue);
	RUN(bad_indexes_break_queue);
	RUN(descriptor_outside_memory_breaks_queue);
	RUN(readable_after_writable_breaks_queue);
	RUN(length_overflow_breaks_queue);
	RUN(indirect_tables);
	RUN(interrupt_suppression);
	free(mem);
	T_EXIT();
}
