/* Runtime core (see rt.h): start-up, COM1 output, printf-lite, the debug-exit port and the few
 * libc functions the compiler may call. Never reads the boot data itself (boot.c does). */
#include "rt.h"

void rt_boot_init(unsigned via, uint64_t boot);
void rt_paging_init(void);

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void rt_putc(char c)
{
	rt_outb(RT_COM1, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

static void put_num(uint64_t v, unsigned base)
{
	char buf[24];
	unsigned i = 0;

	do {
		buf[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		rt_putc(buf[--i]);
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		bool lng = false;

		if (*fmt != '%') {
			rt_putc(*fmt);
			continue;
		}
		if (*++fmt == 'l') {
			lng = true;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			rt_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			rt_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);

			if (v < 0)
				rt_putc('-');
			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10);
			break;
		}
		case 'u':
			put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
			break;
		case 'x':
			put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
			break;
		case 'p':
			rt_puts("0x");
			put_num((uintptr_t)va_arg(ap, void *), 16);
			break;
		case '%':
			rt_putc('%');
			break;
		default: /* unknown or a trailing '%': print what is there and stop */
			rt_putc('%');
			if (!*fmt) {
				va_end(ap);
				return;
			}
			rt_putc(*fmt);
			break;
		}
	}
	va_end(ap);
}

void rt_exit(unsigned code)
{
	rt_outb(RT_DEBUG_EXIT, (uint8_t)code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void rt_start(unsigned via, uint64_t boot)
{
	if (via == RT_BOOT_LINUX)
		rt_paging_init();
	rt_boot_init(via, boot);
	rt_exit((unsigned)guest_main());
}
