// SPDX-License-Identifier: Apache-2.0
/* The hybrid-vsock reply parser ("OK <host_port>") on arbitrary bytes; an
 * accepted line must really be "OK " and digits whose value fits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/vsock_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t port = 0;
	if (vsock_hybrid_reply_parse((const char *)data, size, &port) != 0)
		return 0;
	if (size < 4 || memcmp(data, "OK ", 3) != 0)
		abort();
	uint64_t v = 0;
	for (size_t i = 3; i < size; i++) {
		if (data[i] < '0' || data[i] > '9')
			abort();
		v = v * 10 + (uint64_t)(data[i] - '0');
	}
	if (v != port)
		abort();
	return 0;
}
