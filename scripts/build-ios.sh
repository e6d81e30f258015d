#!/usr/bin/env bash
# Builds ios/MoteFFI.xcframework and the generated Swift on a Mac with Xcode:
#   static libmote_ffi.a for iOS devices (aarch64-apple-ios), the iOS simulator
#   (aarch64-apple-ios-sim + x86_64-apple-ios, merged with lipo) and macOS
#   (aarch64 + x86_64-apple-darwin, merged with lipo); the C header and modulemap
#   from uniffi-bindgen-swift; then xcodebuild -create-xcframework.
#   The Swift bindings go to ios/Sources/MoteBindings/MoteBindings.swift.
#
# Usage: scripts/build-ios.sh
# Env: MOTE_PROFILE (default release), IPHONEOS_DEPLOYMENT_TARGET (default 15.0),
#      MACOSX_DEPLOYMENT_TARGET (default 12.0) — keep in step with ios/Package.swift.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile="${MOTE_PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
work="$target_dir/mote-xcframework"
out="$repo/ios/MoteFFI.xcframework"
log() { echo "build-ios: $*" >&2; }

[ "$(uname -s)" = Darwin ] || { log "needs macOS with Xcode (xcodebuild, lipo)"; exit 1; }
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}" >&2

cd "$repo"
flags=(); [ "$profile" = release ] && flags=(--release)
for t in "${targets[@]}"; do
  log "cargo rustc --crate-type staticlib --target $t"
  # Only the static library: the XCFramework links statically, and skipping the
  # cdylib saves a link per target.
  cargo rustc "${flags[@]}" -p mote-ffi --lib --target "$t" --crate-type staticlib >&2
done
lib() { echo "$target_dir/$1/$profile/libmote_ffi.a"; }

rm -rf "$work" "$out"
mkdir -p "$work/ios" "$work/ios-sim" "$work/macos" "$work/headers" "$work/swift"
cp "$(lib aarch64-apple-ios)" "$work/ios/libmote_ffi.a"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-sim/libmote_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libmote_ffi.a"

log "generating headers, modulemap and Swift"
cargo build --release -p mote-uniffi-bindgen >&2
bindgen_swift="$target_dir/release/uniffi-bindgen-swift"
device_lib="$(lib aarch64-apple-ios)"
# The XCFramework's Headers/ must contain module.modulemap under that exact name.
"$bindgen_swift" --headers --modulemap --module-name MoteFFI --modulemap-filename module.modulemap \
  "$device_lib" "$work/headers" >&2
"$bindgen_swift" --swift-sources "$device_lib" "$work/swift" >&2

xcodebuild -create-xcframework \
  -library "$work/ios/libmote_ffi.a" -headers "$work/headers" \
  -library "$work/ios-sim/libmote_ffi.a" -headers "$work/headers" \
  -library "$work/macos/libmote_ffi.a" -headers "$work/headers" \
  -output "$out" >&2
cp "$work/swift/MoteBindings.swift" "$repo/ios/Sources/MoteBindings/MoteBindings.swift"
log "built $out; now: cd ios && swift build"
