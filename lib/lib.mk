# SPDX-License-Identifier: Apache-2.0
# lib/: shared small pieces (logging, errors, fd helpers, ttrpc).
lib_PROTOS := lib/proto/ttrpc.proto
$(eval $(call protos,$(lib_PROTOS)))
lib_SRCS := $(wildcard lib/*.c) $(call proto_srcs,$(lib_PROTOS))
$(eval $(call static_lib,hull-lib,$(lib_SRCS)))

# Test programs for the ttrpc layer (tests/e2e/host/ttrpc-*.bats,
# tests/bench/bench-ttrpc.sh): `make ttrpc-tools`. They link lib/ alone.
ttrpc_tools_PROTOS := tests/tools/ttrpc_containerd.proto
$(eval $(call protos,$(ttrpc_tools_PROTOS)))
TTRPC_TOOLS := $(BUILD)/tests/tools/ttrpc_forward $(BUILD)/tests/tools/ttrpc_serve \
	$(BUILD)/tests/tools/ttrpc_bench
$(BUILD)/tests/tools/ttrpc_forward: $(call objs,tests/tools/ttrpc_forward.c \
	$(call proto_srcs,$(ttrpc_tools_PROTOS))) $(BUILD)/lib/libhull-lib.a
$(BUILD)/tests/tools/ttrpc_serve: $(call objs,tests/tools/ttrpc_serve.c \
	$(call proto_srcs,$(ttrpc_tools_PROTOS))) $(BUILD)/lib/libhull-lib.a
$(BUILD)/tests/tools/ttrpc_bench: $(call objs,tests/tools/ttrpc_bench.c) $(BUILD)/lib/libhull-lib.a
$(TTRPC_TOOLS):
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/lib/libhull-lib.a $(SYSLIBS)
TEST_TOOLS += $(TTRPC_TOOLS)
.PHONY: ttrpc-tools
ttrpc-tools: $(TTRPC_TOOLS)
