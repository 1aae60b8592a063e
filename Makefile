# bitbench - build, test and run.
#   make            build/bitbench and build/libbitbench.a
#   make check      every cmocka test (sanitized build), the add-only and ISA disassembly
#                   checks, and the same for the AArch64 build under qemu (make check-arm)
#   make run        the main job (see README.md)
#   make clean
#
# Per-file ISA flags: a kernel file kernels/<arch>/<format>_<level>[_<method>].c gets the
# flags of ISA level <level> (kernels/isa.def) and nothing else in the binary does, so one
# binary holds every variant and picks at run time.  Only the kernel folder of the target
# architecture ($(CC) -dumpmachine) is built: `make CC=aarch64-linux-gnu-gcc` cross-builds
# for AArch64 (make check-arm tests that build under qemu).  The scalar references
# (kernels/*.c, kernels/ref/*.c) are built with auto-vectorization off: a reference that
# the compiler vectorizes is no baseline.

CC      ?= cc
BUILD   := build
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror
OPT     ?= -O2 -g
NOVEC   := -fno-tree-vectorize -fno-tree-slp-vectorize
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# ---------------------------------------------------------------- ISA table
# kernels/isa.def, one line per architecture and per level:
#   BB_ARCH(ID, "machine", "dir")  ->  ARCH_ROWS word  ID;machine;dir
#   BB_ISA(ID, ARCH, "name", mask, "flags")  ->  ISA_ROWS word  ARCH;name;flags (spaces as ^)
ISA_DEF  := kernels/isa.def
lp := (
rp := )
ARCH_ROWS := $(shell sed -n 's/^BB_ARCH[$(lp)]\([A-Z0-9_]*\), *"\([^"]*\)", *"\([^"]*\)"[$(rp)].*/\1;\2;\3/p' $(ISA_DEF))
ISA_ROWS  := $(shell sed -n '/^BB_ISA[$(lp)]/{s/^BB_ISA[$(lp)][A-Z0-9_]*, *\([A-Z0-9_]*\), *"\([^"]*\)",[^"]*"\([^"]*\)"[$(rp)].*/\1;\2;\3/;s/ /^/g;p;}' $(ISA_DEF))
row_field = $(word $(2),$(subst ;, ,$(1)))

TARGET_MACHINE := $(shell $(CC) -dumpmachine)
ARCH           := $(firstword $(subst -, ,$(TARGET_MACHINE)))
ARCH_ROW       := $(firstword $(foreach r,$(ARCH_ROWS),$(if $(filter $(ARCH),$(call row_field,$(r),2)),$(r))))
ARCH_ID        := $(call row_field,$(ARCH_ROW),1)
KDIR           := $(if $(ARCH_ROW),kernels/$(call row_field,$(ARCH_ROW),3))
# the levels of the target architecture, lowest first, and their flags
ISA_LEVELS     := $(foreach r,$(ISA_ROWS),$(if $(filter $(ARCH_ID),$(call row_field,$(r),1)),$(call row_field,$(r),2)))
$(foreach r,$(ISA_ROWS),$(eval ISA_FLAGS_$(call row_field,$(r),2) := $(subst ^, ,$(call row_field,$(r),3))))
ifeq ($(KDIR),)
$(info bitbench: no SIMD kernels for $(ARCH) ($(TARGET_MACHINE)): scalar references only)
endif

# ---------------------------------------------------------------- dependencies
# jansson is required (results are JSON); the others serve one feature each, which
# reports "unavailable" when its library is missing - never a build failure.
# Cross-building (the target is not this machine): pkg-config reads the target's .pc files
# from Debian's multiarch folder.
ifneq ($(ARCH),$(shell uname -m))
PKG_CONFIG ?= PKG_CONFIG_LIBDIR=/usr/lib/$(TARGET_MACHINE)/pkgconfig:/usr/share/pkgconfig pkg-config
else
PKG_CONFIG ?= pkg-config
endif
pkg_has = $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo 1)
HAVE_JANSSON := $(call pkg_has,jansson)
HAVE_PAPI    := $(call pkg_has,papi)
HAVE_HWLOC   := $(call pkg_has,hwloc)
HAVE_CMOCKA  := $(call pkg_has,cmocka)
HAVE_LIKWID  := $(shell printf '\#include <likwid-marker.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && \
                  test -f "$$($(CC) -print-file-name=liblikwid.so)" && echo 1)

ifneq ($(HAVE_JANSSON),1)
$(error jansson not found (pkg-config jansson): run scripts/install-deps.sh)
endif
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags jansson)
DEP_LIBS   := $(shell $(PKG_CONFIG) --libs jansson) -lpthread -lm
ifeq ($(HAVE_PAPI),1)
DEP_CFLAGS += -DBB_HAVE_PAPI $(shell $(PKG_CONFIG) --cflags papi)
DEP_LIBS   += $(shell $(PKG_CONFIG) --libs papi)
else
$(info bitbench: PAPI not found (pkg-config papi): hardware counters will report unavailable)
endif
ifeq ($(HAVE_HWLOC),1)
DEP_CFLAGS += -DBB_HAVE_HWLOC $(shell $(PKG_CONFIG) --cflags hwloc)
DEP_LIBS   += $(shell $(PKG_CONFIG) --libs hwloc)
else
$(info bitbench: hwloc not found (pkg-config hwloc): no thread pinning, cache sizes from sysfs)
endif
ifeq ($(HAVE_LIKWID),1)
DEP_CFLAGS += -DBB_HAVE_LIKWID -DLIKWID_PERFMON
DEP_LIBS   += -llikwid
else
$(info bitbench: likwid not found (likwid-marker.h): likwid marker regions disabled)
endif

CFLAGS_BASE := $(CSTD) $(WARN) $(OPT) $(DEP_CFLAGS) $(EXTRA_CFLAGS)
# make check also runs the AArch64 suite under qemu when building for x86-64
CHECK_ARM ?= $(if $(filter x86_64,$(ARCH)),check-arm)
# harness/machine/machine.c records the flags in every result row (build.cflags)
BUILD_INFO  := -DBB_CFLAGS='"$(CFLAGS_BASE)"'

# isa_level: the level word of a file's name (the first word, split at '_', that names a
# level of the target architecture: tern2_avx512_lut.c -> avx512); isa_flags: that level's
# flags.  Any source file may use it (make fragments call file_flags); scripts/check-isa.sh
# reads object names by the same rule.
isa_level = $(firstword $(filter $(ISA_LEVELS),$(subst _, ,$(basename $(notdir $(1))))))
isa_flags = $(ISA_FLAGS_$(call isa_level,$(1)))
ref_flags = $(if $(filter kernels/%,$(1)),$(if $(and $(KDIR),$(filter $(KDIR)/%,$(1))),,$(NOVEC)))
file_flags = $(strip $(call isa_flags,$(1)) $(call ref_flags,$(1)))

# ---------------------------------------------------------------- sources
KERNEL_SRC := $(if $(KDIR),$(sort $(wildcard $(KDIR)/*.c)))
$(foreach f,$(KERNEL_SRC),$(if $(call isa_level,$(f)),,$(error $(f): no ISA level ($(ISA_LEVELS)) in its name; see kernels/isa.def)))
LIB_SRC   := $(sort $(wildcard kernels/*.c kernels/ref/*.c harness/*/*.c) $(KERNEL_SRC))
BENCH_SRC := $(sort $(wildcard bench/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TESTUTIL_SRC := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/*.c)))
REF_SRC   := $(sort $(wildcard kernels/ref/*.c))

LIB_OBJ       := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_OBJ     := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
ASAN_LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/asan/%.o)
ASAN_BENCH_OBJ:= $(BENCH_SRC:%.c=$(BUILD)/asan/%.o)
TESTUTIL_OBJ  := $(TESTUTIL_SRC:%.c=$(BUILD)/asan/%.o)
COUNT_OBJ     := $(REF_SRC:%.c=$(BUILD)/count/%.o)
TEST_BIN      := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all check run clean bench-kernels check-addonly check-isa check-arm test-programs check-includes
all: $(BUILD)/bitbench

$(BUILD)/obj/harness/machine/machine.o $(BUILD)/asan/harness/machine/machine.o: CFLAGS_BASE += $(BUILD_INFO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(call file_flags,$<) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) $(call file_flags,$<) -MMD -MP -c $< -o $@

# The references once more, with every operation tallied (tests/test_opcount.c).
$(BUILD)/count/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) $(NOVEC) -DBB_COUNT_OPS -MMD -MP -c $< -o $@

$(BUILD)/libbitbench.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libbitbench.a: $(ASAN_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bitbench: $(BENCH_OBJ) $(BUILD)/libbitbench.a
	$(CC) $(CFLAGS_BASE) $^ $(DEP_LIBS) -o $@

$(BUILD)/asan/bitbench: $(ASAN_BENCH_OBJ) $(BUILD)/asan/libbitbench.a
	$(CC) $(CFLAGS_BASE) $(SAN) $^ $(DEP_LIBS) -o $@

# ---------------------------------------------------------------- tests
ifeq ($(HAVE_CMOCKA),1)
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka)
$(BUILD)/tests/test_opcount: tests/test_opcount.c $(COUNT_OBJ) $(TESTUTIL_OBJ) $(BUILD)/asan/libbitbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -DBB_COUNT_OPS -Ikernels $^ $(TEST_LIBS) $(DEP_LIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(TESTUTIL_OBJ) $(BUILD)/asan/libbitbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -Ikernels $^ $(TEST_LIBS) $(DEP_LIBS) -o $@

# What the tests need, built without running anything (check-arm builds it for AArch64).
test-programs: $(TEST_BIN) $(BUILD)/asan/bitbench $(BUILD)/bitbench

# Tests and CI never tune on their own (gemm/sweep's first-run tuning, bench/cli.h): what
# they check must not depend on which implementation a noisy timing picked.
check check-arm check-slurm: export BITBENCH_AUTOTUNE := 0

# Every test binary runs even when one fails; the target fails if any did.
check: $(TEST_BIN) $(BUILD)/asan/bitbench $(BUILD)/bitbench check-includes check-addonly check-isa $(CHECK_ARM)
	@fail=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; \
	  BITBENCH_BIN=$(BUILD)/asan/bitbench BITBENCH_SRCDIR=$(CURDIR) ./$$t || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "check: all test programs passed"; else echo "check: FAILED"; fi; \
	exit $$fail
else
check:
	@echo "cmocka not found (pkg-config cmocka): run scripts/install-deps.sh" >&2; exit 2
endif

# The rooms of harness/ stay rooms (README, "harness/: one room per concern"): every include
# follows the arrows; the self-test first plants backwards includes in a copy, each must fail.
check-includes:
	@scripts/check-includes.sh --self-test && scripts/check-includes.sh

# Multiply-free kernels must stay multiply-free: disassemble their hot loops.
check-addonly: $(BUILD)/bitbench
	@scripts/check-addonly.sh $(BUILD)/bitbench

# Every object holds only instructions of its ISA level (kernels/isa.def): a kernel file's
# level from its name, everything else the baseline.
check-isa: $(LIB_OBJ) $(BENCH_OBJ)
	@scripts/check-isa.sh $(ISA_DEF) $(LIB_OBJ) $(BENCH_OBJ)

# ---------------------------------------------------------------- AArch64 under qemu
# The AArch64 build (cross-compiled with Debian's gcc-aarch64-linux-gnu against the arm64
# multiarch libraries), its whole test suite and check-addonly/check-isa under qemu-aarch64:
# once on a CPU model with dotprod and i8mm, once on a Cortex-A53 (neither) so dispatch must
# fall back.  UBSan only: ASan under qemu-user made no progress (README, "ARM").  No timing.
# make check runs it on x86-64 hosts (CHECK_ARM=  skips it).
ARM_CC    ?= aarch64-linux-gnu-gcc
ARM_BUILD := $(BUILD)/aarch64
# libubsan linked in statically: Debian's arm64 copy of it ships with the cross toolchain
# (/usr/aarch64-linux-gnu), whose libc must not be mixed with the multiarch libraries.
ARM_SAN   := -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -static-libubsan
check-arm:
	@command -v $(ARM_CC) >/dev/null 2>&1 || { echo "check-arm: $(ARM_CC) not found: run scripts/install-deps.sh" >&2; exit 2; }
	@$(MAKE) --no-print-directory BUILD=$(ARM_BUILD) CC=$(ARM_CC) SAN='$(ARM_SAN)' CHECK_ARM= test-programs check-isa
	@scripts/check-arm.sh $(ARM_BUILD)

# Kernel modules (the built-in table as a .so, the example module): their own fragment.
include kernels/module/module.mk

# ---------------------------------------------------------------- jobs
run: $(BUILD)/bitbench
	@scripts/run.sh

bench-kernels: $(BUILD)/bitbench
	@scripts/bench-kernels.sh

clean:
	rm -rf $(BUILD)

include tests/slurm/slurm.mk
include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
