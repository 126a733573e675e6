#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make test`: installs what is missing, builds, runs every suite, and ends
# with one line "N passed, N failed[, N skipped]". Exit status 0 only when
# nothing failed.
#
# Suites, each reported as TAP and counted the same way:
#   unit        cmocka tests, gcc build
#   unit-asan   the same tests built with clang, AddressSanitizer + UBSan
#   fuzz-corpus every fuzz target replayed over its seed corpus (ASan build)
#   e2e-host    tests/e2e/host/*.bats, natively
#   e2e-kvm     tests/e2e/kvm/*.bats where /dev/kvm can boot Linux: natively
#               if this host's can (hack/kvm-check), otherwise inside
#               hack/nested-kvm test VMs: HULL_KVM_SHARDS (default 2) VMs,
#               each with its own share of the files, run in the background
#               while the host suites run (a guest under TCG keeps one core
#               busy; the rest of the machine would idle)
#
# HULL_TEST_SUITES="unit e2e-host" runs only the named suites.
# HULL_TEST_BUDGET (seconds, default 2400) bounds the nested e2e-kvm shards,
# counted from this script's start: CI must end within 45 minutes, retries of
# a flaky emulated SVM included (hack/bats-files: HULL_BATS_BUDGET).
set -uo pipefail
t0=$(date +%s)
budget=${HULL_TEST_BUDGET:-2400}
# budget_left: seconds of HULL_TEST_BUDGET still left
budget_left() { echo $((t0 + budget - $(date +%s))); }

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export BUILD=${BUILD:-build}
jobs=$(nproc)
results=$BUILD/test-results
rm -rf "$results"
mkdir -p "$results"
suites=${HULL_TEST_SUITES:-unit unit-asan fuzz-corpus e2e-host e2e-kvm}
wants() { [[ " $suites " == *" $1 "* ]]; }

passed=0 failed=0 skipped=0
declare -a failures=()

# Count one suite's TAP output. A suite that exits non-zero without a
# "not ok" line (a crash, a build error, a timeout) counts as one failure,
# as does a plan ("1..N") with fewer results than announced.
count_tap() { # name tapfile exitcode
	local name=$1 tap=$2 rc=$3
	local lines ok okskip notok notokskip plan ran
	lines=$(tr -d '\r' <"$tap")
	# A skip is "ok N ... # skip" (bats) or "not ok N # SKIP" (cmocka).
	ok=$(grep -cE '^ok [0-9]+' <<<"$lines" || true)
	okskip=$(grep -E '^ok [0-9]+' <<<"$lines" | grep -ciE '# skip' || true)
	notok=$(grep -E '^not ok [0-9]+' <<<"$lines" | grep -civE '# skip' || true)
	notokskip=$(grep -E '^not ok [0-9]+' <<<"$lines" | grep -ciE '# skip' || true)
	plan=$(grep -E '^1\.\.[0-9]+' <<<"$lines" | sed 's/^1\.\.//' | awk '{ s += $1 } END { print s + 0 }')
	ran=$((ok + notok + notokskip))
	passed=$((passed + ok - okskip))
	skipped=$((skipped + okskip + notokskip))
	failed=$((failed + notok))
	if [ "$notok" -gt 0 ]; then
		while IFS= read -r l; do failures+=("$name: $l"); done < <(grep -E '^not ok [0-9]+' <<<"$lines" | grep -viE '# skip')
	fi
	if [ "$plan" -gt "$ran" ]; then
		failed=$((failed + plan - ran))
		failures+=("$name: $((plan - ran)) planned test(s) never reported")
	elif [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name: exited with status $rc without a failing test (crash, timeout or build error)")
	fi
}

run_suite() { # name cmd...
	local name=$1
	shift
	echo "==> $name: $*"
	local tap=$results/$name.tap
	"$@" 2>&1 | tee "$tap"
	local rc=${PIPESTATUS[0]}
	count_tap "$name" "$tap" "$rc"
}

build_step() { # name cmd...
	local name=$1
	shift
	echo "==> build: $name"
	if ! "$@" >"$results/build-$name.log" 2>&1; then
		tail -40 "$results/build-$name.log"
		failed=$((failed + 1))
		failures+=("build $name failed (see $results/build-$name.log)")
		return 1
	fi
}

finish() {
	echo
	if [ ${#failures[@]} -gt 0 ]; then
		echo "Failures:"
		printf '  %s\n' "${failures[@]}"
	fi
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit $?
}

build_step deps ./hack/install-deps.sh || finish
build_step all make -j"$jobs" all unit-tests test-tools kernel guest-test-images vmm-guest-inits || finish
if [ -n "$(make -s print-AGENT_STATIC 2>/dev/null)" ]; then
	build_step initramfs make -j"$jobs" initramfs || finish
fi

# Minutes per file under nested TCG (measured on a fresh clone, 2026-12-04,
# rounded up), to balance the shards and to set each file's deadline
# (2 x weight + 5 minutes); a file not listed counts 3.
declare -A kvm_weight=([cli.bats]=6 [shim.bats]=4 [clients.bats]=3 [net.bats]=3 [vmm.bats]=3
	[shim-cri.bats]=4 [shim-pod.bats]=2 [cli-ops.bats]=1 [agent-vmm.bats]=1
	[vmm-virtiofs.bats]=1 [agent-cgroup.bats]=1 [cli-parallel.bats]=1 [agent-guest.bats]=1
	[kernel.bats]=1)
declare -a kvm_pids=() kvm_names=()
start_kvm_shards() {
	local n=${HULL_KVM_SHARDS:-2} f i best
	local -a load files
	for ((i = 0; i < n; i++)); do load[i]=0 files[i]=""; done
	# heaviest first, each to the lightest shard; cli-parallel.bats last of
	# all: it is the file most likely to take the test VM down with it
	for f in $(for f in tests/e2e/kvm/*.bats; do
		b=$(basename "$f")
		[ "$b" = cli-parallel.bats ] && continue
		echo "${kvm_weight[$b]:-3} $f"
	done | sort -rn | cut -d' ' -f2) $(ls tests/e2e/kvm/cli-parallel.bats 2>/dev/null); do
		best=0
		for ((i = 1; i < n; i++)); do [ "${load[i]}" -lt "${load[best]}" ] && best=$i; done
		b=$(basename "$f")
		load[best]=$((load[best] + ${kvm_weight[$b]:-3}))
		# each file's deadline: twice its weight in minutes, and 5 more
		files[best]+=" $f@$(((${kvm_weight[$b]:-3} * 2 + 5) * 60))"
	done
	for ((i = 0; i < n; i++)); do
		[ -n "${files[i]}" ] || continue
		local name=e2e-kvm-$((i + 1))
		echo "==> $name (nested, background):${files[i]}"
		# shellcheck disable=SC2086 # the file list splits on purpose
		run_shard "$results/$name.tap" ${files[i]} &
		kvm_pids+=($!)
		kvm_names+=("$name")
	done
}
# One nested test VM running FILE@SECONDS... with hack/bats-files: a hung test
# fails alone (BATS_TEST_TIMEOUT), a hung file alone (its deadline), instead of
# the whole shard; a failed file gets up to two retries, printed loudly: the emulated
# SVM under the test VM misbehaves now and then (docs/status.md).
# Its files share what is left of the budget, less a minute and a half for
# booting and powering off; the VM itself is killed two minutes after that.
nested_shard() {
	local left
	left=$(budget_left)
	./hack/nested-kvm --timeout "$((left + 120))" -- \
		env BATS_TEST_TIMEOUT="${HULL_BATS_TEST_TIMEOUT:-600}" \
		HULL_BATS_BUDGET="$((left - 90))" \
		HULL_BATS_RETRIES="${HULL_BATS_RETRIES:-2}" ./hack/bats-files "$@"
}
# run_shard TAP FILE@SECONDS...: nested_shard into TAP. When the test VM itself
# dies (nested-kvm's 125: its kernel panicked, as it does now and then with
# many guests under the emulated SVM), the files it did not finish run in a
# new VM, up to HULL_VM_RETRIES (default 3) times while the budget lasts; the
# unfinished file's partial output stays as "# !!!" comments, so only
# finished runs count.
run_shard() {
	local tap=$1 rc f last vm=1
	shift
	local -a todo=("$@") left
	: >"$tap"
	while :; do
		rc=0
		# into a scratch file, not straight into $tap: what a dead VM left
		# unfinished is marked below before it joins the TAP
		nested_shard "${todo[@]}" >"$tap.vm" 2>&1 || rc=$?
		if [ "$rc" -ne 125 ]; then
			cat "$tap.vm" >>"$tap"
			break
		fi
		left=()
		for f in "${todo[@]}"; do
			grep -qE "^# ${f%@*}: (exit |not run)" "$tap.vm" || left+=("$f")
		done
		last=$(grep -nE '^# .*: (exit [0-9]* after |not run)' "$tap.vm" | tail -1 | cut -d: -f1)
		{
			head -n "${last:-0}" "$tap.vm"
			tail -n +"$((${last:-0} + 1))" "$tap.vm" | sed 's/^/# !!! /'
			if [ ${#left[@]} -gt 0 ]; then
				echo "# !!! test VM $vm died (nested-kvm exit 125) before finishing: ${left[*]}"
			else
				echo "# !!! test VM $vm died (nested-kvm exit 125) after its last file"
			fi
		} >>"$tap"
		if [ ${#left[@]} -eq 0 ]; then
			rc=0 # the TAP above has every result
			break
		fi
		if [ "$vm" -gt "${HULL_VM_RETRIES:-3}" ]; then
			echo "# !!! no new test VM: HULL_VM_RETRIES=${HULL_VM_RETRIES:-3} used up" >>"$tap"
			break
		fi
		if [ "$(budget_left)" -lt 300 ]; then
			echo "# !!! no new test VM: only $(budget_left)s of HULL_TEST_BUDGET left" >>"$tap"
			break
		fi
		todo=("${left[@]}")
		vm=$((vm + 1))
	done
	rm -f "$tap.vm"
	return "$rc"
}
wait_kvm_shards() {
	local i rc
	for i in "${!kvm_pids[@]}"; do
		rc=0
		wait "${kvm_pids[i]}" || rc=$?
		echo "==> ${kvm_names[i]}"
		cat "$results/${kvm_names[i]}.tap"
		count_tap "${kvm_names[i]}" "$results/${kvm_names[i]}.tap" "$rc"
	done
}
nested_kvm=false
if wants e2e-kvm && ls tests/e2e/kvm/*.bats >/dev/null 2>&1 && ! ./hack/kvm-check -q; then
	echo "==> e2e-kvm: this host's /dev/kvm cannot boot Linux ($(./hack/kvm-check)); running the suite inside hack/nested-kvm"
	nested_kvm=true
	# guests boot slowly under TCG with the host suites running beside them
	export HULL_BOOT_TIMEOUT_MS=${HULL_BOOT_TIMEOUT_MS:-120000}
	# cli-parallel.bats: many guests at once crash the test VM's own kernel (a
	# stack overflow in kvm_amd's __svm_vcpu_run under QEMU's emulated SVM, not
	# in hull): always with 20; with 10, 2 of 10 runs on 2026-12-04 and both
	# CI runs of the next day, and 1 of 3 with the tree of the last green CI
	# (so not a change of ours); with 6, 1 of 3. Native KVM runs the full 20,
	# the nested VM 4. With free page reporting 4 of 6 runs of 10 panicked:
	# maybe chance, but it is off for that file there (less churn); every
	# other test keeps the default (on). A test VM that dies anyway gets its
	# unfinished files run in a new one.
	export HULL_PARALLEL_N=${HULL_PARALLEL_N:-4}
	export HULL_PARALLEL_FREE_PAGE_REPORTING=${HULL_PARALLEL_FREE_PAGE_REPORTING:-false}
	# the test VM's kernel prints its panics (and nothing chattier) into the log
	export NESTED_LOGLEVEL=${NESTED_LOGLEVEL:-3}
	start_kvm_shards
fi

if wants unit; then
	for t in $(find "$BUILD/tests/unit" -type f -executable -name 'test_*' 2>/dev/null | sort); do
		run_suite "unit-$(basename "$(dirname "$t")")-$(basename "$t")" \
			env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
fi

if wants unit-asan; then
	asan=$BUILD/asan
	if build_step unit-asan make -j"$jobs" BUILD="$asan" SANITIZE=1 CC=clang unit-tests \
		"$asan/bin/hull-vmm"; then
		for t in $(find "$asan/tests/unit" -type f -executable -name 'test_*' 2>/dev/null | sort); do
			run_suite "asan-$(basename "$(dirname "$t")")-$(basename "$t")" \
				env CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
				UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
		done
	fi
fi

if wants fuzz-corpus && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	if build_step fuzz make -j"$jobs" BUILD="$BUILD/fuzz" FUZZ=1 fuzz-targets; then
		run_suite fuzz-corpus ./hack/run-fuzz.sh --corpus-only "$BUILD/fuzz/fuzz"
	fi
fi

if wants e2e-host && ls tests/e2e/host/*.bats >/dev/null 2>&1; then
	run_suite e2e-host bats --tap tests/e2e/host
fi

if $nested_kvm; then
	wait_kvm_shards
elif wants e2e-kvm && ls tests/e2e/kvm/*.bats >/dev/null 2>&1; then
	run_suite e2e-kvm bats --tap tests/e2e/kvm
fi

finish
