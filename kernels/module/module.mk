# kernels/module/module.mk - kernel modules (kernels/module.h), included by the Makefile:
#   build/module/bitbench-kernels.so   the built-in kernel table as a module
#   build/examples/fp16-example.so     the example module (README "Writing a kernel module")
#   build/tests/modules/*.so           modules that the loader must refuse or whose kernel
#                                      must fail its check (tests/test_module.c)
# Module code is built position-independent, with hidden visibility: only bitbench_module
# is exported, so two modules' copies of the same kernels never bind to each other.

PIC_FLAGS      := -fPIC -fvisibility=hidden
MODULE_SO      := $(BUILD)/module/bitbench-kernels.so
EXAMPLE_SO     := $(BUILD)/examples/fp16-example.so
TEST_MODULE_VARIANTS := wrong abi2 nosym clash
TEST_MODULE_SO := $(TEST_MODULE_VARIANTS:%=$(BUILD)/tests/modules/%.so)
MODULE_KERNEL_OBJ := $(patsubst %.c,$(BUILD)/pic/%.o,$(filter kernels/%,$(LIB_SRC)))
DEP_LIBS += -ldl

.PHONY: modules
modules: $(MODULE_SO) $(EXAMPLE_SO) $(TEST_MODULE_SO)
all: $(EXAMPLE_SO)
check: modules
$(BUILD)/tests/test_module: | modules
$(BUILD)/tests/test_module: CFLAGS_BASE += -DBB_TEST_MODULE_DIR='"$(abspath $(BUILD))"'

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PIC_FLAGS) $(call file_flags,$<) -MMD -MP -c $< -o $@

$(MODULE_SO): $(BUILD)/pic/kernels/module/builtin.o $(MODULE_KERNEL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -shared -Wl,-z,defs $^ -lm -o $@

$(EXAMPLE_SO): $(BUILD)/pic/kernels/module/example_fp16.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -shared -Wl,-z,defs $^ -lm -o $@

$(BUILD)/tests/modules/%.so: tests/module/test_modules.c kernels/module.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PIC_FLAGS) -shared -Wl,-z,defs -DVARIANT_$(subst -,_,$*) $< -lm -o $@
