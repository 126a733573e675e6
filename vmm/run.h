/* SPDX-License-Identifier: Apache-2.0 */
/* Running one microVM from a config (run.c) and the CLI around it (main.c). */
#ifndef HULL_VMM_RUN_H
#define HULL_VMM_RUN_H

#include "vmm/vmm.h"

/* Build the VM, run it to the end, tear it down. Returns the process exit
 * status (enum vmm_exit_status, or cfg->reboot_exit for a reboot). */
int vmm_run(const struct vmm_config *cfg);

#endif
