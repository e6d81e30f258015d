#!/usr/bin/env bash
# Mote vs llama.cpp on this host, interleaved run by run so drift in machine
# load hits both sides alike, on the real models and optionally the full-size
# synthetic ones (Qwen3-0.6B, Llama-3.2-1B/3B shapes).
#
# Usage: scripts/bench.sh [--models "smollm2 gemma3"] [--rounds N] [--reps N]
#                         [--threads "1 2"] [--tokens N] [--out FILE.json]
#                         [--icount FILE.json] [--no-wait]
#   --models   names (see scripts/lib/models.sh): smollm2, gemma3, full-size
#              names such as qwen3-0.6b.q4_k_m, or GGUF paths
#   --out      JSON results (default target/bench/bench-results.json); an HTML
#              page with plots is written beside it (same name, .html)
#   --icount   scripts/icount-e2e.sh's JSON (default target/icount-e2e.json if
#              present): its AArch64 instruction ratios join the table
#
# llama.cpp is the reference build of scripts/llama-cpp-build.sh (the copy in
# the PyPI sdist llama-cpp-python==0.3.36, GGML_NATIVE=ON, i.e. compiled for
# this very CPU, but with AMX switched off: some VMs list AMX in cpuid while
# `tilezero` raises SIGILL). Mote is the ordinary release build: generic
# x86-64 baseline, SIMD picked at run time. Both use an f16 KV cache.
#
# Each round runs llama-bench and `mote bench --json` once per model and thread
# count (order alternating between rounds), each under /usr/bin/time -v for
# peak RSS. scripts/bench_report.py prints the table with Mote/llama.cpp
# ratios and the decode bandwidth ceiling, and writes the JSON and HTML.
set -euo pipefail

LLAMA_PY_VERSION=0.3.36
ROUNDS=3
REPS=3
THREADS="1 2"
TOKENS=128
MODELS="smollm2 gemma3"
OUT=target/bench/bench-results.json
ICOUNT=target/icount-e2e.json
WAIT=1
# DRAM read bandwidth measured on this machine class (see docs/NOTES): GB/s per thread count.
BW_1=${MOTE_BW_1:-13.7}
BW_2=${MOTE_BW_2:-27.7}

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --tokens) TOKENS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --icount) ICOUNT=$2; shift 2 ;;
    --no-wait) WAIT=0; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "bench.sh: $*" >&2; }
source "$root/scripts/lib/models.sh"

wait_idle() {
  [ "$WAIT" = 1 ] || return 0
  local waited=0
  while awk '{exit !($1 >= 0.6)}' /proc/loadavg; do
    if [ $waited -ge 900 ]; then log "machine still busy after 15 min (load $(cut -d' ' -f1 /proc/loadavg)); measuring anyway"; return; fi
    [ $waited -eq 0 ] && log "waiting for 1-min load < 0.6 (now $(cut -d' ' -f1 /proc/loadavg))"
    sleep 10; waited=$((waited + 10))
  done
}

llama="$("$root/scripts/llama-cpp-build.sh")/llama-bench"
log "building mote (release)"
(cd "$root" && cargo build --release -q -p mote-cli) >&2
mote="${CARGO_TARGET_DIR:-$root/target}/release/mote"
models=()
for m in $MODELS; do models+=("$(model_path "$m")"); done

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
n=0
for round in $(seq 1 "$ROUNDS"); do
  for model in "${models[@]}"; do
    for t in $THREADS; do
      sides="llama mote"
      [ $((round % 2)) = 0 ] && sides="mote llama"
      for side in $sides; do
        wait_idle
        n=$((n + 1))
        f="$raw/$n.$side"
        load=$(cut -d' ' -f1 /proc/loadavg)
        if [ $side = llama ]; then
          /usr/bin/time -v -o "$f.time" "$llama" -m "$model" -t "$t" -p "$TOKENS" -n "$TOKENS" -r "$REPS" -o json > "$f.json" 2>/dev/null
        else
          /usr/bin/time -v -o "$f.time" "$mote" bench --model "$model" --threads "$t" \
            --prompt-tokens "$TOKENS" --gen-tokens "$TOKENS" --reps "$REPS" --json > "$f.json" 2>/dev/null
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$side" "$model" "$t" "$load" "$f" >> "$raw/index"
        log "round $round: $side $(basename "$model") t=$t done (load was $load)"
      done
    done
  done
done

mkdir -p "$(dirname "$OUT")"
python3 "$root/scripts/bench_report.py" --index "$raw/index" --out "$OUT" --html "${OUT%.json}.html" \
  --tokens "$TOKENS" --bw "1=$BW_1,2=$BW_2" --icount "$ICOUNT" \
  --llama-flags "scripts/llama-cpp-build.sh: GGML_NATIVE=ON, AMX off, static, CPU only"
