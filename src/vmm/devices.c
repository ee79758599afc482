/* virtio-mmio slots, ioeventfd/irqfd wiring and the device thread (see devices.h). */
#include "vmm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

/* Interrupt lines, in slot order: the I/O APIC's pins above the ISA range first, then ISA
 * lines no device of ours uses (0 PIT, 1/12 i8042, 2 cascade, 3/4 UARTs, 8 RTC, 13 FPU, 15). */
static const uint8_t slot_gsi[VMM_VIRTIO_GSIS] = {16, 17, 18, 19, 20, 21, 22, 23,
						  5,  6,  7,  9,  10, 11, 14, 15};

/* The transport's interrupt: an irqfd write (any thread), else a KVM_IRQ_LINE pulse. */
static void slot_irq(struct virtio_mmio *m, void *opaque)
{
	struct vmm_slot *s = opaque;
	uint64_t one = 1;
	struct kvm_irq_level line = {.irq = s->gsi, .level = 1};

	(void)m;
	if (s->irq_fd >= 0) {
		if (write(s->irq_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; nothing else to do */
		}
		return;
	}
	ioctl(s->vm->vm_fd, KVM_IRQ_LINE, &line);
	line.level = 0;
	ioctl(s->vm->vm_fd, KVM_IRQ_LINE, &line);
}

/* A queue's ioeventfd fired (device thread, lock held by the loop). */
static void on_kick(int fd, uint32_t events, void *opaque)
{
	struct vmm_slot *s = opaque;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	for (unsigned q = 0; q < s->mmio.nq; q++)
		if (s->kick_fd[q] == fd) {
			mmio_queue_notify(&s->mmio, q);
			return;
		}
}

static void on_wake(int fd, uint32_t events, void *opaque)
{
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* level-triggered: the loop stops anyway */
	}
	evloop_stop(opaque);
}

int vmm_devices_init(struct vmm_devices *d, const struct vmm_vm *vm, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->wake_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	if (gm_add(&d->gm, 0, vm->mem.low, 0, vm->mem.host) < 0 ||
	    (vm->mem.size > vm->mem.low &&
	     gm_add(&d->gm, VMM_HIGH_RAM_BASE, vm->mem.size - vm->mem.low, 0,
		    vm->mem.host + vm->mem.low) < 0)) {
		snprintf(err, errlen, "devices: guest RAM map refused (report a bug)");
		return -1;
	}
	d->loop = evloop_new();
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!d->loop || d->wake_fd < 0 ||
	    evloop_add(d->loop, d->wake_fd, EPOLLIN, on_wake, d->loop)) {
		snprintf(err, errlen, "devices: event loop: %s (raise the open-file limit)",
			 strerror(errno));
		return -1;
	}
	evloop_set_lock(d->loop, &d->lock);
	return 0;
}

/* Bind an eventfd to @s's interrupt line. -1 if KVM refuses (the fallback is KVM_IRQ_LINE). */
static int slot_irqfd(struct vmm_slot *s)
{
	struct kvm_irqfd req = {.gsi = s->gsi};
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -1;
	req.fd = (uint32_t)fd;
	if (ioctl(s->vm->vm_fd, KVM_IRQFD, &req) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An eventfd KVM signals when the guest writes @q to QueueNotify; -1 if KVM refuses. */
static int slot_ioeventfd(struct vmm_slot *s, unsigned q)
{
	struct kvm_ioeventfd req = {
	    .datamatch = q,
	    .addr = s->base + MMIO_QUEUE_NOTIFY,
	    .len = 4,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -1;
	req.fd = fd;
	if (ioctl(s->vm->vm_fd, KVM_IOEVENTFD, &req) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int vmm_devices_add(struct vmm_devices *d, struct virtio_dev *dev, const char *name,
		    struct vmm_bus *mmio_bus, char *err, size_t errlen)
{
	struct vmm_slot *s;

	if (d->n >= VMM_VIRTIO_SLOTS) {
		snprintf(err, errlen,
			 "device %s: all %d virtio slots are used (give fewer devices)", name,
			 VMM_VIRTIO_SLOTS);
		return -1;
	}
	if (!d->vm->irqchip) {
		snprintf(err, errlen,
			 "device %s: this KVM has no in-kernel irqchip to deliver its interrupts "
			 "(use the qemu engine)",
			 name);
		return -1;
	}
	s = &d->slot[d->n];
	memset(s, 0, sizeof(*s));
	s->base = VMM_VIRTIO_BASE + (uint64_t)d->n * MMIO_WINDOW;
	s->gsi = slot_gsi[d->n % VMM_VIRTIO_GSIS];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->vm = d->vm;
	s->devs = d;
	s->irq_fd = -1;
	for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++)
		s->kick_fd[q] = -1;
	if (mmio_init(&s->mmio, dev, &d->gm, slot_irq, s) < 0) {
		snprintf(err, errlen, "device %s: no queues or too many (report a bug)", name);
		return -1;
	}
	if (vmm_bus_add_locked(mmio_bus, s->base, MMIO_WINDOW, mmio_io, &s->mmio, &d->lock) < 0) {
		snprintf(err, errlen, "device %s: the MMIO bus is full (give fewer devices)", name);
		return -1;
	}
	d->n++;
	s->irq_fd = slot_irqfd(s);
	d->irqfds += s->irq_fd >= 0;
	for (unsigned q = 0; q < s->mmio.nq; q++) {
		s->kick_fd[q] = slot_ioeventfd(s, q);
		if (s->kick_fd[q] < 0)
			continue;
		if (evloop_add(d->loop, s->kick_fd[q], EPOLLIN, on_kick, s) < 0) {
			snprintf(err, errlen,
				 "device %s: event loop: %s (raise the open-file limit)", name,
				 strerror(errno));
			return -1;
		}
		d->ioeventfds++;
	}
	return 0;
}

void vmm_devices_acpi(const struct vmm_devices *d, struct acpi_config *acpi)
{
	acpi->nslots = d->n;
	for (unsigned i = 0; i < d->n; i++)
		acpi->slot[i] = (struct acpi_mmio_slot){
		    .base = (uint32_t)d->slot[i].base,
		    .size = MMIO_WINDOW,
		    .gsi = d->slot[i].gsi,
		    .edge = true,
		};
}

int vmm_devices_cmdline(const struct vmm_devices *d, char *buf, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	for (unsigned i = 0; i < d->n; i++) {
		int w = snprintf(buf + at, len - at, " virtio_mmio.device=%u@0x%llx:%u",
				 (unsigned)MMIO_WINDOW, (unsigned long long)d->slot[i].base,
				 d->slot[i].gsi);

		if (w < 0 || (size_t)w >= len - at) {
			buf[0] = '\0';
			return -1;
		}
		at += (size_t)w;
	}
	return 0;
}

static void *device_thread(void *arg)
{
	struct vmm_devices *d = arg;

	if (d->thread_init && d->thread_init() != 0)
		return NULL;
	evloop_run(d->loop);
	return NULL;
}

int vmm_devices_start(struct vmm_devices *d, char *err, size_t errlen)
{
	int rc = pthread_create(&d->thread, NULL, device_thread, d);

	if (rc != 0) {
		snprintf(err, errlen,
			 "devices: cannot start the device thread: %s (raise the "
			 "process limit)",
			 strerror(rc));
		return -1;
	}
	d->running = true;
	return 0;
}

void vmm_devices_stop(struct vmm_devices *d)
{
	uint64_t one = 1;

	if (d->running) {
		if (write(d->wake_fd, &one, sizeof(one)) < 0) {
			/* cannot fail on a fresh eventfd */
		}
		pthread_join(d->thread, NULL);
		d->running = false;
	}
	for (unsigned i = 0; i < d->n; i++)
		d->slot[i].mmio.dev->ops->reset(d->slot[i].mmio.dev);
}

void vmm_devices_destroy(struct vmm_devices *d)
{
	for (unsigned i = 0; i < d->n; i++) {
		struct vmm_slot *s = &d->slot[i];

		for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++)
			if (s->kick_fd[q] >= 0)
				close(s->kick_fd[q]);
		if (s->irq_fd >= 0)
			close(s->irq_fd);
		s->irq_fd = -1;
	}
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
	evloop_free(d->loop);
	d->loop = NULL;
}
