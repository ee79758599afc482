# sbx build. `make` builds the host binaries (sbx, sbxd, sbx-vhost, sbx-vmm) and the guest's
# static sbx-init; `make check` runs the whole suite (tests/run). Sources are picked up
# by directory, so adding a file needs no edit here:
#   src/common src/proto src/virtio/** src/vhost src/daemon/** src/engine src/cli src/vmm
#                                                                            -> libsbx.a
#   src/guest (minus main.c)                                                 -> libguest.a
#   <dir>/main.c of cli, daemon, vhost, vmm                                  -> one binary each
#   tests/vmmguest/X.S -> build/vmmguest/X.elf, freestanding PVH guests for sbx-vmm (with the tests)
#   src/guest/*.c + src/proto/*.c, musl static                               -> sbx-init
#   tests/unit/*_test.c -> one test binary each; tests/fuzz/*.c -> one libFuzzer target each
#   tests/guest/X.c (+ tests/guest/X/*.c) -> static musl helper programs put into test guests
#   tests/bench/X.c -> build/bench/X, helpers of bench/ scripts (built with the tests)
# Variants: SAN=1 (ASan+UBSan, into build/san), FUZZ=1 (clang + libFuzzer, into build/fuzz).

CC      ?= gcc
SAN     ?= 0
FUZZ    ?= 0
MUSLCC  ?= musl-gcc

ifeq ($(FUZZ),1)
  CC    := clang
  BUILD ?= build/fuzz
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),1)
  BUILD ?= build/san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  BUILD ?= build
  SANFLAGS :=
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE $(WARN) $(SANFLAGS) -Isrc -MMD -MP
ifeq ($(SAN)$(FUZZ),00)
  CFLAGS += $(HARDEN) -fPIE
  LDFLAGS += -pie -Wl,-z,relro,-z,now
endif
LDFLAGS += $(SANFLAGS) -Wl,--as-needed
LIBS    := -ljansson -lsqlite3 -lmicrohttpd -lcurl -lssl -lcrypto -lseccomp -lutil -lpthread
# libsecret (the keyring for secret values): its glib headers as system headers, so -Werror
# judges only our code; given only to the objects that include it.
LIBS    += $(shell pkg-config --libs libsecret-1)
SECRET_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libsecret-1))

GUEST_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Os -static -Isrc -MMD -MP

MAINS       := src/cli/main.c src/daemon/main.c src/vhost/main.c src/vmm/main.c
HOST_SRC    := $(filter-out $(MAINS),$(wildcard src/common/*.c src/proto/*.c src/vhost/*.c \
                 src/engine/*.c src/cli/*.c src/vmm/*.c) $(shell find src/virtio src/daemon -name '*.c'))
GUEST_LIB_SRC := $(filter-out src/guest/main.c,$(wildcard src/guest/*.c))
GUEST_SRC   := $(filter-out src/proto/agent_client.c,$(wildcard src/guest/*.c src/proto/*.c))
UNIT_SRC    := $(wildcard tests/unit/*_test.c)
FUZZ_SRC    := $(wildcard tests/fuzz/*.c)
GUEST_TOOLS := $(wildcard tests/guest/*.c)
BENCH_TOOLS := $(wildcard tests/bench/*.c)
VMM_GUESTS  := $(patsubst tests/vmmguest/%.S,$(BUILD)/vmmguest/%.elf,$(wildcard tests/vmmguest/*.S))
VMM_CGUESTS := $(foreach g,$(patsubst tests/vmmguest/%.c,%,$(wildcard tests/vmmguest/*.c)),\
                 $(BUILD)/vmmguest/$(g).elf $(BUILD)/vmmguest/$(g).bz)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BINS  := $(BUILD)/sbx $(BUILD)/sbxd $(BUILD)/sbx-vhost $(BUILD)/sbx-vmm
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
GUEST_TOOL_BINS := $(patsubst tests/guest/%.c,$(BUILD)/guest/%,$(GUEST_TOOLS))
BENCH_TOOL_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_TOOLS))

.PHONY: all host guest tests fuzz check clean format lint
all: host guest
host: $(BINS) $(BUILD)/lib/sbx/images
guest: $(BUILD)/lib/sbx/sbx-init $(GUEST_TOOL_BINS)
tests: $(UNITS) $(BENCH_TOOL_BINS) $(VMM_GUESTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(call obj,src/daemon/secrets/keyring.c tests/unit/secrets_keyring_test.c): CFLAGS += $(SECRET_CFLAGS)

$(BUILD)/libsbx.a: $(call obj,$(HOST_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libguest.a: $(call obj,$(GUEST_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sbx: $(call obj,src/cli/main.c) $(BUILD)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/sbxd: $(call obj,src/daemon/main.c) $(BUILD)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/sbx-vhost: $(call obj,src/vhost/main.c) $(BUILD)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/sbx-vmm: $(call obj,src/vmm/main.c) $(BUILD)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Freestanding sbx-vmm test guests: tests/vmmguest/X.S -> $(BUILD)/vmmguest/X.elf (32-bit,
# linked at 1 MiB by tests/vmmguest/guest.ld; the host gcc is enough, no multilib needed).
$(BUILD)/vmmguest/%.elf: tests/vmmguest/%.S tests/vmmguest/guest.ld tests/vmmguest/guest.h
	@mkdir -p $(dir $@)
	$(CC) -m32 -nostdlib -static -no-pie -ffreestanding -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	  -Wl,-T,tests/vmmguest/guest.ld -o $@ $<

# C test guests on the runtime tests/vmmguest/rt/ (64-bit, no libc): tests/vmmguest/X.c ->
# $(BUILD)/vmmguest/X.elf (PVH entry, crt_pvh.S) and $(BUILD)/vmmguest/X.bz (a bzImage: bzhdr.S's
# setup header, then crt_bz.S + rt + X flat, entered at the 64-bit entry). The host gcc.
VMMRT_SRC    := $(wildcard tests/vmmguest/rt/*.c)
VMMRT_DEPS   := $(VMMRT_SRC) $(wildcard tests/vmmguest/rt/*.h) tests/vmmguest/rt/rt.ld
VMMRT_CFLAGS := -m64 -std=c17 -ffreestanding -nostdlib -fno-pic -static -mno-red-zone \
                -mgeneral-regs-only -fno-stack-protector -fno-builtin -O2 -Wall -Wextra -Werror \
                -Itests/vmmguest -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack \
                -Wl,-T,tests/vmmguest/rt/rt.ld
tests: $(VMM_CGUESTS)
$(BUILD)/vmmguest/%.elf: tests/vmmguest/%.c tests/vmmguest/rt/crt_pvh.S $(VMMRT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VMMRT_CFLAGS) -o $@ tests/vmmguest/rt/crt_pvh.S $(VMMRT_SRC) $<
$(BUILD)/vmmguest/%.bzpayload: tests/vmmguest/%.c tests/vmmguest/rt/crt_bz.S $(VMMRT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VMMRT_CFLAGS) -o $@.elf tests/vmmguest/rt/crt_bz.S $(VMMRT_SRC) $<
	objcopy -O binary -j .text $@.elf $@
$(BUILD)/vmmguest/%.bz: $(BUILD)/vmmguest/%.bzpayload tests/vmmguest/rt/bzhdr.S
	$(CC) -m64 -c -DPAYLOAD='"$<"' -o $@.o tests/vmmguest/rt/bzhdr.S
	objcopy -O binary -j .text $@.o $@

# The guest agent: static, musl, no host libraries.
$(BUILD)/lib/sbx/sbx-init: $(GUEST_SRC) $(wildcard src/proto/*.h src/guest/*.h)
	@mkdir -p $(dir $@)
	$(MUSLCC) $(GUEST_CFLAGS) -o $@ $(GUEST_SRC)
# A guest tool is tests/guest/X.c plus, if it is split, tests/guest/X/*.c.
.SECONDEXPANSION:
$(BUILD)/guest/%: tests/guest/%.c $$(wildcard tests/guest/$$*/*.c tests/guest/$$*/*.h)
	@mkdir -p $(dir $@)
	$(MUSLCC) $(GUEST_CFLAGS) -o $@ $< $(wildcard tests/guest/$*/*.c)

# Image scripts travel with the binaries so an installed sbx finds them beside itself.
$(BUILD)/lib/sbx/images: $(shell find images -type f)
	@mkdir -p $(dir $@)
	rm -rf $@ && cp -r images $@

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(BUILD)/libguest.a $(BUILD)/libsbx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# bench/ helpers that link the host and guest code: tests/bench/X.c -> $(BUILD)/bench/X
$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(BUILD)/libguest.a $(BUILD)/libsbx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz:
	$(MAKE) FUZZ=1 fuzzers
fuzzers: $(FUZZERS)
$(BUILD)/fuzz/%: $(call obj,tests/fuzz/%.c) $(BUILD)/libguest.a $(BUILD)/libsbx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

check: all
	tests/run

format:
	clang-format -i $$(find src tests -name '*.[ch]')

lint:
	clang-format --dry-run --Werror $$(find src tests -name '*.[ch]')
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem -D_GNU_SOURCE -Isrc src tests

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
