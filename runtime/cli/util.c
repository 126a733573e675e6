// SPDX-License-Identifier: Apache-2.0
/* Small pieces several commands share. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>

#include "cli.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "oci/spec.h"
#include "runtime/state.h"

void rt_cli_oci_state(const struct rt_container *c, struct oci_state *out, char *owner,
		      size_t owner_len)
{
	const struct rt_state *st = &c->state;
	enum rt_status status = rt_state_status(st);
	/* runc reports the owner of the state directory, "#UID" without a name */
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(c->owner, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(owner, owner_len, "%s", pw.pw_name);
	else
		snprintf(owner, owner_len, "#%u", (unsigned)c->owner);
	*out = (struct oci_state){
	    .id = st->id,
	    .status = rt_status_name(status),
	    /* a stopped container has no host process, whatever pid it had */
	    .pid = status == RT_STATUS_STOPPED ? 0 : rt_state_pid(st),
	    .bundle = st->bundle,
	    .rootfs = st->rootfs,
	    .created = st->created,
	    .owner = owner,
	    .annotations = &st->annotations,
	};
}

int rt_cli_read_json(const char *path, char **buf, size_t *len, struct err **err)
{
	int r = fd_read_file(path, buf, len, OCI_MAX_SIZE);
	if (r < 0)
		return err_set(err, -r, "read %s", path);
	return 0;
}
