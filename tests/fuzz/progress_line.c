/* libFuzzer target for progress_parse_line(), the parser of the image scripts' "@@" progress
 * lines: any line must classify without reading past its end, and text must stay inside it. */
#include "common/progress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct progress_line pl;
	char *line = malloc(size + 1);

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	progress_parse_line(line, &pl);
	if (pl.text && (pl.text < line || pl.text > line + strlen(line)))
		abort();
	free(line);
	return 0;
}
