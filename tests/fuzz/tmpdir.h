/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A temporary directory for a fuzz target's unix sockets (a fuzz-target
 * helper, see tests/tests.mk), removed with what is in it when the process
 * exits: a fuzzing session runs millions of inputs but makes it once, and
 * should not leave it in /tmp.
 */
#ifndef HULL_TESTS_FUZZ_TMPDIR_H
#define HULL_TESTS_FUZZ_TMPDIR_H

/* "/tmp/hull-fuzz-<name>-XXXXXX" made; aborts when it cannot be. */
const char *fuzz_tmpdir(const char *name);

#endif
