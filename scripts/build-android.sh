#!/usr/bin/env bash
# Builds the Android library (AAR) on a developer machine or CI with the NDK:
#   1. libmote_ffi.so for arm64-v8a and x86_64 with cargo-ndk, 16 KB-page aligned,
#      into android/mote/src/main/jniLibs/<abi>/;
#   2. the UniFFI Kotlin bindings, generated from that same .so, into
#      android/mote/build/generated/uniffi/kotlin/ (never committed);
#   3. ./gradlew :mote:assembleRelease (or `gradle` if there is no wrapper).
#
# Usage: scripts/build-android.sh [--no-gradle]
# Needs: ANDROID_NDK_HOME (or ANDROID_NDK_ROOT / ANDROID_HOME/ndk/<ver>), cargo-ndk
#        (`cargo install cargo-ndk`), rustup targets aarch64-linux-android x86_64-linux-android,
#        and for step 3 the Android SDK (ANDROID_HOME) and JDK 17.
# Env: MOTE_ANDROID_API (default 24, must match minSdk), MOTE_PROFILE (default release).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
api="${MOTE_ANDROID_API:-24}"
profile="${MOTE_PROFILE:-release}"
jni="$repo/android/mote/src/main/jniLibs"
gen="$repo/android/mote/build/generated/uniffi/kotlin"
log() { echo "build-android: $*" >&2; }
die() { log "$*"; exit 1; }

run_gradle=1
[ "${1:-}" = "--no-gradle" ] && run_gradle=0

if [ -z "${ANDROID_NDK_HOME:-}" ]; then
  if [ -n "${ANDROID_NDK_ROOT:-}" ]; then
    export ANDROID_NDK_HOME="$ANDROID_NDK_ROOT"
  elif [ -d "${ANDROID_HOME:-/nonexistent}/ndk" ]; then
    ANDROID_NDK_HOME="$(find "$ANDROID_HOME/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -1)"
    export ANDROID_NDK_HOME
  fi
fi
[ -n "${ANDROID_NDK_HOME:-}" ] && [ -d "$ANDROID_NDK_HOME" ] || die "set ANDROID_NDK_HOME to an NDK (r26+)"
command -v cargo-ndk >/dev/null || die "cargo-ndk missing: cargo install cargo-ndk"
rustup target add aarch64-linux-android x86_64-linux-android >&2

# Android 15+ devices may use 16 KB pages; a library aligned only to 4 KB fails
# to load there. Per-target variables keep the host build (bindgen) untouched.
page_flags="-C link-arg=-Wl,-z,max-page-size=16384"
export CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS="${CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS:-} $page_flags"
export CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS="${CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS:-} $page_flags"

cd "$repo"
flags=(); [ "$profile" = release ] && flags=(--release)
log "cargo ndk → $jni ($profile, API $api)"
rm -rf "$jni"
cargo ndk --platform "$api" -t arm64-v8a -t x86_64 -o "$jni" \
  build "${flags[@]}" -p mote-ffi --lib >&2
for abi in arm64-v8a x86_64; do
  [ -f "$jni/$abi/libmote_ffi.so" ] || die "missing $jni/$abi/libmote_ffi.so"
done

log "generating Kotlin bindings → $gen"
cargo build --release -p mote-uniffi-bindgen >&2
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
rm -rf "$gen"
"$target_dir/release/uniffi-bindgen" generate --library "$jni/arm64-v8a/libmote_ffi.so" \
  --language kotlin --no-format --out-dir "$gen" >&2

[ "$run_gradle" = 1 ] || { log "done (gradle skipped)"; exit 0; }
cd "$repo/android"
if [ -x ./gradlew ]; then
  ./gradlew :mote:assembleRelease >&2
elif command -v gradle >/dev/null; then
  gradle :mote:assembleRelease >&2
else
  die "no ./gradlew and no gradle on PATH (create the wrapper once with: gradle wrapper)"
fi
log "AAR: $repo/android/mote/build/outputs/aar/mote-release.aar"
