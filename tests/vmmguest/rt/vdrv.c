/* The test guests' virtio-mmio driver (see vdrv.h). */
#include "vdrv.h"

#include "rt.h"

#define IOAPIC_BASE 0xfec00000ULL
#define LAPIC_BASE  0xfee00000ULL
#define LAPIC_SVR   0xf0
#define LAPIC_IRR   0x200

#define ST_ACK	       1u
#define ST_DRIVER      2u
#define ST_DRIVER_OK   4u
#define ST_FEATURES_OK 8u

/* 1 KiB per queue: descriptors at 0, avail at 0x100, used at 0x200 (VDRV_QSIZE 8). */
static uint8_t ring_mem[16][VDRV_QUEUES][1024] __attribute__((aligned(4096)));

static uint32_t rd(struct vdrv *d, unsigned off)
{
	return rt_mmio_read32(d->base + off);
}

static void wr(struct vdrv *d, unsigned off, uint32_t v)
{
	rt_mmio_write32(d->base + off, v);
}

static void wr64(struct vdrv *d, unsigned off, const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;

	wr(d, off, (uint32_t)a);
	wr(d, off + 4, (uint32_t)(a >> 32));
}

static void ioapic_route(uint32_t gsi, uint8_t vector)
{
	/* redirection entry: low dword = vector, fixed, physical, edge, active high, unmasked;
	 * high dword = destination APIC id 0 */
	rt_mmio_write32(IOAPIC_BASE, 0x10 + 2 * gsi + 1);
	rt_mmio_write32(IOAPIC_BASE + 0x10, 0);
	rt_mmio_write32(IOAPIC_BASE, 0x10 + 2 * gsi);
	rt_mmio_write32(IOAPIC_BASE + 0x10, vector);
}

int vdrv_init(struct vdrv *d, uint64_t base, uint32_t gsi, unsigned slot, unsigned nq,
	      uint32_t features_lo)
{
	uint32_t offered;

	memset(d, 0, sizeof(*d));
	d->base = base;
	d->gsi = gsi;
	d->slot = slot;
	d->nq = nq;
	if (slot >= 16 || nq > VDRV_QUEUES)
		return -1;
	/* the local APIC accepts interrupts once software-enabled (IF stays 0: we only look) */
	rt_mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x1ff);
	ioapic_route(gsi, (uint8_t)(VDRV_IRQ_VECTOR + slot));
	wr(d, VD_STATUS, 0);
	wr(d, VD_STATUS, ST_ACK);
	wr(d, VD_STATUS, ST_ACK | ST_DRIVER);
	wr(d, VD_DEV_FEAT_SEL, 1);
	if (!(rd(d, VD_DEV_FEAT) & 1)) {
		rt_printf("vdrv %u: no VERSION_1\n", slot);
		return -2;
	}
	wr(d, VD_DEV_FEAT_SEL, 0);
	offered = rd(d, VD_DEV_FEAT);
	wr(d, VD_DRV_FEAT_SEL, 0);
	wr(d, VD_DRV_FEAT, offered & features_lo);
	wr(d, VD_DRV_FEAT_SEL, 1);
	wr(d, VD_DRV_FEAT, 1);
	wr(d, VD_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd(d, VD_STATUS) & ST_FEATURES_OK)) {
		rt_printf("vdrv %u: FEATURES_OK refused\n", slot);
		return -3;
	}
	for (unsigned q = 0; q < nq; q++) {
		uint8_t *m = ring_mem[slot][q];

		memset(m, 0, sizeof(ring_mem[0][0]));
		d->desc[q] = m;
		d->avail[q] = m + 0x100;
		d->used[q] = m + 0x200;
		wr(d, VD_QUEUE_SEL, q);
		if (rd(d, VD_QUEUE_NUM_MAX) < VDRV_QSIZE) {
			rt_printf("vdrv %u: queue %u too small\n", slot, q);
			return -4;
		}
		wr(d, VD_QUEUE_NUM, VDRV_QSIZE);
		wr64(d, VD_QUEUE_DESC, d->desc[q]);
		wr64(d, VD_QUEUE_DRIVER, d->avail[q]);
		wr64(d, VD_QUEUE_DEVICE, d->used[q]);
		wr(d, VD_QUEUE_READY, 1);
		if (rd(d, VD_QUEUE_READY) != 1) {
			rt_printf("vdrv %u: queue %u not ready\n", slot, q);
			return -5;
		}
	}
	wr(d, VD_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return 0;
}

void vdrv_post(struct vdrv *d, unsigned q, const struct vdrv_seg *seg, unsigned n)
{
	/* every chain starts at a free run of descriptors: head = (avail idx * n) mod size is
	 * enough for the guests' one-chain-at-a-time use; chains never exceed the queue */
	uint16_t idx = d->next_avail[q];
	uint16_t head = (uint16_t)((idx * n) % VDRV_QSIZE);
	volatile uint16_t *avail = (volatile uint16_t *)d->avail[q];

	if (head + n > VDRV_QSIZE)
		head = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = d->desc[q] + 16 * (head + i);
		uint64_t a = (uint64_t)(uintptr_t)seg[i].addr;
		uint16_t flags = (uint16_t)((i + 1 < n ? 1 : 0) | (seg[i].writable ? 2 : 0));
		uint16_t next = (uint16_t)(head + i + 1);

		memcpy(e, &a, 8);
		memcpy(e + 8, &seg[i].len, 4);
		memcpy(e + 12, &flags, 2);
		memcpy(e + 14, &next, 2);
	}
	avail[2 + idx % VDRV_QSIZE] = head;
	__asm__ volatile("mfence" ::: "memory");
	avail[1] = (uint16_t)(idx + 1);
	__asm__ volatile("mfence" ::: "memory");
	d->next_avail[q] = (uint16_t)(idx + 1);
}

void vdrv_notify(struct vdrv *d, unsigned q)
{
	wr(d, VD_QUEUE_NOTIFY, q);
}

void vdrv_submit(struct vdrv *d, unsigned q, const struct vdrv_seg *seg, unsigned n)
{
	vdrv_post(d, q, seg, n);
	vdrv_notify(d, q);
}

int vdrv_wait(struct vdrv *d, unsigned q, uint32_t *len, unsigned long spins)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(d->used[q] + 2);
	uint16_t at = d->last_used[q];

	for (unsigned long i = 0; i < spins; i++) {
		if (*used_idx != at) {
			volatile uint32_t *e =
			    (volatile uint32_t *)(d->used[q] + 4 + 8 * (at % VDRV_QSIZE));

			*len = e[1];
			d->last_used[q] = (uint16_t)(at + 1);
			return (int)e[0];
		}
		__asm__ volatile("pause");
	}
	return -1;
}

unsigned vdrv_irq_seen(struct vdrv *d)
{
	unsigned vector = VDRV_IRQ_VECTOR + d->slot, r = 0;
	uint32_t isr = rd(d, VD_INT_STATUS);

	if (isr & 1)
		r |= 1;
	wr(d, VD_INT_ACK, isr);
	/* KVM injects an irqfd's interrupt asynchronously: give it a bounded while */
	for (unsigned i = 0; i < 100000 && !(r & 2); i++)
		if (rt_mmio_read32(LAPIC_BASE + LAPIC_IRR + 0x10 * (vector / 32)) >> (vector % 32) &
		    1)
			r |= 2;
	return r;
}

uint8_t vdrv_config8(struct vdrv *d, unsigned off)
{
	return *(volatile const uint8_t *)(uintptr_t)(d->base + VD_CONFIG + off);
}
