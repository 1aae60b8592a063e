# tests/fuzz/fuzz.mk - libFuzzer targets for every reader of user files (issue 14), included
# by the Makefile.
#   make fuzz FUZZ_SECONDS=N   build every target and run each for N seconds (default 20);
#                              prints the executions per target; fails on any finding
#   make fuzz-ci               each target for FUZZ_CI_SECONDS (default 20): part of `make check`
# Targets: tests/fuzz/fuzz_*.c, built with clang -fsanitize=fuzzer,address,undefined over
# the library compiled with coverage (-fsanitize=fuzzer-no-link).  Seeds: tests/fuzz/seeds.sh
# from the fixtures' real rows, the catalogue and tests/fuzz/seeds/.  What a run finds lands
# in $(BUILD)/fuzz/crash-<target>-*; each finding becomes a regression test in tests/.

FUZZ_CC          ?= clang
FUZZ_SECONDS     ?= 20
FUZZ_CI_SECONDS  ?= 20
FUZZ_DIR         := $(BUILD)/fuzz
FUZZ_SAN         := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# no -Werror: the project's warnings are gcc's (make all); clang's extra ones are not findings
FUZZ_CFLAGS      := $(CSTD) -Wall -Wextra -O1 -g $(DEP_CFLAGS) $(FUZZ_SAN) -DBB_FUZZ_SRCDIR='"$(CURDIR)"'
FUZZ_SRC         := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN         := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_SRC     := $(LIB_SRC) $(filter-out bench/bitbench.c,$(BENCH_SRC))
FUZZ_LIB_OBJ     := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz fuzz-ci fuzz-build
fuzz-build: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(call file_flags,$<) -MMD -MP -c $< -o $@

# An archive: a target that includes a command's .c file (fuzz_cli_gemm) is not given the
# command's object twice.
$(FUZZ_DIR)/libbitbench-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_DIR)/libbitbench-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ikernels $< $(FUZZ_DIR)/libbitbench-fuzz.a $(DEP_LIBS) -o $@

# $(1): seconds per target.  Each target: its own work corpus (new inputs) over the seeds,
# one process (what -jobs=1 would do, without the extra log indirection), outputs of the
# code under test closed (-close_fd_mask=3; libFuzzer keeps its own report), a hang of 60 s
# or 2 GiB of memory is a finding (60, not 10: on this shared 2-core machine a 19 ms input
# once stalled 12 s while other jobs ran).  The last line per target: executions and seconds.
# Logs per duration (log-<N>s/), so a long run and make check's short one can overlap.
define fuzz_run
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found: run scripts/install-deps.sh" >&2; exit 2; }
	@tests/fuzz/seeds.sh $(FUZZ_DIR)/seeds
	@mkdir -p $(FUZZ_DIR)/log-$(1)s; fail=0; for t in $(notdir $(FUZZ_BIN)); do \
	  case $$t in fuzz_rows_*) c=rows; len=16384;; fuzz_catalogue) c=catalogue; len=8192;; \
	    *) c=$${t#fuzz_}; len=1024;; esac; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  $(FUZZ_DIR)/$$t $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$c -max_total_time=$(1) -max_len=$$len \
	    -timeout=60 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$t- >$(FUZZ_DIR)/log-$(1)s/$$t.log 2>&1 || { fail=1; echo "fuzz: $$t FOUND SOMETHING: see $(FUZZ_DIR)/log-$(1)s/$$t.log" >&2; tail -40 $(FUZZ_DIR)/log-$(1)s/$$t.log >&2; }; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/log-$(1)s/$$t.log); \
	  secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $(FUZZ_DIR)/log-$(1)s/$$t.log); \
	  echo "fuzz: $$t: $${runs:-?} executions in $${secs:-?} s, corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) new inputs"; \
	done; exit $$fail
endef

fuzz: $(FUZZ_BIN)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-ci: $(FUZZ_BIN)
	$(call fuzz_run,$(FUZZ_CI_SECONDS))

check: fuzz-ci

