// SPDX-License-Identifier: Apache-2.0
/*
 * Mount options (config.md "Mounts", options of mount(8)) decoded the way
 * runc's parseMountOptions does: known options become MS_* flags to set or
 * clear, propagation options become one propagation change, "r"-prefixed
 * options become recursive mount_setattr(2) attributes, and everything else
 * (mode=755, size=64k, ...) is joined into the filesystem data string.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "internal.h"

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_table[] = {
    {"acl", false, MS_POSIXACL},
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noacl", true, MS_POSIXACL},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_table[] = {
    {"private", MS_PRIVATE},
    {"shared", MS_SHARED},
    {"slave", MS_SLAVE},
    {"unbindable", MS_UNBINDABLE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"rshared", MS_SHARED | MS_REC},
    {"rslave", MS_SLAVE | MS_REC},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Recursive attributes (runc 1.1 "rro" & co.). atime ones also clear the atime field. */
static const struct {
	const char *name;
	bool clear;
	uint64_t attr;
} attr_table[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

int oci_propagation_parse(const char *name, unsigned long *flags)
{
	for (size_t i = 0; i < ARRAY_SIZE(propagation_table); i++) {
		if (name && strcmp(propagation_table[i].name, name) == 0) {
			*flags = propagation_table[i].flag;
			return 0;
		}
	}
	return -EINVAL;
}

int oci_mount_flag_parse(const char *name, unsigned long *flag, bool *clear)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_table); i++) {
		if (name && strcmp(flag_table[i].name, name) == 0) {
			*flag = flag_table[i].flag;
			*clear = flag_table[i].clear;
			return 0;
		}
	}
	return -EINVAL;
}

static bool apply_flag(struct oci_mount_opts *o, const char *opt)
{
	unsigned long flag;
	bool clear;
	if (oci_mount_flag_parse(opt, &flag, &clear) < 0)
		return false;
	if (clear) {
		o->flags &= ~flag;
		o->clear |= flag;
	} else {
		o->flags |= flag;
		o->clear &= ~flag;
	}
	return true;
}

static bool apply_attr(struct oci_mount_opts *o, const char *opt)
{
	for (size_t i = 0; i < ARRAY_SIZE(attr_table); i++) {
		if (strcmp(attr_table[i].name, opt) != 0)
			continue;
		uint64_t a = attr_table[i].attr;
		bool atime = strstr(opt, "atime") && strcmp(opt, "rnodiratime") != 0 &&
			     strcmp(opt, "rdiratime") != 0;
		if (atime && !attr_table[i].clear) {
			/* The atime setting is a 3-valued field, not a bit. */
			o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | a;
			o->attr_clr |= MOUNT_ATTR__ATIME;
		} else if (attr_table[i].clear) {
			o->attr_set &= ~a;
			o->attr_clr |= a;
		} else {
			o->attr_set |= a;
			o->attr_clr &= ~a;
		}
		return true;
	}
	return false;
}

/* The comma-separated data string, grown geometrically: a hostile spec may
 * carry millions of options. */
struct databuf {
	char *s;
	size_t len, cap;
};

static int data_append(struct databuf *d, const char *opt)
{
	size_t n = strlen(opt);
	if (d->len + n + 2 > d->cap) {
		size_t cap = d->cap ? d->cap : 64;
		while (cap < d->len + n + 2)
			cap *= 2;
		char *s = realloc(d->s, cap);
		if (!s)
			return -ENOMEM;
		d->s = s;
		d->cap = cap;
	}
	if (d->len)
		d->s[d->len++] = ',';
	memcpy(d->s + d->len, opt, n + 1);
	d->len += n;
	return 0;
}

int oci_mount_opts_parse(const struct oci_strv *options, struct oci_mount_opts *out,
			 struct err **err)
{
	struct oci_mount_opts o = {0};
	struct databuf d = {0};
	for (size_t i = 0; options && i < options->n; i++) {
		const char *opt = options->items[i];
		unsigned long prop;
		if (!*opt)
			continue;
		if (apply_flag(&o, opt) || apply_attr(&o, opt))
			continue;
		if (oci_propagation_parse(opt, &prop) == 0) {
			o.propagation = prop;
		} else if (strcmp(opt, "tmpcopyup") == 0) {
			o.ext |= OCI_MOUNT_EXT_TMPCOPYUP;
		} else if (strcmp(opt, "idmap") == 0) {
			o.ext |= OCI_MOUNT_EXT_IDMAP;
		} else if (strcmp(opt, "ridmap") == 0) {
			o.ext |= OCI_MOUNT_EXT_RIDMAP;
		} else if (data_append(&d, opt) < 0) {
			free(d.s);
			return err_set(err, ENOMEM, "mount options");
		}
	}
	o.data = d.s;
	*out = o;
	return 0;
}

void oci_mount_opts_free(struct oci_mount_opts *opts)
{
	if (!opts)
		return;
	free(opts->data);
	opts->data = NULL;
}

size_t oci_mount_opt_list(const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(flag_table) && n < max; i++)
		out[n++] = flag_table[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(propagation_table) && n < max; i++)
		out[n++] = propagation_table[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(attr_table) && n < max; i++)
		out[n++] = attr_table[i].name;
	const char *ext[] = {"tmpcopyup", "idmap", "ridmap"};
	for (size_t i = 0; i < ARRAY_SIZE(ext) && n < max; i++)
		out[n++] = ext[i];
	return n;
}
