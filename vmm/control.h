/* SPDX-License-Identifier: Apache-2.0 */
/* The control socket (JSON lines: pause, resume, stop, status, memory). */
#ifndef HULL_VMM_CONTROL_H
#define HULL_VMM_CONTROL_H

#include "vm.h"

struct vmm_control;

/* Listen on path (replacing a stale socket) through vm's event loop;
 * balloon (may be NULL) serves the "balloon" command and balloon stats. */
int vmm_control_new(struct vmm_vm *vm, const char *path, struct virtio_dev *balloon,
		    struct vmm_control **out);
/* Close clients and the socket, unlink path. NULL is fine. */
void vmm_control_free(struct vmm_control *ctl);

#endif
