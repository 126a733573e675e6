# SPDX-License-Identifier: Apache-2.0
# lib/: shared small pieces (logging, errors, fd helpers, ttrpc).
lib_SRCS := $(wildcard lib/*.c)
$(eval $(call static_lib,hull-lib,$(lib_SRCS)))
