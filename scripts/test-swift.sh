#!/usr/bin/env bash
# Runs the Swift SDK tests (ios/Tests) with `swift test` on Linux, inside the
# Debian trixie chroot from scripts/swift-chroot.sh, against the host-built
# libmote_ffi.so and the real SmolLM2 model. Needs root (chroot, mount).
#
# Usage: scripts/test-swift.sh [extra `swift test` args, e.g. --filter ChatTests]
# Env: MOTE_PROFILE (debug|release), MOTE_BINDINGS_DIR, MOTE_SKIP_BUILD, MOTE_FFI_LIB_DIR,
#      MOTE_TEST_MODEL (skip the fetch), MOTE_SWIFT_CHROOT.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bindings="${MOTE_BINDINGS_DIR:-$repo/bindings-out}"
log() { echo "test-swift: $*" >&2; }

model="${MOTE_TEST_MODEL:-$("$repo/scripts/fetch-models.sh" smollm2 | awk '$1 == "smollm2" { print $2 }')}"
[ -f "$model" ] || { log "model not found: $model"; exit 1; }
model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"

gen="$("$repo/scripts/gen-bindings.sh" "$bindings")"
lib_dir="$(echo "$gen" | awk '$1 == "lib" { print $2 }')"

# SwiftPM needs the generated sources inside the package; ios/.gitignore keeps them out of git.
cp "$bindings/swift/MoteBindings.swift" "$repo/ios/Sources/MoteBindings/"
cp "$bindings/swift/MoteFFI.h" "$repo/ios/Sources/MoteFFI/"
cp "$bindings/swift/MoteFFI.modulemap" "$repo/ios/Sources/MoteFFI/module.modulemap"

binds="$(dirname "$model")"
case "$lib_dir" in "$repo"/*) ;; *) binds="$binds:$lib_dir" ;; esac

log "swift test (lib $lib_dir, model $model)"
MOTE_CHROOT_CWD="$repo/ios" MOTE_CHROOT_BINDS="$binds" \
  "$repo/scripts/swift-chroot.sh" -- \
  env MOTE_FFI_LIB_DIR="$lib_dir" MOTE_TEST_MODEL="$model" LD_LIBRARY_PATH="$lib_dir" \
  swift test --disable-swift-testing "$@"
