// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz hull-vmm's JSON configuration parser (vmm_config_parse, what
 * `hull-vmm --config`/`--config-fd` read) and, for what it accepts, the
 * writer: parse -> to_json -> parse must succeed again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config cfg = {.size = sizeof(cfg)};
	void *owned = NULL;
	char errbuf[256];
	if (vmm_config_parse((const char *)data, size, &cfg, &owned, errbuf, sizeof(errbuf)) < 0) {
		vmm_config_free_strings(owned);
		return 0;
	}
	char *json = NULL;
	if (vmm_config_to_json(&cfg, &json) == 0) {
		struct vmm_config again = {.size = sizeof(again)};
		void *owned2 = NULL;
		/* What we wrote ourselves must read back. */
		if (vmm_config_parse(json, strlen(json), &again, &owned2, errbuf, sizeof(errbuf)) < 0)
			abort();
		vmm_config_free_strings(owned2);
		free(json);
	}
	vmm_config_free_strings(owned);
	return 0;
}
