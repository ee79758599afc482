/* libFuzzer target for sbx-vmm's ELF/PVH parser (src/vmm/boot.c, boot_elf_parse()): random
 * bytes never crash it, a refusal is one line, and every planned segment lies inside the file
 * and inside [1 MiB, RAM) with the entry inside a segment. */
#include "vmm/boot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RAM (64ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_plan p;
	char err[256];
	bool entry_in = false;

	if (boot_elf_parse(data, size, FUZZ_RAM, &p, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n') || !err[0])
			abort();
		return 0;
	}
	if (p.nseg == 0 || p.nseg > BOOT_SEG_MAX)
		abort();
	for (unsigned i = 0; i < p.nseg; i++) {
		const struct boot_seg *s = &p.seg[i];

		if (s->off > size || s->filesz > size - s->off || s->filesz > s->memsz ||
		    s->paddr < BOOT_KERNEL_MIN || s->paddr > FUZZ_RAM ||
		    s->memsz > FUZZ_RAM - s->paddr || s->paddr + s->memsz > p.end)
			abort();
		if (p.entry >= s->paddr && p.entry - s->paddr < s->memsz)
			entry_in = true;
	}
	if (!entry_in || p.end > FUZZ_RAM)
		abort();
	return 0;
}
