// SPDX-License-Identifier: Apache-2.0
/* Small pieces several commands share. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>

#include <termios.h>
#include <unistd.h>

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

int rt_cli_check_tty(bool terminal, bool detach, const char *console_socket, struct err **err)
{
	if (terminal && detach && !console_socket)
		return err_set(
		    err, 0,
		    "cannot allocate tty if hull will detach without setting console socket");
	if (!terminal && console_socket)
		return err_set(err, 0,
			       "cannot use console socket if hull will not detach or allocate tty");
	return 0;
}

bool rt_cli_stdin_raw(struct termios *saved)
{
	if (tcgetattr(STDIN_FILENO, saved) < 0)
		return false;
	struct termios t = *saved;
	cfmakeraw(&t);
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
	return true;
}

void rt_cli_stdin_restore(const struct termios *saved)
{
	tcsetattr(STDIN_FILENO, TCSANOW, saved);
}
