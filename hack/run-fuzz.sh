#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target built in DIR.
#
#   hack/run-fuzz.sh DIR SECONDS      fuzz each target for SECONDS (make fuzz)
#   hack/run-fuzz.sh --corpus-only DIR  replay each target's seed corpus once
#                                       (make test), as TAP
# Seeds: tests/fuzz/corpus/<name>/ (name = target without "fuzz_"). New
# inputs found while fuzzing go to a scratch corpus, crashes to
# tests/fuzz/crashes/<name>/.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus_only=0
if [ "${1:-}" = "--corpus-only" ]; then corpus_only=1; shift; fi
dir=${1:?usage: run-fuzz.sh [--corpus-only] DIR [SECONDS]}
secs=${2:-10}

targets=$(find "$dir" -maxdepth 1 -type f -executable -name 'fuzz_*' | sort)
n=$(echo "$targets" | grep -c . || true)
[ $corpus_only -eq 1 ] && echo "1..$n"
i=0 bad=0
for t in $targets; do
	i=$((i + 1))
	name=$(basename "$t")
	seeds=$repo/tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "$seeds"
	if [ $corpus_only -eq 1 ]; then
		if out=$("$t" -runs=0 "$seeds" 2>&1); then
			echo "ok $i $name replays $(ls "$seeds" | wc -l) seed(s)"
		else
			echo "not ok $i $name"
			echo "$out" | tail -20 | sed 's/^/# /'
			bad=1
		fi
	else
		work=$(mktemp -d)
		crashes=$repo/tests/fuzz/crashes/${name#fuzz_}
		mkdir -p "$crashes"
		echo "==> $name for ${secs}s"
		if ! "$t" -max_total_time="$secs" -artifact_prefix="$crashes/" "$work" "$seeds" 2>&1 | tail -3; then
			bad=1
		fi
		[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "$name: FAILED, see $crashes"; bad=1; }
		rm -rf "$work"
	fi
done
exit $bad
