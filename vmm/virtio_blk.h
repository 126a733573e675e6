/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk request parsing, separate from I/O so it can be fuzzed. */
#ifndef HULL_VMM_VIRTIO_BLK_H
#define HULL_VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio.h"

#define BLK_SECTOR   512u
#define BLK_SEG_MAX  126u
#define BLK_ID_BYTES 20u

/* One parsed request: what to do and where the data lives in guest memory. */
struct blk_req {
	uint32_t type;   /* VIRTIO_BLK_T_* */
	uint64_t offset; /* byte offset on the disk (IN/OUT) */
	uint64_t len;    /* data bytes (IN/OUT/GET_ID) */
	uint8_t *status; /* the status byte (last writable byte) */
	struct iovec iov[VIRTQ_MAX_CHAIN];
	unsigned n_iov;
};

/*
 * Check a chain against the request layout of virtio 1.2 section 5.2.6
 * (16-byte header readable, data, one writable status byte) and the disk
 * (capacity in sectors, read-only). Returns VIRTIO_BLK_S_OK (0) with *req
 * ready for I/O, or VIRTIO_BLK_S_IOERR / _UNSUPP with req->status set when
 * there is a status byte to write it to; -EPROTO when the chain cannot even
 * carry a status (the device then fails: nothing can be reported).
 */
int virtio_blk_parse(const struct virtq_chain *c, uint64_t capacity, bool read_only,
		     struct blk_req *req);

#endif
