/* SPDX-License-Identifier: Apache-2.0 */
/* Small fd helpers that handle EINTR and short reads/writes. */
#ifndef HULL_LIB_FD_H
#define HULL_LIB_FD_H

#include <stddef.h>
#include <sys/types.h>

/* Read exactly len bytes. Returns len, 0 at EOF before any byte, -EPIPE on EOF
 * mid-way, or -errno. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Write all len bytes. Returns len or -errno. */
ssize_t fd_write_full(int fd, const void *buf, size_t len);
int fd_set_nonblock(int fd, int on);
int fd_set_cloexec(int fd, int on);
/* Read a whole (small) file into a NUL-terminated malloc'd buffer. */
int fd_read_file(const char *path, char **out, size_t *len, size_t max);

#endif
