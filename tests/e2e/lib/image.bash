# SPDX-License-Identifier: Apache-2.0
# A busybox OCI image built locally, no registry (`load ../lib/image`).
#
#   busybox_image_tar OUT.tar [NAME [CMD]]
#                                      an OCI image layout tarball: one layer
#                                      (Debian's busybox-static, applets as hard
#                                      links), its config, manifest and index
#                                      (annotated io.containerd.image.name=NAME,
#                                      default docker.io/library/hull-busybox:latest);
#                                      CMD: the config's Cmd as a JSON array
#                                      (default ["sh"])
#   busybox_image_import CTR-ARGS...   build it once per $BATS_FILE_TMPDIR and
#                                      `ctr CTR-ARGS... image import` it; prints
#                                      the image name
#
# Digests are computed with sha256sum; the layer is an uncompressed tar
# (application/vnd.oci.image.layer.v1.tar), which ctr unpacks as it is.

# shellcheck source=bundle.bash
source "${BASH_SOURCE[0]%/*}/bundle.bash"

HULL_TEST_IMAGE=${HULL_TEST_IMAGE:-docker.io/library/hull-busybox:latest}

# blob FILE DIR: store FILE as DIR/blobs/sha256/<digest>, print "<digest> <size>"
_image_blob() {
	local file=$1 dir=$2 sum size
	sum=$(sha256sum "$file" | cut -d' ' -f1)
	size=$(stat -c %s "$file")
	mkdir -p "$dir/blobs/sha256"
	mv "$file" "$dir/blobs/sha256/$sum"
	echo "$sum $size"
}

busybox_image_tar() {
	local out=$1 name=${2:-$HULL_TEST_IMAGE} cmd=${3:-'["sh"]'}
	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/hull-image.XXXXXX") || return 1
	local layout=$work/layout rootfs=$work/rootfs
	mkdir -p "$layout"
	busybox_rootfs_build "$rootfs" || return 1
	# numeric owners and a fixed order: the same input gives the same digest
	tar --sort=name --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$work/layer.tar" . ||
		return 1
	local layer layer_sum layer_size
	layer=$(_image_blob "$work/layer.tar" "$layout") || return 1
	read -r layer_sum layer_size <<<"$layer"
	cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":$cmd,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sum"]},"history":[{"created_by":"hull tests/e2e/lib/image.bash"}]}
JSON
	local cfg cfg_sum cfg_size
	cfg=$(_image_blob "$work/config.json" "$layout") || return 1
	read -r cfg_sum cfg_size <<<"$cfg"
	cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cfg_sum","size":$cfg_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer_sum","size":$layer_size}]}
JSON
	local man man_sum man_size
	man=$(_image_blob "$work/manifest.json" "$layout") || return 1
	read -r man_sum man_size <<<"$man"
	cat >"$layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$man_sum","size":$man_size,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"${name##*:}"}}]}
JSON
	echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
	tar --sort=name -C "$layout" -cf "$out" oci-layout index.json blobs || return 1
	rm -rf "$work"
}

busybox_image_import() {
	local tarball=$BATS_FILE_TMPDIR/hull-busybox.tar
	if [ ! -s "$tarball" ]; then
		busybox_image_tar "$tarball" >&2 || return 1
	fi
	"$@" image import "$tarball" >&2 || return 1
	echo "$HULL_TEST_IMAGE"
}
