# SPDX-License-Identifier: Apache-2.0
# shim/: containerd-shim-hull-v2, containerd's shim v2 for hull.
# containerd's wire types (same packages and field numbers as containerd 1.6)
# and the google.protobuf types they use.
shim_PROTOS := shim/proto/mount.proto shim/proto/task.proto shim/proto/shim.proto \
	shim/proto/events.proto shim/proto/events_ttrpc.proto shim/proto/metrics.proto
shim_GPROTOS := google/protobuf/any.proto google/protobuf/empty.proto \
	google/protobuf/timestamp.proto
$(eval $(call protos,$(shim_PROTOS) $(shim_GPROTOS)))

# Everything but main.c is a library, so unit tests and fuzz targets reach it.
shim_SRCS := $(filter-out shim/main.c,$(wildcard shim/*.c)) \
	$(call proto_srcs,$(shim_PROTOS) $(shim_GPROTOS))
$(eval $(call static_lib,hull-shim,$(shim_SRCS)))

SHIM_BIN := $(BUILD)/bin/containerd-shim-hull-v2
# Only the libraries the shim uses, so a module mid-change elsewhere cannot break its link.
SHIM_LIBS := $(BUILD)/lib/libhull-shim.a $(BUILD)/lib/libhull-cli.a \
	$(BUILD)/lib/libhull-runtime.a $(BUILD)/lib/libhull-agentclient.a \
	$(BUILD)/lib/libhull-agentproto.a $(BUILD)/lib/libhull-vmm.a $(BUILD)/lib/libhull-oci.a \
	$(BUILD)/lib/libhull-lib.a
$(SHIM_BIN): $(call objs,shim/main.c) $(SHIM_LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(SHIM_LIBS) \
		-Wl,--end-group $(SYSLIBS)
BINS += $(SHIM_BIN)
.PHONY: shim
shim: $(SHIM_BIN)
