# SPDX-License-Identifier: Apache-2.0
# vmm/: hull-vmm, the KVM microVM monitor. Everything but main.c goes into
# libhull-vmm.a so unit tests and fuzz targets link the real device code.
vmm_MAIN := vmm/main.c
vmm_SRCS := $(filter-out $(vmm_MAIN),$(wildcard vmm/*.c))
$(eval $(call static_lib,hull-vmm,$(vmm_SRCS)))

HULL_VMM := $(BUILD)/bin/hull-vmm
ifneq ($(wildcard $(vmm_MAIN)),)
BINS += $(HULL_VMM)
endif
$(HULL_VMM): $(call objs,$(vmm_MAIN)) $(BUILD)/lib/libhull-vmm.a $(BUILD)/lib/libhull-lib.a
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/lib/libhull-vmm.a \
		$(BUILD)/lib/libhull-lib.a $(SYSLIBS)

# Static test inits for guests (tests/e2e/guest/*.c -> $(BUILD)/guest/*).
VMM_GUEST_INITS := $(patsubst tests/e2e/guest/%.c,$(BUILD)/guest/%,$(wildcard tests/e2e/guest/*.c))
$(BUILD)/guest/%: tests/e2e/guest/%.c
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<
.PHONY: vmm-guest-inits
vmm-guest-inits: $(VMM_GUEST_INITS)
