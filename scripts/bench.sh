#!/usr/bin/env bash
# Mote vs llama.cpp on the two real models, interleaved run by run so drift in
# machine load hits both sides alike.
#
# Usage: scripts/bench.sh [--rounds N] [--reps N] [--threads "1 2"] [--tokens N]
#                         [--out bench-results.json] [--no-wait]
#
# llama.cpp is built once from the llama.cpp vendored in the PyPI sdist
# llama-cpp-python==$LLAMA_PY_VERSION into ~/.cache/mote/llama.cpp-$LLAMA_PY_VERSION
# (only the llama-bench target, CPU backend, llama.cpp's default GGML_NATIVE=ON,
# i.e. compiled for this very CPU). Mote is the ordinary release build: generic
# x86-64 baseline, SIMD picked at run time.
#
# Each round runs llama-bench and `mote bench --json` once per model and thread
# count (order alternating between rounds), each under /usr/bin/time -v for
# peak RSS. Prints a table with Mote/llama.cpp ratios, the decode bandwidth
# ceiling, and writes everything to --out.
set -euo pipefail

LLAMA_PY_VERSION=0.3.36
ROUNDS=3
REPS=3
THREADS="1 2"
TOKENS=128
OUT=bench-results.json
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
    --no-wait) WAIT=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$HOME/.cache/mote/llama.cpp-$LLAMA_PY_VERSION"
LLAMA_FLAGS="-DGGML_NATIVE=ON -DGGML_CPU=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release"
log() { echo "bench.sh: $*" >&2; }

build_llama_bench() {
  if [ -x "$cache/bin/llama-bench" ]; then return; fi
  log "building llama-bench from llama-cpp-python==$LLAMA_PY_VERSION (one-off, several minutes)"
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$tmp" "llama-cpp-python==$LLAMA_PY_VERSION" >&2
  tar xzf "$tmp"/llama_cpp_python-$LLAMA_PY_VERSION.tar.gz -C "$tmp"
  local src="$tmp/llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp"
  # shellcheck disable=SC2086
  cmake -S "$src" -B "$tmp/build" $LLAMA_FLAGS -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
  cmake --build "$tmp/build" --target llama-bench -j "$(nproc)" >&2
  mkdir -p "$cache/bin"
  cp "$tmp/build/bin/llama-bench" "$cache/bin/"
  echo "$LLAMA_FLAGS" > "$cache/FLAGS"
  rm -rf "$tmp"
}

wait_idle() {
  [ "$WAIT" = 1 ] || return 0
  local waited=0
  while awk '{exit !($1 >= 0.6)}' /proc/loadavg; do
    if [ $waited -ge 900 ]; then log "machine still busy after 15 min (load $(cut -d' ' -f1 /proc/loadavg)); measuring anyway"; return; fi
    [ $waited -eq 0 ] && log "waiting for 1-min load < 0.6 (now $(cut -d' ' -f1 /proc/loadavg))"
    sleep 10; waited=$((waited + 10))
  done
}

build_llama_bench
log "building mote (release)"
(cd "$root" && cargo build --release -q -p mote-cli) >&2
mote="$root/target/release/mote"
llama="$cache/bin/llama-bench"
mapfile -t models < <("$root/scripts/fetch-models.sh" all | awk '{print $2}')

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

python3 "$root/scripts/bench_report.py" --index "$raw/index" --out "$OUT" --tokens "$TOKENS" \
  --bw "1=$BW_1,2=$BW_2" --llama-flags "$(cat "$cache/FLAGS" 2>/dev/null || echo "$LLAMA_FLAGS")"

"$root/scripts/icount-aarch64.sh" || true
