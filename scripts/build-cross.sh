#!/usr/bin/env bash
# CI check that mote-ffi compiles (including inline asm, which `cargo check`
# never assembles) for the mobile targets, on a host without the Android NDK or
# Xcode. A plain `cargo build --lib` would also try to link the cdylib, which
# needs the NDK's or Apple's linker; building only the staticlib needs no linker
# and compiles exactly the same code. The shipping .so/.a come from
# build-android.sh and build-ios.sh.
#
# The model manager's HTTPS stack (rustls with ring) has C and assembly. For
# the Android targets the Debian cross gcc stands in for the NDK's clang (ELF
# objects either way; nothing is linked). Apple's Mach-O assembly needs Xcode's
# clang and SDK, so the iOS check builds mote-ffi without the `downloads`
# feature; with Xcode, build-ios.sh builds the default features.
#
# llguidance (structured output) declares a cdylib crate type, so Cargo links a
# shared library for it even as a dependency; scripts/lib/no-link.sh stands in
# for the missing mobile linkers (that artifact is unused).
#
# Usage: scripts/build-cross.sh [cargo profile flags, e.g. --release]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CC_aarch64_linux_android="${CC_aarch64_linux_android:-aarch64-linux-gnu-gcc}"
export AR_aarch64_linux_android="${AR_aarch64_linux_android:-aarch64-linux-gnu-ar}"
export CC_x86_64_linux_android="${CC_x86_64_linux_android:-gcc}"
export AR_x86_64_linux_android="${AR_x86_64_linux_android:-ar}"
no_link="$repo/scripts/lib/no-link.sh"
export CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER="${CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER:-$no_link}"
export CARGO_TARGET_X86_64_LINUX_ANDROID_LINKER="${CARGO_TARGET_X86_64_LINUX_ANDROID_LINKER:-$no_link}"
export CARGO_TARGET_AARCH64_APPLE_IOS_LINKER="${CARGO_TARGET_AARCH64_APPLE_IOS_LINKER:-$no_link}"
for t in aarch64-linux-android x86_64-linux-android aarch64-apple-ios; do
  features=()
  [ "$t" = aarch64-apple-ios ] && features=(--no-default-features --features models,structured)
  echo "build-cross: mote-ffi staticlib for $t ${features[*]}" >&2
  cargo rustc --profile cross "$@" -p mote-ffi "${features[@]}" --lib --target "$t" --crate-type staticlib
done
