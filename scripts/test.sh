#!/usr/bin/env bash
# Runs every test: Rust on the host (with the real models), the kernels on
# aarch64 under qemu, library builds for Android and iOS, the Kotlin SDK on the
# JVM, the Swift SDK on Linux, and the telemetry report in Chromium.
# Usage: scripts/test.sh [--quick]   (--quick: host Rust tests only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

start=$(date +%s)
# Each step header carries the seconds since the start, so a slow CI run shows
# which step grew.
step() { printf '\n=== [%4d s] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# Every runner's output also goes to a log, so the end can add up the counts
# of all of them (cargo, Maven Surefire, XCTest, the shell checks) in one line.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
exec > >(tee -a "$log") 2>&1

step "setup"
scripts/setup.sh
scripts/fetch-models.sh >/dev/null

step "Rust tests (host)"
cargo test --workspace 2>&1
if [ $quick -eq 1 ]; then exit 0; fi

step "fuzzing (cargo-fuzz, 20 s per target)"
# Built outside the clone, like the models, so a CI run on a machine that
# fuzzed before rebuilds only Mote's own crates (about 11 min cold).
FUZZ_TARGET_DIR="$HOME/.cache/mote/fuzz-target" scripts/fuzz.sh

step "NEON kernels under qemu-aarch64"
scripts/test-kernels-aarch64.sh

step "library builds for aarch64-linux-android, x86_64-linux-android, aarch64-apple-ios"
scripts/build-cross.sh

step "Kotlin SDK on the JVM"
scripts/test-kotlin.sh

step "Swift SDK on Linux"
scripts/test-swift.sh

step "telemetry report and study page in Chromium"
rust/telemetry/tests/render_in_chromium.sh
sample-apps/cli/tests/render_study_in_chromium.sh

summary() {
  python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for p, f in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):  # cargo
    passed += int(p); failed += int(f)
for run, fail, err in re.findall(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: \d+\s*$", text, re.M):  # Maven totals
    passed += int(run) - int(fail) - int(err); failed += int(fail) + int(err)
for n, f in re.findall(r"^Test Suite 'All tests' \w+ at .*\n\s*Executed (\d+) tests?, with (\d+) failures?", text, re.M):  # XCTest total
    passed += int(n) - int(f); failed += int(f)
for p, f in re.findall(r"^checks: (\d+) passed, (\d+) failed$", text, re.M):  # shell checks
    passed += int(p); failed += int(f)
print(f"{passed} passed, {failed} failed")
PY
}
echo
echo "all test suites passed in $(( $(date +%s) - start )) s"
summary
