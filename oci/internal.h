/* SPDX-License-Identifier: Apache-2.0 */
/* Private to oci/: helpers shared between the parse, write, free and validate files. */
#ifndef HULL_OCI_INTERNAL_H
#define HULL_OCI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"
#include "oci/spec.h"

/* names.c */
int oci_ns_clone_flag(enum oci_ns_type type);
bool oci_seccomp_arch_known(const char *name);
int oci_seccomp_flag_parse(const char *name); /* OCI_SECCOMP_FLAG_* bit or -EINVAL */
int oci_ioprio_class_parse(const char *name);
int oci_personality_parse(const char *domain, unsigned long *persona);
/* The i-th known name, NULL past the end (for `features`). */
const char *oci_seccomp_arch_name(size_t i);
const char *oci_seccomp_flag_name(size_t i);

/* mount.c: every mount option name the parser knows (at most max), for `features`. */
size_t oci_mount_opt_list(const char **out, size_t max);

/* parse_process.c: fill p from the object v (the path names where v is). */
int oci_process_read(struct jctx *c, yajl_val v, struct oci_process *p);
/* parse_linux.c */
int oci_linux_read(struct jctx *c, yajl_val v, struct oci_linux *l);
int oci_resources_read(struct jctx *c, yajl_val v, struct oci_resources *r);

/* free.c: free what the struct owns, not the struct. */
void oci_process_clear(struct oci_process *p);
void oci_linux_clear(struct oci_linux *l);
void oci_resources_clear(struct oci_resources *r);
void oci_map_clear(struct oci_map *m);

/* write*.c */
void oci_process_write(struct jw *w, const struct oci_process *p);
void oci_linux_write(struct jw *w, const struct oci_linux *l);
/* "key": {...}, or a bare object when key is NULL. */
void oci_resources_write(struct jw *w, const char *key, const struct oci_resources *r);

/* String-list helpers for building specs in code (default.c). */
int oci_strv_from(struct oci_strv *v, const char *const *items, size_t n);

#endif
