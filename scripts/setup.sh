#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: cross
# compilers and qemu for the NEON tests, Maven for the Kotlin tests,
# debootstrap for the Swift chroot, Chromium for the report test, and the
# Rust targets. Idempotent: it only installs what is missing.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have aarch64-linux-gnu-gcc || need_apt+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
have qemu-aarch64 || need_apt+=(qemu-user)
have debootstrap || need_apt+=(debootstrap)
have mvn || need_apt+=(maven)
have chromium || need_apt+=(chromium)
have python3 || need_apt+=(python3)
have unzip || need_apt+=(unzip)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: apt-get install ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

targets=(aarch64-unknown-linux-gnu aarch64-linux-android x86_64-linux-android aarch64-apple-ios)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t" >&2
done
