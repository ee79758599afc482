/* Unit tests of sbx-vmm's bus and stop record (src/vmm/bus.c) as threads use them: the first
 * vmm_stop_set() wins even when many threads race, its wake eventfd is written once the record
 * is complete, a locked range's handler runs with its lock held, and accesses nothing maps read
 * as all ones. */
#include "vmm/bus.h"
#include "t.h"

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

static struct vmm_stop stop;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static int held_during_call = -1;

static void *racer(void *arg)
{
	vmm_stop_set(&stop, (int)(long)arg, "racer %ld", (long)arg);
	return NULL;
}

TEST(first_stop_wins_under_race)
{
	pthread_t t[8];
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t n = 0;
	char want[32];

	vmm_stop_init(&stop, efd);
	CHECK(!vmm_stopped(&stop));
	for (long i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, racer, (void *)(i + 10));
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK(vmm_stopped(&stop));
	CHECK(stop.status >= 10 && stop.status < 18);
	snprintf(want, sizeof(want), "racer %d", stop.status); /* why matches the winner */
	CHECK_STR(stop.why, want);
	CHECK_EQ(read(efd, &n, sizeof(n)), (long)sizeof(n));
	CHECK_EQ(n, 1); /* written once, by the winner only */
	CHECK_EQ(read(efd, &n, sizeof(n)), -1);
	CHECK_EQ(errno, EAGAIN);
	vmm_stop_set(&stop, 99, "late");
	CHECK(stop.status != 99);
	close(efd);
}

TEST(stop_without_wake_fd)
{
	vmm_stop_init(&stop, -1);
	vmm_stop_set(&stop, 3, NULL);
	CHECK(vmm_stopped(&stop));
	CHECK_EQ(stop.status, 3);
	CHECK_STR(stop.why, "");
}

static void locked_dev(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	(void)write;
	held_during_call = pthread_mutex_trylock(&dev_lock) == EBUSY;
	if (!write)
		memset(data, 0x5a, len);
}

static void plain_dev(void *opaque, uint64_t off, bool write, uint8_t *data, uint32_t len)
{
	(void)write;
	(void)data;
	(void)len;
	*(uint64_t *)opaque = off;
}

TEST(locked_range_holds_its_lock)
{
	struct vmm_bus b = {0};
	uint8_t d[4] = {0};
	uint64_t last = 0;

	CHECK_EQ(vmm_bus_add_locked(&b, 0x1000, 0x200, locked_dev, NULL, &dev_lock), 0);
	CHECK_EQ(vmm_bus_add(&b, 0x2000, 0x10, plain_dev, &last), 0);
	CHECK_EQ(vmm_bus_add(&b, 0x11ff, 2, plain_dev, &last), -1); /* overlaps */
	CHECK(vmm_bus_access(&b, 0x1004, false, d, 4));
	CHECK_EQ(held_during_call, 1);
	CHECK_EQ(d[3], 0x5a);
	CHECK_EQ(pthread_mutex_trylock(&dev_lock), 0); /* released after the call */
	pthread_mutex_unlock(&dev_lock);
	CHECK(vmm_bus_access(&b, 0x200c, true, d, 4));
	CHECK_EQ(last, 0xc);
	CHECK(!vmm_bus_access(&b, 0x11fe, false, d, 4)); /* straddles the window's end */
	CHECK_EQ(d[0], 0xff);
	CHECK_EQ(d[3], 0xff);
}

int main(void)
{
	RUN(first_stop_wins_under_race);
	RUN(stop_without_wake_fd);
	RUN(locked_range_holds_its_lock);
	T_EXIT();
}
