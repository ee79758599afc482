/* libFuzzer target for sbx-vmm's bzImage loading (src/vmm/bzimage.c): random bytes never crash
 * bz_parse(), a refusal is one line, and an accepted plan has its payload inside the file and
 * [load_addr, load_addr + init_size) inside RAM above 1 MiB; bz_setup() of an accepted plan
 * into a small RAM either succeeds with the initrd above the kernel or refuses in one line. */
#include "vmm/bzimage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RAM (8ULL << 20)

static void one_line(const char *err, size_t len)
{
	if (!memchr(err, '\0', len) || strchr(err, '\n') || !err[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[FUZZ_RAM];
	static const uint8_t initrd[4096];
	struct vmm_mem mem = {ram, FUZZ_RAM, FUZZ_RAM};
	struct bz_plan p;
	struct bz_info info;
	char err[256];

	if (bz_parse(data, size, FUZZ_RAM, &p, err, sizeof(err)) < 0) {
		one_line(err, sizeof(err));
		return 0;
	}
	if (!bz_is_bzimage(data, size) || p.version < BZ_VERSION_MIN || p.payload_off > size ||
	    p.payload_len != size - p.payload_off || p.hdr_end > BZ_SETUP_HDR_END ||
	    p.hdr_end > size || p.load_addr < 0x100000 || p.init_size < p.payload_len ||
	    p.init_size > FUZZ_RAM - p.load_addr || p.entry64 != p.load_addr + 0x200)
		abort();
	if (bz_setup(&mem, &p, data, size, initrd, sizeof(initrd), "console=ttyS0", &info, err,
		     sizeof(err)) < 0) {
		one_line(err, sizeof(err));
		return 0;
	}
	if (info.initrd_gpa < p.load_addr + p.init_size || info.initrd_gpa & 0xfff ||
	    info.initrd_gpa + sizeof(initrd) > FUZZ_RAM || info.e820_entries != 3)
		abort();
	return 0;
}
