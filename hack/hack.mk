# SPDX-License-Identifier: Apache-2.0
# Developer targets: initramfs, demo, install.
INITRAMFS := $(BUILD)/initramfs.cpio.gz

.PHONY: initramfs
initramfs: $(INITRAMFS)

# /init is the static hull-agent (guest-agent/agent.mk sets AGENT_STATIC).
$(INITRAMFS): $(AGENT_STATIC) hack/mkinitramfs.sh | $(DEPS_STAMP)
	$(call say,CPIO,$@)
	$(Q)./hack/mkinitramfs.sh $@ $(AGENT_STATIC)

.PHONY: demo
demo: all kernel initramfs | $(DEPS_STAMP)
	./hack/demo.sh

.PHONY: install
install: all kernel initramfs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hull $(DESTDIR)/etc/hull
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(KERNEL) $(VMLINUX) $(INITRAMFS) $(DESTDIR)$(PREFIX)/share/hull/
	./hack/default-config.sh $(PREFIX) > $(DESTDIR)/etc/hull/config.json.new
	@if [ -e $(DESTDIR)/etc/hull/config.json ]; then \
		echo "keeping existing $(DESTDIR)/etc/hull/config.json (new one: config.json.new)"; \
	else mv $(DESTDIR)/etc/hull/config.json.new $(DESTDIR)/etc/hull/config.json; fi
