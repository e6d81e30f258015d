#!/usr/bin/env bash
# Runs every test: Rust on the host (with the real models), the kernels on
# aarch64 under qemu, library builds for Android and iOS, the Kotlin SDK on the
# JVM, the Swift SDK on Linux, and the telemetry report in Chromium.
# Usage: scripts/test.sh [--quick]   (--quick: host Rust tests only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { printf '\n=== %s\n' "$*"; }
start=$(date +%s)

step "setup"
scripts/setup.sh
scripts/fetch-models.sh >/dev/null

step "Rust tests (host)"
cargo test --workspace 2>&1
if [ $quick -eq 1 ]; then exit 0; fi

step "NEON kernels under qemu-aarch64"
scripts/test-kernels-aarch64.sh

step "library builds for aarch64-linux-android, x86_64-linux-android, aarch64-apple-ios"
scripts/build-cross.sh

step "Kotlin SDK on the JVM"
scripts/test-kotlin.sh

step "Swift SDK on Linux"
scripts/test-swift.sh

step "telemetry report in Chromium"
rust/telemetry/tests/render_in_chromium.sh

echo
echo "all test suites passed in $(( $(date +%s) - start )) s"
