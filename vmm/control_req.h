/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One control-socket request line parsed into a command (vmm/control.c), kept
 * apart from the socket and the VM so the fuzz target can call it alone.
 */
#ifndef HULL_VMM_CONTROL_REQ_H
#define HULL_VMM_CONTROL_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_CONTROL_LINE_MAX 4096 /* bytes per request line, newline included */

enum vmm_control_cmd {
	VMM_CONTROL_STATUS,
	VMM_CONTROL_PAUSE,
	VMM_CONTROL_RESUME,
	VMM_CONTROL_STOP,
	VMM_CONTROL_MEMORY,
	VMM_CONTROL_BALLOON,
};

struct vmm_control_req {
	enum vmm_control_cmd cmd;
	/* "balloon": "target_mib" when it is a non-negative integer; the
	 * upper bound (guest memory) is the VM's to check. */
	bool has_target;
	uint64_t target_mib;
};

/*
 * Parse one request (len bytes, without the newline; need not be
 * NUL-terminated) into *req.
 * Returns 0, or -EINVAL (-EFBIG, -E2BIG, -ENOMEM) with a one-line reason of
 * printable ASCII in errbuf, fit to send back as the reply's "error".
 */
int vmm_control_req_parse(const char *line, size_t len, struct vmm_control_req *req, char *errbuf,
			  size_t errlen);

/* The reply line for a refused request: {"ok": false, "error": "<why>"} with
 * why escaped (and cut to fit), NUL-terminated, without the newline. */
void vmm_control_error_format(char *out, size_t size, const char *why);

#endif
