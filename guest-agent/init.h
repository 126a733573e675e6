/* SPDX-License-Identifier: Apache-2.0 */
/* PID 1 setup of the guest (API filesystems, leaving the initramfs). */
#ifndef HULL_AGENT_INIT_H
#define HULL_AGENT_INIT_H

#include "lib/err.h"

/* Mount /proc /sys /dev /dev/pts /dev/shm /run /sys/fs/cgroup, leave the
 * initramfs for a tmpfs root, set the hostname, bring lo up. */
int agent_init_pid1(struct err **err);
/* switch_root-style move onto a fresh tmpfs (see init.c). */
int agent_init_reroot(struct err **err);

#endif
