#!/usr/bin/env bash
# Runs the mote-kernels tests for aarch64 under qemu-user twice: with
# `-cpu max` (NEON + dotprod + i8mm paths) and `-cpu cortex-a72` (NEON only,
# exercising the run-time fallbacks). Also builds the crate for Android and iOS
# so the inline asm is assembled for those targets. Installs nothing.
set -euo pipefail

cd "$(dirname "$0")/.."

missing=()
command -v cargo >/dev/null || missing+=("cargo (rustup)")
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=("aarch64-linux-gnu-gcc (apt: gcc-aarch64-linux-gnu)")
command -v qemu-aarch64 >/dev/null || missing+=("qemu-aarch64 (apt: qemu-user)")
[ -d /usr/aarch64-linux-gnu/lib ] || missing+=("/usr/aarch64-linux-gnu sysroot (apt: libc6-dev-arm64-cross)")
if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed)
    for t in aarch64-unknown-linux-gnu aarch64-linux-android aarch64-apple-ios; do
        grep -qx "$t" <<<"$installed" || missing+=("rust target $t (rustup target add $t)")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-kernels-aarch64: missing toolchain pieces:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 2
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
for cpu in max cortex-a72; do
    case $cpu in
        max) expect=scalar,neon,dotprod,i8mm ;;
        cortex-a72) expect=scalar,neon ;;
    esac
    echo "== mote-kernels tests on qemu-aarch64 -cpu $cpu (expecting $expect)"
    MOTE_KERNELS_EXPECT_ISAS=$expect CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L /usr/aarch64-linux-gnu" \
        cargo test -j 2 -p mote-kernels --target aarch64-unknown-linux-gnu "$@"
done

for target in aarch64-linux-android aarch64-apple-ios; do
    echo "== cargo build -p mote-kernels --target $target"
    cargo build -j 2 -p mote-kernels --lib --target "$target"
done
echo "test-kernels-aarch64: all passed"
