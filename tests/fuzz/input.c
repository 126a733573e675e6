// SPDX-License-Identifier: Apache-2.0
/* The fuzz input read as a script; see input.h. */
#include "input.h"

int input_byte(struct input *in)
{
	if (!in->left)
		return -1;
	in->left--;
	return *in->p++;
}

size_t input_take(struct input *in, size_t n, const uint8_t **p)
{
	if (n > in->left)
		n = in->left;
	*p = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

bool input_vsock_hdr(struct input *in, int ctl, uint64_t guest_cid, struct vsock_hdr *h)
{
	if (in->left < VSOCK_HDR_SIZE)
		return false;
	vsock_hdr_parse(in->p, VSOCK_HDR_SIZE, h);
	in->p += VSOCK_HDR_SIZE;
	in->left -= VSOCK_HDR_SIZE;
	if (ctl & 1)
		h->src_cid = guest_cid;
	if (ctl & 2)
		h->dst_cid = VSOCK_HOST_CID;
	if (ctl & 4)
		h->type = VSOCK_TYPE_STREAM;
	if (ctl & 8)
		h->op = (uint16_t)(h->op % 8);
	return true;
}
