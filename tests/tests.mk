# SPDX-License-Identifier: Apache-2.0
# Tests. Conventions:
#   tests/unit/<module>/test_<name>.c  one cmocka binary each; other .c files in
#                                      the same folder are helpers linked into each
#   tests/fuzz/fuzz_<name>.c           one libFuzzer target each (make fuzz);
#                                      seeds in tests/fuzz/corpus/<name>/; other
#                                      .c files there are helpers linked into each
#   tests/e2e/host/*.bats              end-to-end tests that need no booting guest
#   tests/e2e/kvm/*.bats               end-to-end tests that boot guests: run natively
#                                      where /dev/kvm can boot Linux, else in hack/nested-kvm
unit_srcs := $(sort $(wildcard tests/unit/*/test_*.c))
unit_bin = $(patsubst %.c,$(BUILD)/%,$(1))
unit_helpers = $(filter-out $(dir $(1))test_%.c,$(wildcard $(dir $(1))*.c))

define unit_test
$(call unit_bin,$(1)): $(call objs,$(1) $(call unit_helpers,$(1))) $(LIBS)
	$$(call say,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LINK_LIBS) -lcmocka
UNIT_TESTS += $(call unit_bin,$(1))
endef
$(foreach t,$(unit_srcs),$(eval $(call unit_test,$(t))))

fuzz_srcs := $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz_bin = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(1))
fuzz_helpers := $(sort $(filter-out tests/fuzz/fuzz_%.c,$(wildcard tests/fuzz/*.c)))
define fuzz_target
$(call fuzz_bin,$(1)): $(call objs,$(1) $(fuzz_helpers)) $(LIBS)
	$$(call say,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$(filter %.o,$$^) $$(LINK_LIBS)
FUZZ_TARGETS += $(call fuzz_bin,$(1))
endef
$(foreach t,$(fuzz_srcs),$(eval $(call fuzz_target,$(t))))

.PHONY: unit-tests fuzz-targets test-tools test fuzz bench
unit-tests: $(UNIT_TESTS)
test-tools: $(TEST_TOOLS)
fuzz-targets: $(FUZZ_TARGETS)

# The whole suite; hack/run-tests.sh builds what it needs and prints the
# closing "N passed, N failed" line.
test: | $(DEPS_STAMP)
	./hack/run-tests.sh

FUZZ_TIME ?= 10
fuzz: | $(DEPS_STAMP)
	$(MAKE) BUILD=$(BUILD)/fuzz FUZZ=1 fuzz-targets
	./hack/run-fuzz.sh $(BUILD)/fuzz/fuzz $(FUZZ_TIME)

bench: all kernel initramfs | $(DEPS_STAMP)
	./tests/bench/run.sh

# Static guest programs for boot tests (never sanitized: they run as a guest's PID 1).
GUEST_MARKER_INIT := $(BUILD)/tests/guest/marker-init
MARKER_INITRAMFS  := $(BUILD)/tests/guest/marker.cpio.gz
$(GUEST_MARKER_INIT): tests/e2e/guest/marker-init.c | $(DEPS_STAMP)
	$(call say,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)gcc -static -Os -s -Wall -Wextra -Werror -o $@ $<
$(MARKER_INITRAMFS): $(GUEST_MARKER_INIT) hack/mkinitramfs.sh
	$(call say,CPIO,$@)
	$(Q)./hack/mkinitramfs.sh $@ $<
.PHONY: guest-test-images
guest-test-images: $(MARKER_INITRAMFS)
