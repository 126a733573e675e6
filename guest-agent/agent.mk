# SPDX-License-Identifier: Apache-2.0
# guest-agent/: hull-agent, PID 1 of the guest initramfs (and, with
# --listen unix:PATH, the same server on the host for tests).
AGENT_PROTO := lib/proto/agent.proto
$(eval $(call protos,$(AGENT_PROTO)))
$(eval $(call static_lib,hull-agentproto,$(call proto_srcs,$(AGENT_PROTO))))

agent_SRCS := $(filter-out guest-agent/main.c,$(wildcard guest-agent/*.c))
$(eval $(call static_lib,hull-agent,$(agent_SRCS)))

# The agent links only what it needs. Statically (Debian's .a archives) so it
# can be the initramfs's only file; sanitizer and fuzz builds cannot link
# statically, so those builds link it dynamically.
AGENT_STATIC := $(BUILD)/bin/hull-agent
AGENT_LIBS := $(BUILD)/lib/libhull-agent.a $(BUILD)/lib/libhull-agentproto.a \
	$(BUILD)/lib/libhull-oci.a $(BUILD)/lib/libhull-lib.a
ifeq ($(SANITIZE)$(FUZZ),)
AGENT_LDFLAGS := -static -s
AGENT_SYSLIBS := -lseccomp -lcap -l:libyajl_s.a -lprotobuf-c -lnl-route-3 -lnl-3 -lpthread
else
AGENT_LDFLAGS :=
AGENT_SYSLIBS := -lseccomp -lcap -lyajl -lprotobuf-c -lnl-route-3 -lnl-3 -lpthread
endif

$(AGENT_STATIC): $(call objs,guest-agent/main.c) $(AGENT_LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $(AGENT_LDFLAGS) -o $@ $(filter %.o,$^) \
		-Wl,--start-group $(AGENT_LIBS) -Wl,--end-group $(AGENT_SYSLIBS)
BINS += $(AGENT_STATIC)

# agentctl: a small CLI over runtime's agent client, for tests.
AGENTCTL := $(BUILD)/tests/tools/agentctl
AGENTCTL_LIBS := $(BUILD)/lib/libhull-agentclient.a $(BUILD)/lib/libhull-agentproto.a \
	$(BUILD)/lib/libhull-oci.a $(BUILD)/lib/libhull-lib.a
$(AGENTCTL): $(call objs,tests/tools/agentctl.c) $(AGENTCTL_LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(AGENTCTL_LIBS) \
		-Wl,--end-group -lyajl -lprotobuf-c -lpthread
.PHONY: agent-tools
agent-tools: $(AGENT_STATIC) $(AGENTCTL)
all: $(AGENTCTL)
