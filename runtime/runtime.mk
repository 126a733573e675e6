# SPDX-License-Identifier: Apache-2.0
# runtime/: the hull CLI and the host-side sandbox library.
# The agent client (runtime/agent_client.c): talks to hull-agent over ttrpc.
rt_agent_SRCS := runtime/agent_client.c
$(eval $(call static_lib,hull-agentclient,$(rt_agent_SRCS)))

# The runtime library (C1): host config, the container state store under
# --root, host process tracking. Used by the hull CLI and the shim.
rt_SRCS := runtime/json.c runtime/config.c runtime/state_json.c runtime/proc.c runtime/store.c \
	runtime/teardown.c runtime/sandbox.c runtime/monitor.c runtime/monitor_relay.c \
	runtime/shared_dir.c runtime/pod.c runtime/net.c
$(eval $(call static_lib,hull-runtime,$(rt_SRCS)))

# The hull CLI: the flag parser and the ops commands' value parsers are a library
# (unit-tested); one file per command.
rt_cli_SRCS := runtime/cli/args.c runtime/cli/ops_parse.c
$(eval $(call static_lib,hull-cli,$(rt_cli_SRCS)))
hull_SRCS := runtime/cli/main.c runtime/cli/help.c runtime/cli/util.c \
	$(wildcard runtime/cli/cmd_*.c runtime/cli/agent_op.c)
# Only the libraries hull uses, so a module mid-change elsewhere cannot break its link.
hull_LIBS := $(BUILD)/lib/libhull-cli.a $(BUILD)/lib/libhull-runtime.a \
	$(BUILD)/lib/libhull-agentclient.a $(BUILD)/lib/libhull-agentproto.a \
	$(BUILD)/lib/libhull-vmm.a $(BUILD)/lib/libhull-oci.a $(BUILD)/lib/libhull-lib.a
$(BUILD)/bin/hull: $(call objs,$(hull_SRCS)) $(hull_LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(hull_LIBS) \
		-Wl,--end-group $(SYSLIBS)
BINS += $(BUILD)/bin/hull
