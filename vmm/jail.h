/* SPDX-License-Identifier: Apache-2.0 */
/* Dropping capabilities and the seccomp allow-list (jail.c). */
#ifndef HULL_VMM_JAIL_H
#define HULL_VMM_JAIL_H

#include <stdbool.h>

/* Drop all capabilities; with seccomp, install the allow-list on every
 * thread. Call after setup, before vmm_vm_start(). Returns 0 or -errno. */
int vmm_jail(bool seccomp);

#endif
