# SPDX-License-Identifier: Apache-2.0
# The guest kernel: Debian's linux-source-6.1 + kernel-config/*.config,
# cached in $(HULL_CACHE) (default ~/.cache/hull) by hack/build-kernel.sh.
KERNEL_DIR  := $(BUILD)/kernel
KERNEL      := $(KERNEL_DIR)/bzImage
VMLINUX     := $(KERNEL_DIR)/vmlinux

# Phony on purpose: build-kernel.sh answers from its cache in about a second,
# and it alone knows whether the cached kernel matches the fragments.
.PHONY: kernel
kernel: | $(DEPS_STAMP)
	$(call say,KERNEL,$(KERNEL_DIR))
	$(Q)./hack/build-kernel.sh $(KERNEL_DIR)

$(KERNEL) $(VMLINUX): $(wildcard kernel-config/*.config) hack/build-kernel.sh | $(DEPS_STAMP)
	$(call say,KERNEL,$(KERNEL_DIR))
	$(Q)./hack/build-kernel.sh $(KERNEL_DIR)
