/* Unit tests of sbx-vmm's bzImage loading (src/vmm/bzimage.c, src/vmm/loader.c) on synthetic
 * images: the plan of a good header, every bad header field refused with a one-line reason,
 * the zero page written into a RAM buffer (header copied, loader fields, e820 = the PVH map,
 * cmdline, initrd placement under initrd_addr_max), and the ELF/bzImage dispatch. */
#include "vmm/bzimage.h"
#include "vmm/loader.h"
#include "t.h"

#include <stddef.h>

#define RAM	  (16ULL << 20)
#define SECTS	  2
#define PAY_OFF	  ((SECTS + 1) * 512)
#define PAY_LEN	  0x1000
#define IMG_LEN	  (PAY_OFF + PAY_LEN)
#define LOAD_ADDR 0x200000

static char err[256];
static uint8_t img[IMG_LEN];

static void put(size_t off, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		img[off + i] = (uint8_t)v;
}

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

/* A good protocol-2.15 bzImage: SECTS setup sectors, a PAY_LEN payload of a counting pattern,
 * relocatable, pref_address LOAD_ADDR aligned to 2 MiB, init_size 0x10000. */
static void good(void)
{
	memset(img, 0, sizeof(img));
	put(BP_SETUP_SECTS, 1, SECTS);
	put(BP_BOOT_FLAG, 2, BZ_BOOT_FLAG);
	put(0x200, 1, 0xeb);
	put(0x201, 1, BZ_SETUP_HDR_END - 0x202);
	put(BP_HEADER, 4, BZ_HDRS_MAGIC);
	put(BP_VERSION, 2, 0x020f);
	put(BP_LOADFLAGS, 1, BZ_LOADED_HIGH);
	put(BP_INITRD_ADDR_MAX, 4, 0x7fffffff);
	put(BP_KERNEL_ALIGNMENT, 4, 0x200000);
	put(BP_RELOCATABLE, 1, 1);
	put(BP_XLOADFLAGS, 2, BZ_XLF_KERNEL_64);
	put(BP_CMDLINE_SIZE, 4, 255);
	put(BP_PREF_ADDRESS, 8, LOAD_ADDR);
	put(BP_INIT_SIZE, 4, 0x10000);
	for (size_t i = 0; i < PAY_LEN; i++)
		img[PAY_OFF + i] = (uint8_t)(i * 7 + 1);
}

TEST(good_plan)
{
	struct bz_plan p;

	good();
	CHECK(bz_is_bzimage(img, sizeof(img)));
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.version, 0x020f);
	CHECK_EQ(p.hdr_end, BZ_SETUP_HDR_END);
	CHECK_EQ(p.payload_off, PAY_OFF);
	CHECK_EQ(p.payload_len, PAY_LEN);
	CHECK_EQ(p.load_addr, LOAD_ADDR);
	CHECK_EQ(p.entry64, LOAD_ADDR + 0x200);
	CHECK_EQ(p.init_size, 0x10000);
	CHECK_EQ(p.cmdline_max, 255);
	CHECK_EQ(p.initrd_max, 0x7fffffff);
	put(BP_SETUP_SECTS, 1, 0); /* 0 means 4 */
	put(BP_RELOCATABLE, 1, 0);
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.payload_off, 5 * 512);
}

/* The good image with @n bytes at @off set to @v must be refused with @want in the message. */
static void refused(size_t off, unsigned n, uint64_t v, size_t len, uint64_t ram, const char *want)
{
	struct bz_plan p;

	good();
	if (n)
		put(off, n, v);
	err[0] = '\0';
	CHECK_EQ(bz_parse(img, len, ram, &p, err, sizeof(err)), -1);
	if (!strstr(err, want)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want, err);
		t_cur_failed = 1;
	}
	CHECK(!strchr(err, '\n'));
	CHECK_EQ(p.load_addr, 0);
}

TEST(bad_headers_refused)
{
	refused(BP_BOOT_FLAG, 2, 0x55aa, IMG_LEN, RAM, "no bzImage setup header");
	refused(BP_HEADER, 4, 0x53726449, IMG_LEN, RAM, "no bzImage setup header");
	refused(0, 0, 0, 0x205, RAM, "no bzImage setup header");
	refused(0, 0, 0, 0x207, RAM, "setup header truncated");
	refused(BP_VERSION, 2, 0x020b, IMG_LEN, RAM, "boot protocol 2.11, need 2.12");
	refused(0x201, 1, 0x20, IMG_LEN, RAM, "setup header too short");
	refused(0x200, 1, 0x90, IMG_LEN, RAM, "setup header too short");
	refused(0, 0, 0, 0x250, RAM, "setup header truncated");
	refused(BP_SETUP_SECTS, 1, 16, IMG_LEN, RAM, "setup_sects 16 puts the kernel past the end");
	refused(0, 0, 0, PAY_OFF, RAM, "past the end of the file");
	refused(BP_XLOADFLAGS, 2, 2, IMG_LEN, RAM, "no 64-bit entry (XLF_KERNEL_64 clear");
	refused(BP_LOADFLAGS, 1, 0, IMG_LEN, RAM, "LOADED_HIGH clear");
	refused(BP_PREF_ADDRESS, 8, 0x80000, IMG_LEN, RAM, "pref_address 0x80000 is outside");
	refused(BP_PREF_ADDRESS, 8, RAM, IMG_LEN, RAM, "raise --mem");
	refused(BP_PREF_ADDRESS, 8, 0x300000, IMG_LEN, RAM, "kernel_alignment 0x200000 is not");
	refused(BP_KERNEL_ALIGNMENT, 4, 0x300000, IMG_LEN, RAM, "not a power of two");
	refused(BP_KERNEL_ALIGNMENT, 4, 0, IMG_LEN, RAM, "not a power of two");
	refused(BP_INIT_SIZE, 4, PAY_LEN - 1, IMG_LEN, RAM, "init_size 0xfff is smaller");
	refused(BP_INIT_SIZE, 4, RAM - LOAD_ADDR + 1, IMG_LEN, RAM, "(raise --mem)");
	refused(BP_INIT_SIZE, 4, 0xffffffff, IMG_LEN, RAM, "more than 16 MiB of RAM");
}

TEST(zero_page)
{
	static uint8_t ram[RAM];
	struct vmm_mem mem = {ram, RAM, RAM};
	struct bz_plan p;
	struct bz_info info;
	uint8_t initrd[5000];
	const uint8_t *zp = ram + BZ_BOOT_PARAMS_GPA, *e;
	const uint64_t want[3][3] = {
	    {0, 0xa0000, 1}, {0xa0000, 0x60000, 2}, {0x100000, RAM - 0x100000, 1}};

	good();
	memset(initrd, 0x5a, sizeof(initrd));
	memset(ram, 0xee, sizeof(ram));
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), initrd, sizeof(initrd), "console=ttyS0",
			  &info, err, sizeof(err)),
		 0);
	CHECK(memcmp(ram + LOAD_ADDR, img + PAY_OFF, PAY_LEN) == 0);
	CHECK(memcmp(zp + BZ_SETUP_HDR_OFF, img + BZ_SETUP_HDR_OFF,
		     BP_TYPE_OF_LOADER - BZ_SETUP_HDR_OFF) == 0);
	CHECK_EQ(get(zp + BP_HEADER, 4), BZ_HDRS_MAGIC);
	CHECK_EQ(get(zp + BP_VERSION, 2), 0x020f);
	CHECK_EQ(get(zp + BP_PREF_ADDRESS, 8), LOAD_ADDR);
	CHECK_EQ(zp[BP_TYPE_OF_LOADER], BZ_LOADER_UNDEF);
	CHECK_EQ(zp[BP_LOADFLAGS], BZ_LOADED_HIGH | BZ_CAN_USE_HEAP);
	CHECK_EQ(zp[0], 0); /* the rest of the zero page is cleared */
	CHECK_EQ(zp[BZ_BOOT_PARAMS_LEN - 1], 0);
	CHECK_EQ(get(zp + BP_CMD_LINE_PTR, 4), 0x20000);
	CHECK_STR((const char *)ram + 0x20000, "console=ttyS0");
	CHECK_EQ(info.e820_entries, 3);
	CHECK_EQ(zp[BP_E820_ENTRIES], 3);
	for (unsigned i = 0; i < 3; i++) {
		e = zp + BP_E820_TABLE + i * BP_E820_ENTRY_LEN;
		CHECK_EQ(get(e, 8), want[i][0]);
		CHECK_EQ(get(e + 8, 8), want[i][1]);
		CHECK_EQ(get(e + 16, 4), want[i][2]);
	}
	/* the initrd: page-aligned, at the top of RAM, above the kernel's init_size */
	CHECK_EQ(info.initrd_gpa, (RAM - sizeof(initrd)) & ~0xfffULL);
	CHECK_EQ(get(zp + BP_RAMDISK_IMAGE, 4), info.initrd_gpa);
	CHECK_EQ(get(zp + BP_RAMDISK_SIZE, 4), sizeof(initrd));
	CHECK_EQ(get(zp + BP_EXT_RAMDISK_IMAGE, 4), 0);
	CHECK(memcmp(ram + info.initrd_gpa, initrd, sizeof(initrd)) == 0);
	CHECK_EQ(bz_set_rsdp(&mem, 0xe0000), 0);
	CHECK_EQ(get(zp + BP_ACPI_RSDP_ADDR, 8), 0xe0000);

	/* initrd_addr_max below the top of RAM caps the placement */
	put(BP_INITRD_ADDR_MAX, 4, 0x800000 - 1);
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), initrd, sizeof(initrd), "", &info, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(info.initrd_gpa, (0x800000 - sizeof(initrd)) & ~0xfffULL);
	CHECK_EQ(get(zp + BP_RAMDISK_IMAGE, 4), info.initrd_gpa);
	/* no initrd: both fields 0 */
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), NULL, 0, "", &info, err, sizeof(err)), 0);
	CHECK_EQ(info.initrd_gpa, 0);
	CHECK_EQ(get(zp + BP_RAMDISK_SIZE, 4), 0);
}

TEST(setup_refusals)
{
	static uint8_t ram[RAM];
	struct vmm_mem mem = {ram, RAM, RAM};
	struct bz_plan p;
	struct bz_info info;
	static uint8_t big[0x2000];
	char line[300];

	good();
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	memset(line, 'x', 256);
	line[256] = '\0';
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), NULL, 0, line, &info, err, sizeof(err)), -1);
	CHECK(strstr(err, "--cmdline: 256 bytes, the kernel takes at most 255") != NULL);
	line[255] = '\0';
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), NULL, 0, line, &info, err, sizeof(err)), 0);
	/* the initrd must stay above the kernel: initrd_addr_max just above init_size */
	put(BP_INITRD_ADDR_MAX, 4, LOAD_ADDR + 0x10000 + 0x1000 - 1);
	CHECK_EQ(bz_parse(img, sizeof(img), RAM, &p, err, sizeof(err)), 0);
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), big, 0x1000, "", &info, err, sizeof(err)), 0);
	CHECK_EQ(info.initrd_gpa, LOAD_ADDR + 0x10000);
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), big, 0x1001, "", &info, err, sizeof(err)),
		 -1);
	CHECK(strstr(err, "initrd: 4097 bytes do not fit") != NULL);
	CHECK(!strchr(err, '\n'));
	/* a plan for more RAM than there is */
	mem.size = mem.low = 1 << 20;
	CHECK_EQ(bz_setup(&mem, &p, img, sizeof(img), NULL, 0, "", &info, err, sizeof(err)), -1);
	CHECK(strstr(err, "--kernel: the bzImage does not fit in 1 MiB") != NULL);
}

TEST(loader_dispatch)
{
	struct loader_kernel k;
	static const uint8_t junk[600] = {1, 2, 3};

	good();
	CHECK_EQ(loader_parse(img, sizeof(img), RAM, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.kind, LOADER_BZIMAGE);
	CHECK_EQ(k.bz.entry64, LOAD_ADDR + 0x200);
	put(BP_VERSION, 2, 0x0200);
	CHECK_EQ(loader_parse(img, sizeof(img), RAM, &k, err, sizeof(err)), -1);
	CHECK(strstr(err, "boot protocol 2.00") != NULL);
	CHECK_EQ(loader_parse(junk, sizeof(junk), RAM, &k, err, sizeof(err)), -1);
	CHECK(strstr(err, "not an ELF vmlinux nor a bzImage") != NULL);
	CHECK_EQ(loader_parse((const uint8_t *)"\177ELF", 4, RAM, &k, err, sizeof(err)), -1);
	CHECK_EQ(k.kind, LOADER_PVH);
	CHECK(strstr(err, "ELF") != NULL);
}

int main(void)
{
	RUN(good_plan);
	RUN(bad_headers_refused);
	RUN(zero_page);
	RUN(setup_refusals);
	RUN(loader_dispatch);
	T_EXIT();
}
