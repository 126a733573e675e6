// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (virtio 1.2 section 5.2) on a host file or block device: read,
 * write, flush, get-id; read-only disks; one request queue. I/O is
 * synchronous preadv/pwritev on the event-loop thread - simple and enough for
 * a container rootfs; the request parsing (virtio_blk_parse) is pure and
 * fuzzed separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/virtio_blk.h>

#include "devices.h"
#include "lib/log.h"
#include "virtio_blk.h"

struct blk_dev {
	struct virtio_dev vdev;
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	char id[BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct blk_req req; /* scratch, used under vdev.lock */
};

/* iovecs for bytes [off, off+len) of iov[from..to). Returns count or -1. */
static int slice(const struct virtq_chain *c, unsigned from, unsigned to, uint64_t off,
		 uint64_t len, struct blk_req *req)
{
	req->n_iov = 0;
	for (unsigned i = from; i < to && len > 0; i++) {
		uint64_t l = c->iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		uint64_t n = l - off < len ? l - off : len;
		req->iov[req->n_iov].iov_base = (uint8_t *)c->iov[i].iov_base + off;
		req->iov[req->n_iov].iov_len = n;
		req->n_iov++;
		len -= n;
		off = 0;
	}
	return len == 0 ? (int)req->n_iov : -1;
}

/* Data range check without overflow: [sector*512, +len) within capacity. */
static bool in_disk(uint64_t sector, uint64_t len, uint64_t capacity)
{
	if (sector > capacity || len % BLK_SECTOR)
		return false;
	return len / BLK_SECTOR <= capacity - sector;
}

int virtio_blk_parse(const struct virtq_chain *c, uint64_t capacity, bool read_only,
		     struct blk_req *req)
{
	struct virtio_blk_outhdr hdr;
	memset(req, 0, offsetof(struct blk_req, iov));
	/* The status byte is the last byte of the last writable buffer. */
	if (c->n_in == 0)
		return -EPROTO;
	const struct iovec *last = &c->iov[c->n_out + c->n_in - 1];
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (virtq_chain_read(c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_BLK_S_IOERR;
	req->type = hdr.type;
	uint64_t data_in = c->in_len - 1; /* writable bytes before the status */
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		if (!in_disk(hdr.sector, data_in, capacity))
			return VIRTIO_BLK_S_IOERR;
		req->offset = hdr.sector * BLK_SECTOR;
		req->len = data_in;
		if (slice(c, c->n_out, c->n_out + c->n_in, 0, data_in, req) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT: {
		if (read_only)
			return VIRTIO_BLK_S_IOERR;
		uint64_t data_out = c->out_len - sizeof(hdr);
		if (!in_disk(hdr.sector, data_out, capacity))
			return VIRTIO_BLK_S_IOERR;
		req->offset = hdr.sector * BLK_SECTOR;
		req->len = data_out;
		if (slice(c, 0, c->n_out, sizeof(hdr), data_out, req) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		req->len = data_in < BLK_ID_BYTES ? data_in : BLK_ID_BYTES;
		if (slice(c, c->n_out, c->n_out + c->n_in, 0, req->len, req) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Full transfer or -errno; a short read past EOF of a file-backed disk
 * cannot happen (capacity comes from the size). */
static int do_io(struct blk_dev *b, struct blk_req *req, bool write)
{
	struct iovec *iov = req->iov;
	unsigned n = req->n_iov;
	uint64_t off = req->offset;
	while (n > 0) {
		ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off)
				  : preadv(b->fd, iov, (int)n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Execute one chain; returns the used length. */
static uint32_t handle(struct blk_dev *b, const struct virtq_chain *c)
{
	struct blk_req *req = &b->req;
	int st = virtio_blk_parse(c, b->capacity, b->read_only, req);
	if (st < 0)
		return 0; /* no status byte: caller fails the device */
	uint32_t written = 0;
	if (st == VIRTIO_BLK_S_OK) {
		int r = 0;
		switch (req->type) {
		case VIRTIO_BLK_T_IN:
			r = do_io(b, req, false);
			written = (uint32_t)req->len;
			break;
		case VIRTIO_BLK_T_OUT:
			r = do_io(b, req, true);
			break;
		case VIRTIO_BLK_T_FLUSH:
			r = fdatasync(b->fd) < 0 ? -errno : 0;
			break;
		case VIRTIO_BLK_T_GET_ID:
			for (unsigned i = 0, o = 0; i < req->n_iov; o += req->iov[i].iov_len, i++)
				memcpy(req->iov[i].iov_base, b->id + o, req->iov[i].iov_len);
			written = (uint32_t)req->len;
			break;
		}
		if (r < 0) {
			log_warn("virtio-blk: %s at offset %llu: %s",
				 req->type == VIRTIO_BLK_T_OUT ? "write" : "read/flush",
				 (unsigned long long)req->offset, strerror(-r));
			st = VIRTIO_BLK_S_IOERR;
			written = 0;
		}
	}
	*req->status = (uint8_t)st;
	return written + 1;
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk_dev *b = (struct blk_dev *)d;
	struct virtq *vq = &d->vqs[q];
	struct virtq_chain c;
	int r;
	bool pushed = false;
	while ((r = virtq_pop(vq, &c)) > 0) {
		uint32_t used = handle(b, &c);
		if (used == 0) {
			r = -EPROTO;
			break;
		}
		virtq_push(vq, &c, used);
		pushed = true;
	}
	if (pushed)
		virtq_notify(vq);
	if (r < 0)
		virtio_dev_fail(d, "request queue: malformed request (%s)", strerror(-r));
}

static void blk_free(struct virtio_dev *d)
{
	struct blk_dev *b = (struct blk_dev *)d;
	if (b->fd >= 0)
		close(b->fd);
	virtio_dev_exit(d);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
    .name = "blk",
    .notify = blk_notify,
    .free = blk_free,
};

static int disk_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

int virtio_blk_create(struct vmm_mem *mem, struct vmm_loop *loop,
		      const struct virtio_blk_opts *opts, struct virtio_dev **out)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = open(opts->path, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	uint64_t size = 0;
	int r = b->fd < 0 ? -errno : disk_size(b->fd, &size);
	if (r < 0) {
		log_error("disk %s: %s", opts->path,
			  r == -EINVAL ? "not a regular file or block device" : strerror(-r));
		goto fail;
	}
	r = virtio_dev_init(&b->vdev, &blk_ops, VIRTIO_ID_BLOCK, 1, 256, mem, loop);
	if (r < 0)
		goto fail;
	b->read_only = opts->read_only;
	b->capacity = size / BLK_SECTOR; /* a partial last sector is not exposed */
	const char *id = opts->serial;
	if (!id) {
		const char *slash = strrchr(opts->path, '/');
		id = slash ? slash + 1 : opts->path;
	}
	/* Not NUL-terminated when 20 bytes long, as the spec allows. */
	size_t idlen = strlen(id);
	memcpy(b->id, id, idlen < sizeof(b->id) ? idlen : sizeof(b->id));
	b->cfg.capacity = b->capacity;
	b->cfg.seg_max = BLK_SEG_MAX;
	b->vdev.host_features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_FLUSH) |
				(opts->read_only ? 1ull << VIRTIO_BLK_F_RO : 0);
	b->vdev.config = &b->cfg;
	b->vdev.config_len = sizeof(b->cfg);
	*out = &b->vdev;
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return r;
}
