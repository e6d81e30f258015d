#!/usr/bin/env bash
# Builds the host libmote_ffi and generates the Kotlin and Swift bindings from it.
#
# Usage: scripts/gen-bindings.sh [OUT_DIR]      (default: <repo>/bindings-out, git-ignored)
#   OUT_DIR/kotlin/dev/mote/ffi/mote_ffi.kt
#   OUT_DIR/swift/{MoteBindings.swift, MoteFFI.h, MoteFFI.modulemap}
# Env: MOTE_PROFILE=debug|release (default debug), CARGO_TARGET_DIR,
#      MOTE_SKIP_BUILD=1 to reuse an existing build (MOTE_FFI_LIB_DIR then names its directory).
# Prints "lib <dir-with-libmote_ffi.so>" and "bindings <OUT_DIR>" on stdout.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$repo/bindings-out}" && cd "${1:-$repo/bindings-out}" && pwd)"
profile="${MOTE_PROFILE:-debug}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
lib_dir="${MOTE_FFI_LIB_DIR:-$target_dir/$profile}"
log() { echo "gen-bindings: $*" >&2; }

cd "$repo"
bindgen="${MOTE_UNIFFI_BINDGEN:-$target_dir/$profile/uniffi-bindgen}"
if [ "${MOTE_SKIP_BUILD:-0}" != 1 ]; then
  if [ "$profile" = debug ]; then
    # The library from `cargo test --workspace` itself (a no-op after
    # scripts/test.sh's first step). `cargo build -p mote-ffi` resolves
    # features without the dev-dependencies', so it rebuilt ~60 crates
    # (6 min of CI) for an equivalent library.
    # rust/uniffi-bindgen/tests makes that build the generator too.
    log "cargo test --workspace --no-run"
    cargo test --workspace --no-run >&2
    lib_dir="$target_dir/debug/deps"
  else
    log "cargo build --release -p mote-ffi -p mote-uniffi-bindgen"
    cargo build --release -p mote-ffi -p mote-uniffi-bindgen >&2
  fi
fi
case "$(uname -s)" in
  Darwin) lib="$lib_dir/libmote_ffi.dylib" ;;
  *) lib="$lib_dir/libmote_ffi.so" ;;
esac
[ -f "$lib" ] || { log "missing $lib"; exit 1; }

# Generate each language into a fresh directory so renamed or removed types
# never leave stale files behind. ktlint/swift-format are not needed: output
# is not committed.
for lang in kotlin swift; do
  rm -rf "${out:?}/$lang"
  "$bindgen" generate --library "$lib" --language "$lang" --no-format --out-dir "$out/$lang" >&2
done
log "kotlin: $out/kotlin  swift: $out/swift"
echo "lib $lib_dir"
echo "bindings $out"
