#!/usr/bin/env bash
# Instructions retired per 4096-wide row-dot by our aarch64 kernels (NEON,
# dotprod, i8mm level) against the scalar reference on the same blocks,
# counted under qemu-user with a TCG plugin.
#
# Debian bookworm's qemu-user supports -plugin but ships no plugin .so (and
# no qemu-plugin.h), so scripts/qemu/insn_count.c, a minimal counter written
# against the plugin ABI, is compiled here with the host gcc. Instruction
# counts are architectural (not cycles); they show how much work each path
# does, not how fast a particular core runs it.
#
# Usage: scripts/icount-aarch64.sh [qtypes...]   (default: all thirteen)
# ICOUNT_MODE=gemv counts the decode GEMV (64 rows per call, one thread, the
# multi-row kernels included) per row instead of the single-row kernel.
# The "candle" column is candle-core's own NEON kernel for the type on the same
# workload (rust/core/examples/icount_candle.rs): `vec_dot` in dot mode,
# `vec_dot_4` / 4 in gemv mode; "-" where candle has no kernel.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "icount-aarch64: $*"; }
for tool in qemu-aarch64 aarch64-linux-gnu-gcc gcc; do
  command -v $tool >/dev/null || { say "skipped: $tool not installed (instruction counts NOT available)"; exit 0; }
done
if ! qemu-aarch64 -h 2>&1 | grep -q -- '-plugin'; then
  say "skipped: this qemu-aarch64 was built without TCG plugin support (instruction counts NOT available)"
  exit 0
fi

out=target/icount
mkdir -p "$out"
gcc -shared -fPIC -O2 -o "$out/insn_count.so" scripts/qemu/insn_count.c
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  cargo build -q --release -p mote-kernels --example icount --target aarch64-unknown-linux-gnu
bin=target/aarch64-unknown-linux-gnu/release/examples/icount
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  cargo build -q --release -p mote-core --example icount_candle --target aarch64-unknown-linux-gnu
cbin=target/aarch64-unknown-linux-gnu/release/examples/icount_candle

mode=${ICOUNT_MODE:-dot}
per_call=1; [ "$mode" = gemv ] && per_call=64
count() { # isa qtype iters
  qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu -plugin "$out/insn_count.so" "$bin" "$1" "$2" "$3" "$mode" 2>&1 >/dev/null \
    | sed -n 's/^insn_count: //p'
}

qtypes=("$@")
[ ${#qtypes[@]} -gt 0 ] || qtypes=(q4_0 q4_1 q5_0 q5_1 q8_0 q4k q5k q6k q2k q3k iq4nl iq4xs bf16)
lo=20 hi=220
say "instructions per 4096-wide row ($mode; qemu -cpu max; (count($hi) - count($lo)) / $((hi - lo)) calls / $per_call rows)"
ccount() { # qtype iters
  qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu -plugin "$out/insn_count.so" "$cbin" "$1" "$2" "$cmode" 2>&1 >/dev/null \
    | sed -n 's/^insn_count: //p'
}
cmode=dot; cper=1; [ "$mode" = gemv ] && { cmode=dot4; cper=4; }
printf '%-6s %10s %10s %10s %10s %9s %10s %11s\n' qtype scalar neon dotprod i8mm "best/sc" candle "best/candle"
for q in "${qtypes[@]}"; do
  line=$(printf '%-6s' "$q")
  scalar=0 best=0
  for isa in scalar neon dotprod i8mm; do
    a=$(count $isa "$q" $lo); b=$(count $isa "$q" $hi)
    per=$(( (b - a) / (hi - lo) / per_call ))
    line+=$(printf ' %10d' "$per")
    [ $isa = scalar ] && scalar=$per
    best=$per
  done
  line+=$(awk -v b="$best" -v s="$scalar" 'BEGIN{printf " %8.3f", b / s}')
  case $q in
    iq4nl | iq4xs | bf16) line+=$(printf ' %10s %11s' - -) ;;
    *)
      a=$(ccount "$q" $lo); b=$(ccount "$q" $hi)
      c=$(( (b - a) / (hi - lo) / cper ))
      line+=$(printf ' %10d' "$c")
      line+=$(awk -v b="$best" -v c="$c" 'BEGIN{printf " %11.3f", b / c}') ;;
  esac
  echo "$line"
done
