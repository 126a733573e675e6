/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup helpers (GCC/clang cleanup attribute). */
#ifndef HULL_LIB_CLEANUP_H
#define HULL_LIB_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* close() in an error path must not clobber errno */
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(fn)     __attribute__((cleanup(fn)))
#define _cleanup_free_    _cleanup_(cleanup_freep)
#define _cleanup_close_   _cleanup_(cleanup_closep)
#define _cleanup_fclose_  _cleanup_(cleanup_fclosep)

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                                                                               \
	({                                                                                        \
		__typeof__(p) _tp = (p);                                                          \
		(p) = NULL;                                                                       \
		_tp;                                                                              \
	})
#define TAKE_FD(fd)                                                                               \
	({                                                                                        \
		int _tf = (fd);                                                                   \
		(fd) = -1;                                                                        \
		_tf;                                                                              \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
