/* libFuzzer target for portspec_parse() (the -p / --publish spec of the CLI) and
 * api_ports_parse() (the POST/DELETE /v1/sandboxes/NAME/ports body of sbxd): whatever parses
 * must format back into a spec that parses to the same publication. */
#include "common/portspec.h"
#include "daemon/api_ports.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void roundtrip(const struct port_spec *p)
{
	char text[PORTSPEC_TEXT_MAX], again[PORTSPEC_TEXT_MAX + 8], err[256];
	struct port_spec q;
	char *arrow;

	portspec_format(p, text, sizeof(text));
	/* "IP:HP->SP/proto" -> "IP:HP:SP/proto" (HP 0 -> "IP::SP") */
	arrow = strstr(text, "->");
	if (!arrow)
		abort();
	if (p->host_port)
		snprintf(again, sizeof(again), "%.*s:%s", (int)(arrow - text), text, arrow + 2);
	else
		snprintf(again, sizeof(again), "%.*s:%s", (int)(arrow - text - 1), text, arrow + 2);
	if (portspec_parse(again, &q, err, sizeof(err)) < 0 || q.proto != p->proto ||
	    q.sandbox_port != p->sandbox_port || q.host_port != p->host_port ||
	    strcmp(q.host_ip, p->host_ip) != 0 || q.family != p->family)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s = malloc(size + 1);
	struct port_spec p;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (portspec_parse(s, &p, err, sizeof(err)) == 0)
		roundtrip(&p);
	else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n'))
		abort();
	if (api_ports_parse(s, size, &p, err, sizeof(err)) == 0) {
		if (p.sandbox_port == 0)
			abort();
		roundtrip(&p);
	}
	free(s);
	return 0;
}
