# SPDX-License-Identifier: Apache-2.0
# oci/: the OCI runtime-spec library (config.json, process.json, state, features).
oci_SRCS := $(wildcard oci/*.c)
$(eval $(call static_lib,hull-oci,$(oci_SRCS)))
