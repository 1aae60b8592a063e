# bitbench - build, test and run.
#   make            build/bitbench and build/libbitbench.a
#   make check      every cmocka test (sanitized build) and the add-only disassembly check
#   make run        the main job (see README.md)
#   make clean
#
# Per-file ISA flags: a kernel file kernels/x86/<format>_<isa>[_<method>].c gets the flags
# of <isa> and nothing else in the binary does, so one binary holds every variant and
# picks at run time.  The scalar references (kernels/*.c, kernels/ref/*.c) are built with
# auto-vectorization off: a reference that the compiler vectorizes is no baseline.

CC      ?= cc
BUILD   := build
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror
OPT     ?= -O2 -g
NOVEC   := -fno-tree-vectorize -fno-tree-slp-vectorize
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

AVX2_FLAGS       := -mavx2 -mfma -mf16c
AVX512_FLAGS     := $(AVX2_FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vbmi
AVX512FP16_FLAGS := $(AVX512_FLAGS) -mavx512fp16
AVXVNNI_FLAGS    := $(AVX2_FLAGS) -mavxvnni

# ---------------------------------------------------------------- dependencies
# jansson is required (results are JSON); the others serve one feature each, which
# reports "unavailable" when its library is missing - never a build failure.
pkg_has = $(shell pkg-config --exists $(1) 2>/dev/null && echo 1)
HAVE_JANSSON := $(call pkg_has,jansson)
HAVE_PAPI    := $(call pkg_has,papi)
HAVE_HWLOC   := $(call pkg_has,hwloc)
HAVE_CMOCKA  := $(call pkg_has,cmocka)
HAVE_LIKWID  := $(shell printf '\#include <likwid-marker.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)

ifneq ($(HAVE_JANSSON),1)
$(error jansson not found (pkg-config jansson): run scripts/install-deps.sh)
endif
DEP_CFLAGS := $(shell pkg-config --cflags jansson)
DEP_LIBS   := $(shell pkg-config --libs jansson) -lpthread -lm
ifeq ($(HAVE_PAPI),1)
DEP_CFLAGS += -DBB_HAVE_PAPI $(shell pkg-config --cflags papi)
DEP_LIBS   += $(shell pkg-config --libs papi)
else
$(info bitbench: PAPI not found (pkg-config papi): hardware counters will report unavailable)
endif
ifeq ($(HAVE_HWLOC),1)
DEP_CFLAGS += -DBB_HAVE_HWLOC $(shell pkg-config --cflags hwloc)
DEP_LIBS   += $(shell pkg-config --libs hwloc)
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
# harness/machine.c records the flags in every result row (build.cflags)
BUILD_INFO  := -DBB_CFLAGS='"$(CFLAGS_BASE)"'

isa_flags = $(strip \
  $(if $(findstring _avx512fp16,$(1)),$(AVX512FP16_FLAGS), \
  $(if $(findstring _avx512,$(1)),$(AVX512_FLAGS), \
  $(if $(findstring _avxvnni,$(1)),$(AVXVNNI_FLAGS), \
  $(if $(findstring _avx2,$(1)),$(AVX2_FLAGS))))))
ref_flags = $(if $(filter kernels/%,$(1)),$(if $(filter kernels/x86/%,$(1)),,$(NOVEC)))
file_flags = $(call isa_flags,$(1)) $(call ref_flags,$(1))

# ---------------------------------------------------------------- sources
LIB_SRC   := $(sort $(wildcard kernels/*.c kernels/ref/*.c kernels/x86/*.c harness/*.c))
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

.PHONY: all check run clean bench-kernels check-addonly
all: $(BUILD)/bitbench

$(BUILD)/obj/harness/machine.o $(BUILD)/asan/harness/machine.o: CFLAGS_BASE += $(BUILD_INFO)

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
TEST_LIBS := $(shell pkg-config --libs cmocka)
$(BUILD)/tests/test_opcount: tests/test_opcount.c $(COUNT_OBJ) $(TESTUTIL_OBJ) $(BUILD)/asan/libbitbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -DBB_COUNT_OPS -Ikernels $^ $(TEST_LIBS) $(DEP_LIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(TESTUTIL_OBJ) $(BUILD)/asan/libbitbench.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SAN) -Ikernels $^ $(TEST_LIBS) $(DEP_LIBS) -o $@

# Every test binary runs even when one fails; the target fails if any did.
check: $(TEST_BIN) $(BUILD)/asan/bitbench $(BUILD)/bitbench check-addonly
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

# Multiply-free kernels must stay multiply-free: disassemble their hot loops.
check-addonly: $(BUILD)/bitbench
	@scripts/check-addonly.sh $(BUILD)/bitbench

# Kernel modules (the built-in table as a .so, the example module): their own fragment.
include kernels/module/module.mk

# ---------------------------------------------------------------- jobs
run: $(BUILD)/bitbench
	@scripts/run.sh

bench-kernels: $(BUILD)/bitbench
	@scripts/bench-kernels.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
