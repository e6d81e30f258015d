#!/usr/bin/env bash
# CI check that mote-ffi compiles (including inline asm, which `cargo check`
# never assembles) for the mobile targets, on a host without the Android NDK or
# Xcode. A plain `cargo build --lib` would also try to link the cdylib, which
# needs the NDK's or Apple's linker; building only the staticlib needs no linker
# and compiles exactly the same code. The shipping .so/.a come from
# build-android.sh and build-ios.sh.
#
# Usage: scripts/build-cross.sh [cargo profile flags, e.g. --release]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
for t in aarch64-linux-android x86_64-linux-android aarch64-apple-ios; do
  echo "build-cross: mote-ffi staticlib for $t" >&2
  cargo rustc --profile cross "$@" -p mote-ffi --lib --target "$t" --crate-type staticlib
done
