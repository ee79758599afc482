/* sbx-init's console log: one line per message, prefixed "sbx-init: ", on stderr (the
 * console in the VM). Never buffers: the host reads the console tail when a boot fails. */
#include "guest/gi.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void gi_log(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "sbx-init: ");
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0) {
		/* no console: nothing else to tell */
	}
}
