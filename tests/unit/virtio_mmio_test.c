/* Unit tests for the virtio-mmio transport carrying virtio-rng: a driver written here probes
 * the window, does the status/feature handshake, sets up queue 0 in a fake guest RAM and reads
 * random bytes; then the refusals (no VERSION_1, rings outside RAM, QueueNum too big, odd
 * accesses) and reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#define FAKE_RAM_MMIO
#include "fake_ram.h"
#include "virtio/guest_mem.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#define BUFS (BASE + 0x10000)

static struct virtio_rng rng;
static int irqs;

static void on_irq(struct virtio_mmio *mm, void *opaque)
{
	irqs++;
}

static void setup(void)
{
	fake_ram_reset(0);
	rng_init(&rng);
	CHECK_EQ(mmio_init(&m, &rng.dev, &gm, on_irq, NULL), 0);
	irqs = 0;
}

/* The Linux driver's order: ACK, DRIVER, features, FEATURES_OK; return the status read back. */
static uint32_t handshake(uint32_t feat_lo, uint32_t feat_hi)
{
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(MMIO_DRIVER_FEATURES_SEL, 0);
	wr(MMIO_DRIVER_FEATURES, feat_lo);
	wr(MMIO_DRIVER_FEATURES_SEL, 1);
	wr(MMIO_DRIVER_FEATURES, feat_hi);
	wr(MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(MMIO_STATUS);
}

static void queue_regs(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(MMIO_QUEUE_SEL, 0);
	wr(MMIO_QUEUE_NUM, num);
	wr(MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(MMIO_QUEUE_READY, 1);
}

static void put_buf(uint16_t i, uint64_t addr, uint32_t len)
{
	struct virtq_desc *d = g(DESC);
	uint16_t *a = g(AVAIL);

	d[i] = (struct virtq_desc){addr, len, VIRTQ_DESC_F_WRITE, 0};
	a[2 + a[1] % QSZ] = i;
	a[1]++;
}

static const uint32_t OK_STATUS =
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

TEST(probe)
{
	setup();
	CHECK_EQ(rd(MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(MMIO_VERSION_REG), 2);
	CHECK_EQ(rd(MMIO_DEVICE_ID), 4);
	CHECK_EQ(rd(MMIO_VENDOR_ID_REG), MMIO_VENDOR_ID);
	wr(MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(MMIO_DEVICE_FEATURES), 1); /* VERSION_1 is bit 32 */
	wr(MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd(MMIO_DEVICE_FEATURES), 0);
	wr(MMIO_DEVICE_FEATURES_SEL, 7);
	CHECK_EQ(rd(MMIO_DEVICE_FEATURES), 0);
	CHECK_EQ(rd(MMIO_QUEUE_NUM_MAX), RNG_QUEUE_MAX);
	wr(MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(MMIO_QUEUE_NUM_MAX), 0); /* no such queue */
	CHECK_EQ(rd(MMIO_SHM_LEN_LOW), 0xffffffffu);
	CHECK_EQ(rd(MMIO_STATUS), 0);
}

TEST(happy_path)
{
	uint32_t *used;
	uint8_t zero[64] = {0};

	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	CHECK_EQ(rng.dev.acked_features, 1ull << VIRTIO_F_VERSION_1);
	queue_regs(QSZ, DESC, AVAIL, USED);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 1);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(MMIO_STATUS), OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(irqs, 0);

	put_buf(0, BUFS, 8);
	put_buf(1, BUFS + 0x1000, 64);
	put_buf(2, BUFS + 0x4000, 5000); /* capped at RNG_CHAIN_MAX */
	wr(MMIO_QUEUE_NOTIFY, 0);
	used = g(USED);
	CHECK_EQ(((uint16_t *)used)[1], 3);
	CHECK_EQ(used[1], 0);
	CHECK_EQ(used[2], 8);
	CHECK_EQ(used[3], 1);
	CHECK_EQ(used[4], 64);
	CHECK_EQ(used[5], 2);
	CHECK_EQ(used[6], RNG_CHAIN_MAX);
	CHECK(memcmp(g(BUFS + 0x1000), zero, 64) != 0);
	CHECK(memcmp(g(BUFS + 0x4000 + RNG_CHAIN_MAX), zero, 64) == 0); /* beyond the cap */
	CHECK_EQ(rng.bytes, 8 + 64 + RNG_CHAIN_MAX);
	CHECK_EQ(rd(MMIO_INTERRUPT_STATUS), MMIO_INT_VRING);
	CHECK_EQ(irqs, 1);
	wr(MMIO_INTERRUPT_ACK, MMIO_INT_VRING);
	CHECK_EQ(rd(MMIO_INTERRUPT_STATUS), 0);

	/* a kick with nothing new: no used entries, no interrupt */
	wr(MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(((uint16_t *)used)[1], 3);
	CHECK_EQ(irqs, 1);
	CHECK_EQ(m.ignored, 0);
}

TEST(buffers_before_driver_ok)
{
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, USED);
	put_buf(0, BUFS, 16);
	wr(MMIO_QUEUE_NOTIFY, 0); /* not running yet: ignored */
	CHECK_EQ(((uint16_t *)g(USED))[1], 0);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK); /* served now */
	CHECK_EQ(((uint16_t *)g(USED))[1], 1);
	CHECK_EQ(irqs, 1);
}

TEST(features_without_version_1)
{
	setup();
	CHECK_EQ(handshake(0, 0), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	setup();
	/* a feature we never offered */
	CHECK_EQ(handshake(1u << VIRTIO_F_RING_EVENT_IDX, 1),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* DRIVER_OK without FEATURES_OK is refused too */
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* queue registers before FEATURES_OK are ignored */
	queue_regs(QSZ, DESC, AVAIL, USED);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
}

TEST(rings_outside_ram)
{
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, BASE + MEM_SIZE - 8); /* used ring runs off the end */
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(MMIO_STATUS), OK_STATUS | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* once it needs reset, nothing more is configured */
	queue_regs(QSZ, DESC, AVAIL, USED);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);

	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, 0xffffffff00000000ull, AVAIL, USED); /* high half far away */
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	CHECK(rd(MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

TEST(queue_num_refused)
{
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(RNG_QUEUE_MAX * 2, DESC, AVAIL, USED);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	CHECK(rd(MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(12, DESC, AVAIL, USED); /* not a power of two */
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	wr(MMIO_QUEUE_SEL, 5); /* a queue the device does not have */
	wr(MMIO_QUEUE_NUM, QSZ);
	wr(MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(MMIO_STATUS), OK_STATUS);
}

TEST(odd_access_ignored)
{
	uint64_t big = ~0ull;
	uint16_t half = 0xffff;
	uint8_t b = 0xff;
	uint64_t before;

	setup();
	before = m.ignored;
	mmio_read(&m, MMIO_MAGIC_VALUE, &half, 2);
	CHECK_EQ(half, 0);
	mmio_read(&m, MMIO_MAGIC_VALUE + 1, &big, 4);
	CHECK_EQ(big & 0xffffffff, 0);
	mmio_read(&m, MMIO_MAGIC_VALUE, &big, 8);
	CHECK_EQ(big, 0);
	mmio_read(&m, MMIO_QUEUE_NOTIFY, &big, 4); /* write-only */
	CHECK_EQ(big & 0xffffffff, 0);
	mmio_read(&m, MMIO_WINDOW, &b, 1);
	CHECK_EQ(b, 0);
	mmio_read(&m, MMIO_CONFIG, &b, 1); /* rng has no config space */
	CHECK_EQ(b, 0);
	half = VIRTIO_STATUS_ACKNOWLEDGE;
	mmio_write(&m, MMIO_STATUS, &half, 2);
	CHECK_EQ(rd(MMIO_STATUS), 0);
	big = VIRTIO_STATUS_ACKNOWLEDGE;
	mmio_write(&m, MMIO_STATUS + 2, &big, 4);
	CHECK_EQ(rd(MMIO_STATUS), 0);
	wr(MMIO_MAGIC_VALUE, 0); /* read-only */
	CHECK_EQ(rd(MMIO_MAGIC_VALUE), MMIO_MAGIC);
	CHECK_EQ(m.ignored - before, 9);
}

TEST(reset_forgets_queues)
{
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, USED);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	put_buf(0, BUFS, 16);
	wr(MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(rd(MMIO_INTERRUPT_STATUS), MMIO_INT_VRING);
	/* clearing a bit without reset is ignored */
	wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(rd(MMIO_STATUS), OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	wr(MMIO_STATUS, 0);
	CHECK_EQ(rd(MMIO_STATUS), 0);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(rng.dev.acked_features, 0);
	CHECK(!m.vqs[0].ready);
	CHECK_EQ(m.q[0].num, 0);
	CHECK_EQ(m.q[0].desc, 0);
	/* after a reset the queue cannot be readied without a new handshake */
	wr(MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 0);
	/* and NEEDS_RESET is cleared by reset */
	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, BASE + MEM_SIZE);
	CHECK(rd(MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	wr(MMIO_STATUS, 0);
	CHECK_EQ(rd(MMIO_STATUS), 0);
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, USED);
	CHECK_EQ(rd(MMIO_QUEUE_READY), 1);
}

TEST(broken_chain_needs_reset)
{
	struct virtq_desc *d;

	setup();
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	queue_regs(QSZ, DESC, AVAIL, USED);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	put_buf(0, BUFS, 16);
	d = g(DESC);
	d[0].flags |= VIRTQ_DESC_F_NEXT; /* 0 -> 0: a loop */
	wr(MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd(MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(rd(MMIO_INTERRUPT_STATUS) & MMIO_INT_CONFIG);
	CHECK_EQ(((uint16_t *)g(USED))[1], 0);
}

TEST(config_change)
{
	setup();
	mmio_config_changed(&m);
	CHECK_EQ(rd(MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ(irqs, 0); /* driver not running: no interrupt */
	CHECK_EQ(handshake(0, 1), OK_STATUS);
	wr(MMIO_STATUS, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	mmio_config_changed(&m);
	CHECK_EQ(rd(MMIO_CONFIG_GENERATION), 2);
	CHECK_EQ(rd(MMIO_INTERRUPT_STATUS), MMIO_INT_CONFIG);
	CHECK_EQ(irqs, 1);
}

int main(void)
{
	RUN(probe);
	RUN(happy_path);
	RUN(buffers_before_driver_ok);
	RUN(features_without_version_1);
	RUN(rings_outside_ram);
	RUN(queue_num_refused);
	RUN(odd_access_ignored);
	RUN(reset_forgets_queues);
	RUN(broken_chain_needs_reset);
	RUN(config_change);
	free(mem);
	T_EXIT();
}
