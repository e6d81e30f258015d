#!/usr/bin/env bash
# Linker stand-in for scripts/build-cross.sh. llguidance declares
# crate-type = ["staticlib", "rlib", "cdylib"], and Cargo builds every crate type
# a dependency declares, so compiling it for Android or iOS runs a linker for a
# libllguidance.so/.dylib that nothing uses. This host has neither the NDK's nor
# Apple's linker; the cross check is about compiling (mote-ffi's own artifact is
# a staticlib, which is never linked), so this writes an empty output and
# succeeds. The shipping builds (build-android.sh, build-ios.sh) use the real
# linkers.
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    *) shift ;;
  esac
done
[ -n "$out" ] && : > "$out"
exit 0
