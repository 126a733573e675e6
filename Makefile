# SPDX-License-Identifier: Apache-2.0
# hull: one non-recursive Makefile. Each module describes itself in its own
# *.mk (lib/lib.mk, vmm/vmm.mk, ...), which appends to the lists below.
#
#   make            all binaries            make test     everything, ends "N passed, N failed"
#   make deps       Debian packages         make demo     a container in a microVM
#   make kernel     guest kernel            make bench    benchmarks against peers
#   make initramfs  guest initramfs         make fuzz     short run of every fuzz target
#   make install    PREFIX/DESTDIR          make format   clang-format the tree
#
# Variables: BUILD (build dir, default build), SANITIZE=1 (ASan+UBSan),
# FUZZ=1 (libFuzzer instrumentation, clang), V=1 (show commands), CC.
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
FUZZ     ?=
V        ?= 0

ifeq ($(origin CC),default)
CC := gcc
endif

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-8s %s\n' $(1) $(2);
endif

CPPFLAGS := -D_GNU_SOURCE -I/usr/include/libnl3 -Ilib/include -Ioci/include -Ivmm/include -Iruntime/include \
	-I$(BUILD)/gen
CFLAGS   := -std=gnu11 -O2 -g -fno-strict-aliasing -Wall -Wextra -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter -Werror -MMD -MP
LDFLAGS  :=
SYSLIBS  := -lseccomp -lcap -lyajl -lprotobuf-c -lnl-route-3 -lnl-3 -luring -lpthread

ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
CPPFLAGS += -DHULL_FUZZING
endif

# Lists the module files append to.
BINS       :=   # host binaries, built by `make`
LIBS       :=   # static libraries, linked (as a group) into tests
UNIT_TESTS :=   # cmocka test binaries
FUZZ_TARGETS := # libFuzzer binaries
GEN_HEADERS := # generated headers every compile waits for
TEST_TOOLS :=  # helper programs the e2e tests run

objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

DEPS_STAMP := $(BUILD)/.deps-stamp
$(DEPS_STAMP): hack/install-deps.sh
	$(call say,DEPS,install-deps.sh)
	$(Q)./hack/install-deps.sh
	$(Q)mkdir -p $(@D) && touch $@

.PHONY: deps
deps:
	./hack/install-deps.sh
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)

# A static library from a list of objects: $(call static_lib,NAME,SRCS)
define static_lib
$(BUILD)/lib/lib$(1).a: $(call objs,$(2))
	$$(call say,AR,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
LIBS += $(BUILD)/lib/lib$(1).a
endef

LINK_LIBS = -Wl,--start-group $(LIBS) -Wl,--end-group $(SYSLIBS)

# protobuf-c: in-tree foo/bar.proto -> $(BUILD)/gen/foo/bar.pb-c.{c,h}, included as
# "foo/bar.pb-c.h"; google/protobuf/*.proto come from libprotobuf-dev.
# A module lists its .proto files with: $(eval $(call protos,FILES)), which adds
# the generated headers to GEN_HEADERS and gives $(call proto_srcs,FILES).
PROTOC = protoc-c --proto_path=. --proto_path=/usr/include --c_out=$(BUILD)/gen
proto_srcs = $(patsubst %.proto,$(BUILD)/gen/%.pb-c.c,$(1))
proto_hdrs = $(patsubst %.proto,$(BUILD)/gen/%.pb-c.h,$(1))
define protos
GEN_HEADERS += $(call proto_hdrs,$(1))
endef
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto | $(DEPS_STAMP)
	$(call say,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/gen
	$(Q)$(PROTOC) $<
$(BUILD)/gen/google/protobuf/%.pb-c.c $(BUILD)/gen/google/protobuf/%.pb-c.h: /usr/include/google/protobuf/%.proto | $(DEPS_STAMP)
	$(call say,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/gen
	$(Q)$(PROTOC) $<
# Generated sources compile like any other; -Wno-* because protoc-c output
# is not ours to fix.
$(BUILD)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c | $(DEPS_STAMP)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -Wno-unused-parameter -c -o $@ $<
.SECONDARY:

include lib/lib.mk
-include oci/oci.mk
-include vmm/vmm.mk
-include guest-agent/agent.mk
-include runtime/runtime.mk
-include shim/shim.mk
include kernel-config/kernel.mk
include tests/tests.mk
include hack/hack.mk

# Objects wait for generated headers (protobuf) since any of them may include one.
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP) $(GEN_HEADERS)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

.PHONY: all
all: $(BINS)

.PHONY: format
format:
	clang-format -i $$(git ls-files '*.c' '*.h')

.PHONY: clean
clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# `make print-VAR` prints a variable (used by hack/run-tests.sh).
print-%:
	@echo '$($*)'
