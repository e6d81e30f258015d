#!/usr/bin/env bash
# Fuzzes mote-core's hostile-input surfaces with cargo-fuzz (libFuzzer):
# GGUF files and the models built from them, the tokenizer, chat templates,
# session snapshots and generation settings (rust/fuzz/README.md).
#
# Usage: scripts/fuzz.sh [--long] [TARGET...]      (default: every target)
#   short (default, CI): FUZZ_SECONDS=20 per target, starting from a fresh
#     copy of the committed seeds (rust/fuzz/corpus/TARGET).
#   --long (or FUZZ_LONG=1): FUZZ_SECONDS defaults to 600, the corpus the
#     fuzzer grows is kept in $FUZZ_TARGET_DIR/corpus/TARGET for the next run,
#     and gguf_model also gets the local Gemma 3 model's header as a seed.
# Environment: FUZZ_SECONDS (per target), FUZZ_RSS_MB (2048: -rss_limit_mb
#   and -malloc_limit_mb, so a memory blow-up is a finding), FUZZ_TIMEOUT
#   (seconds one input may take, 30), FUZZ_RUNS (stop a target after this
#   many executions, e.g. 1000000, whichever of it and FUZZ_SECONDS comes
#   first; default: time only), FUZZ_TARGET_DIR (target/fuzz: a target
#   directory of its own, so the main build's cache is never invalidated;
#   scratch corpora, logs and findings go there too).
#
# Installs what it lacks: a nightly toolchain (rustup) and cargo-fuzz.
# Prints per target the executions, exec/s, peak RSS and findings; exits
# non-zero if any target found something (a crash, a leak, a timeout, an
# out-of-memory) or failed to run. Findings are written to
# $FUZZ_TARGET_DIR/artifacts/TARGET/; reproduce one with
#   CARGO_TARGET_DIR=$FUZZ_TARGET_DIR cargo +nightly fuzz run --fuzz-dir rust/fuzz TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."

long=${FUZZ_LONG:-0}
targets=()
for arg in "$@"; do
  case "$arg" in
    --long) long=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) targets+=("$arg") ;;
  esac
done
if [ "$long" = 1 ]; then seconds=${FUZZ_SECONDS:-600}; else seconds=${FUZZ_SECONDS:-20}; fi
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT:-30}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-target/fuzz}
fuzz_dir=rust/fuzz
all_targets=(gguf_model tokenizer chat_template snapshot generation_config)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# --- tools -----------------------------------------------------------------
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# --- build -----------------------------------------------------------------
start=$(date +%s)
# Every target in one cargo invocation, so shared dependencies build once.
cargo +nightly fuzz build --fuzz-dir "$fuzz_dir"
echo "fuzz targets built in $(( $(date +%s) - start )) s"

# --- run -------------------------------------------------------------------
work=$CARGO_TARGET_DIR/fuzz-run
mkdir -p "$work"
failed=0
summary=()
for t in "${targets[@]}"; do
  seeds=$fuzz_dir/corpus/$t
  [ -d "$seeds" ] || { echo "no seed corpus for $t at $seeds" >&2; exit 2; }
  if [ "$long" = 1 ]; then
    corpus=$CARGO_TARGET_DIR/corpus/$t   # grows from run to run
  else
    corpus=$work/corpus-$t               # fresh: the short run starts from the seeds alone
    rm -rf "$corpus"
  fi
  extra=$work/extra-seeds-$t
  rm -rf "$extra"
  mkdir -p "$corpus" "$extra"
  # Gemma's licence is not ours: its header is a local seed, never committed.
  # Long runs only: at 6.5 MB its mutations would take most of a short run.
  gemma=${MOTE_MODELS_DIR:-$HOME/.cache/mote/models}/gemma-3-270m-q4_k_m.gguf
  if [ "$t" = gguf_model ] && [ "$long" = 1 ] && [ -f "$gemma" ]; then
    python3 "$fuzz_dir/gguf_header.py" "$gemma" "$extra/gemma-3-270m-header"
  fi
  artifacts=$CARGO_TARGET_DIR/artifacts/$t
  rm -rf "$artifacts"
  mkdir -p "$artifacts"
  flags=()
  [ -f "$fuzz_dir/dicts/$t.dict" ] && flags+=("-dict=$fuzz_dir/dicts/$t.dict")
  # libFuzzer cuts seeds to 1 MiB unless told otherwise; real model headers are larger.
  largest=$(find "$seeds" "$extra" -type f -printf '%s\n' | sort -n | tail -1)
  [ "${largest:-0}" -gt 1048576 ] && flags+=("-max_len=$largest")
  [ -n "${FUZZ_RUNS:-}" ] && flags+=("-runs=$FUZZ_RUNS")
  log=$work/$t.log
  echo
  echo "=== fuzz $t for ${seconds}s"
  set +e
  # New inputs go to the first corpus directory only; the seeds stay untouched.
  cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" "$t" "$corpus" "$seeds" "$extra" -- \
    -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" \
    -timeout="$timeout_s" -print_final_stats=1 -artifact_prefix="$artifacts/" "${flags[@]}" \
    >"$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's final stats; after a crash only its last status line has figures.
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(stat number_of_executed_units)
  [ -n "$execs" ] || execs=$(sed -E -n 's/^#([0-9]+).*/\1/p' <<<"$last")
  rate=$(stat average_exec_per_sec)
  [ -n "$rate" ] || rate=$(sed -E -n 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$last")
  rss=$(stat peak_rss_mb)
  [ -n "$rss" ] || rss=$(sed -E -n 's/.*rss: ([0-9]+)Mb.*/\1/p' <<<"$last")
  findings=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  n=$(grep -c . <<<"$findings" || true)
  line=$(printf '%-18s executions %-9s exec/s %-6s peak RSS %4s MB  findings %s' "$t" "${execs:-?}" "${rate:-?}" "${rss:-?}" "$n")
  echo "$line"
  summary+=("$line")
  if [ "$n" -gt 0 ] || [ "$rc" -ne 0 ]; then
    failed=1
    grep -E -A12 '^(==[0-9]+==ERROR|thread .* panicked)' "$log" | head -40 || true
    echo "  libFuzzer exited with $rc; full log: $log"
    while read -r f; do
      [ -n "$f" ] && echo "  finding: $f  (reproduce: CARGO_TARGET_DIR=$CARGO_TARGET_DIR cargo +nightly fuzz run --fuzz-dir $fuzz_dir $t $f)"
    done <<<"$findings"
  fi
done

echo
echo "=== fuzz summary (${seconds}s per target, $(( $(date +%s) - start )) s in all)"
printf '%s\n' "${summary[@]}"
exit $failed
