#!/usr/bin/env bash
# End-to-end AArch64 instruction counts: llama.cpp's llama-bench against
# `mote bench`, same GGUF, same prompt and generation lengths, 1 thread, under
# qemu-user with scripts/qemu/insn_count.c (thread-safe TCG plugin). Reports
# instructions per prefilled token and per decoded token, and Mote/llama.cpp.
#
# Counts are architectural instructions retired, not cycles: they measure how
# much work each engine does for a token, not how fast a given core runs it.
#
# What is compared
#   llama.cpp  llama-cpp-python==0.3.36's vendored copy (scripts/llama-cpp-source.sh),
#              cross-built for aarch64-linux-gnu, static, Release, no OpenMP, no
#              KleidiAI, GGML_NATIVE=OFF, other options default (REPACK and
#              LLAMAFILE on), in two variants cached under ~/.cache/mote:
#                llama.cpp-0.3.36-aarch64-dotprod-i8mm  -march=armv8.2-a+dotprod+i8mm  (qemu -cpu max)
#                llama.cpp-0.3.36-aarch64-dotprod       -march=armv8.2-a+dotprod       (qemu -cpu cortex-a76)
#   Mote       `cargo build --release -p mote-cli --target aarch64-unknown-linux-gnu`;
#              one binary, its kernels pick NEON/dotprod/i8mm at run time.
#
# Runs (each in a fresh empty working directory, -t 1 / --threads 1):
#   llama prefill  llama-bench -m M -p P -n 0 -r 1 -t 1 --no-warmup   one prompt pass of P tokens
#   llama decode   llama-bench -m M -p 0 -n N -r 1 -t 1 --no-warmup   N single-token decodes
#   mote prefill   mote bench --model M --prompt-tokens P --gen-tokens 0 --reps 1 --threads 1
#   mote decode    mote bench --model M --prompt-tokens 1 --gen-tokens N --reps 1 --threads 1
# `mote bench` always runs one unmeasured warm-up pass before its --reps passes
# (sample-apps/cli/src/commands/bench.rs: `for rep in 0..=reps`), each pass a
# fresh cache + prefill + N decodes, so with --reps 1 it executes every phase
# twice: its differences are divided by 2. llama-bench's warm-up is switched off
# with --no-warmup. Neither program samples in these runs except Mote's argmax
# over the logits (a few hundred thousand instructions per token at most).
#
# Per-token figures come from differences between lengths, which remove
# loading, weight repacking and setup: with lengths L1 < L2 < L3 (defaults
# prefill 32 64 96, decode 8 24 40), per token = (c(L3) - c(L1)) / (L3 - L1) / passes.
# Linearity: the slopes over [L1,L2] and [L2,L3] should agree within 2 % of that
# figure ("lin %" column, llama/mote; "!" marks a miss). Attention makes a
# token's cost grow with its position, so slopes rise with length; where that
# term is large the three points are also fitted exactly with
# c/passes = a + b L + q L^2: b (JSON fit_per_token_at_pos0) is a token's cost
# without context, 2q (fit_per_token_per_context_position) what each earlier
# position adds, and "ratio@pos0" compares the b's.
#
# Environment (space-separated lists):
#   ICOUNT_MODELS  smollm2 gemma3 (default), fullsize names such as qwen3-0.6b.q4_0
#                  (from scripts/make-fullsize-models.sh), or GGUF paths
#   ICOUNT_CPUS    max cortex-a76 (default)
#   ICOUNT_PHASES  prefill decode (default)
#   ICOUNT_PP / ICOUNT_TG   lengths (defaults "32 64 96" / "8 24 40"; 2 or more each)
#   ICOUNT_OUT     JSON path (default target/icount-e2e.json); results are merged
#                  into it by (cpu, model, phase), so runs can be split up
#   ICOUNT_MOTE_REV  measure this commit of Mote (e.g. HEAD), built from a git archive
#                  export in target/icount-e2e; default: the work tree as it is
#   JOBS           build parallelism (default 2)
# Single counts are cached in target/icount-e2e/runs/ (keyed by binary, model,
# cpu and arguments), so an interrupted run resumes, and a rerun only prints.
# Estimate before a long run: qemu with the plugin runs roughly 10^8 guest
# instructions per second here; see docs/perf-arm.md for measured times.
#
# Usage: scripts/icount-e2e.sh            (needs qemu-user, gcc-aarch64-linux-gnu,
#        g++-aarch64-linux-gnu, libc6-dev-arm64-cross, cmake, the Rust target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
LLAMA_PY_VERSION=${LLAMA_PY_VERSION:-0.3.36}
export LLAMA_PY_VERSION
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
jobs=${JOBS:-2}
work=target/icount-e2e
out_json=${ICOUNT_OUT:-target/icount-e2e.json}
read -r -a models <<< "${ICOUNT_MODELS:-smollm2 gemma3}"
read -r -a cpus <<< "${ICOUNT_CPUS:-max cortex-a76}"
read -r -a phases <<< "${ICOUNT_PHASES:-prefill decode}"
read -r -a pp_lens <<< "${ICOUNT_PP:-32 64 96}"
read -r -a tg_lens <<< "${ICOUNT_TG:-8 24 40}"
say() { echo "icount-e2e: $*" >&2; }

for tool in qemu-aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ gcc cmake python3; do
  command -v $tool >/dev/null || { say "missing $tool (apt-get install qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross cmake)"; exit 1; }
done
qemu-aarch64 -h 2>&1 | grep -q -- '-plugin' || { say "this qemu-aarch64 has no TCG plugin support"; exit 1; }
mkdir -p "$work/runs"

# ---- the plugin -------------------------------------------------------------
plugin="$work/insn_count.so"
gcc -shared -fPIC -O2 -o "$plugin.tmp" scripts/qemu/insn_count.c && mv "$plugin.tmp" "$plugin"

# ---- llama.cpp for aarch64 (two -march variants), cached ----------------------
llama_bin() { # variant march -> prints path of llama-bench
  local variant=$1 march=$2
  local dir="$cache/llama.cpp-$LLAMA_PY_VERSION-aarch64-$variant"
  local args=(
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64
    -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++
    -DCMAKE_FIND_ROOT_PATH=/usr/aarch64-linux-gnu
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
    -DCMAKE_EXE_LINKER_FLAGS=-static
    -DBUILD_SHARED_LIBS=OFF
    -DGGML_NATIVE=OFF "-DGGML_CPU_ARM_ARCH=$march"
    -DGGML_OPENMP=OFF -DGGML_CPU_KLEIDIAI=OFF
    -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENCL=OFF -DGGML_SYCL=OFF -DGGML_RPC=OFF
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF
  )
  local key
  key=$(printf '%s\n' "$LLAMA_PY_VERSION" "${args[@]}" "$(aarch64-linux-gnu-gcc --version | head -1)" | sha256sum | cut -d' ' -f1)
  if [ -x "$dir/bin/llama-bench" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
    echo "$dir/bin/llama-bench"; return
  fi
  local src
  src=$(scripts/llama-cpp-source.sh)
  say "building llama-bench for aarch64 ($march) in $dir/build (-j$jobs)"
  rm -f "$dir/key"
  mkdir -p "$dir/bin"
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$src" -B "$dir/build" "${gen[@]}" "${args[@]}" > "$dir/configure.log" 2>&1 \
    || { say "cmake configure failed, see $dir/configure.log"; exit 1; }
  cmake --build "$dir/build" --target llama-bench -j "$jobs" > "$dir/build.log" 2>&1 \
    || { say "build failed, see $dir/build.log"; exit 1; }
  file "$dir/build/bin/llama-bench" | grep -q 'ARM aarch64.*statically linked' \
    || { say "llama-bench is not a static aarch64 binary: $(file "$dir/build/bin/llama-bench")"; exit 1; }
  cp "$dir/build/bin/llama-bench" "$dir/bin/llama-bench"
  echo "$key" > "$dir/key"
  echo "$dir/bin/llama-bench"
}
llama_variant() { # cpu -> variant march
  case $1 in
    max) echo "dotprod-i8mm armv8.2-a+dotprod+i8mm" ;;
    cortex-a76 | neoverse-n1) echo "dotprod armv8.2-a+dotprod" ;;
    *) say "no llama.cpp variant for -cpu $1 (max, cortex-a76)"; exit 1 ;;
  esac
}

# ---- Mote for aarch64 ------------------------------------------------------
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu >&2
cross_build() { # dir target-dir
  ( cd "$1" && CARGO_TARGET_DIR="$2" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
    cargo build -q --release -p mote-cli --target aarch64-unknown-linux-gnu -j "$jobs" >&2 )
}
if [ -n "${ICOUNT_MOTE_REV:-}" ]; then
  # A committed revision, exported with git archive (the work tree is not touched).
  rev=$(git rev-parse --verify "$ICOUNT_MOTE_REV^{commit}")
  msrc="$root/$work/mote-src-${rev:0:12}"
  if [ ! -f "$msrc/.complete" ]; then
    rm -rf "$msrc"; mkdir -p "$msrc"
    git archive "$rev" | tar -x -C "$msrc"
    touch "$msrc/.complete"
  fi
  say "building mote ${rev:0:12} for aarch64-unknown-linux-gnu (-j$jobs)"
  cross_build "$msrc" "$root/$work/mote-target"
  mote_src_bin="$root/$work/mote-target/aarch64-unknown-linux-gnu/release/mote"
  mote_rev=${rev:0:12}
else
  say "building mote (work tree) for aarch64-unknown-linux-gnu (-j$jobs)"
  tdir=${CARGO_TARGET_DIR:-$root/target}
  cross_build "$root" "$tdir"
  mote_src_bin="$tdir/aarch64-unknown-linux-gnu/release/mote"
  mote_rev="$(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD -- rust sample-apps Cargo.toml Cargo.lock || echo '+uncommitted')"
fi
mote_bin="$work/mote-aarch64"
cp "$mote_src_bin" "$mote_bin.tmp" && mv "$mote_bin.tmp" "$mote_bin"

# ---- models ----------------------------------------------------------------
source "$root/scripts/lib/models.sh"

# ---- one counted run (cached) ---------------------------------------------------
# count CPU BIN MODEL ARGS... -> instruction count
count() {
  local cpu=$1 bin=$2 model=$3; shift 3
  local key
  key=$( { sha256sum < "$bin"; sha256sum < "$plugin"; stat -c '%s %Y' "$model"; echo "$model $cpu $*"; } | sha256sum | cut -c1-24)
  local f="$work/runs/$key"
  if [ -s "$f.count" ]; then cat "$f.count"; return; fi
  local dir t0 n
  dir=$(mktemp -d "${TMPDIR:-/tmp}/icount-e2e.XXXXXX")
  t0=$(date +%s)
  ( cd "$dir" && qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu -plugin "$root/$plugin" \
      "$bin" "$@" > "$root/$f.out" 2> "$root/$f.err" ) \
    || { say "FAILED: qemu-aarch64 -cpu $cpu $bin $* (see $f.err)"; rm -rf "$dir"; exit 1; }
  rmdir "$dir" 2>/dev/null || say "note: $bin left files in its working directory $dir"
  n=$(sed -n 's/^insn_count: //p' "$f.err")
  [ -n "$n" ] || { say "no insn_count in $f.err"; exit 1; }
  say "  $(basename "$bin") -cpu $cpu $* : $n instructions, $(( $(date +%s) - t0 )) s"
  echo "$n" > "$f.count"
  echo "$n"
}

results="$work/results.tsv"
: > "$results"
for cpu in "${cpus[@]}"; do
  read -r variant march <<< "$(llama_variant "$cpu")"
  lbin=$(llama_bin "$variant" "$march")
  for m in "${models[@]}"; do
    mp=$(model_path "$m")
    for phase in "${phases[@]}"; do
      if [ "$phase" = prefill ]; then lens=("${pp_lens[@]}"); else lens=("${tg_lens[@]}"); fi
      for eng in llama mote; do
        cs=()
        for L in "${lens[@]}"; do
          case $eng/$phase in
            llama/prefill) c=$(count "$cpu" "$lbin" "$mp" -m "$mp" -p "$L" -n 0 -r 1 -t 1 --no-warmup) ;;
            llama/decode)  c=$(count "$cpu" "$lbin" "$mp" -m "$mp" -p 0 -n "$L" -r 1 -t 1 --no-warmup) ;;
            mote/prefill)  c=$(count "$cpu" "$root/$mote_bin" "$mp" bench --model "$mp" --prompt-tokens "$L" --gen-tokens 0 --reps 1 --threads 1) ;;
            mote/decode)   c=$(count "$cpu" "$root/$mote_bin" "$mp" bench --model "$mp" --prompt-tokens 1 --gen-tokens "$L" --reps 1 --threads 1) ;;
            *) say "unknown phase $phase"; exit 1 ;;
          esac
          cs+=("$c")
        done
        passes=1; [ $eng = mote ] && passes=2
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cpu" "$m" "$phase" "$eng" "$passes" \
          "${lens[*]}" "${cs[*]}" "$(basename "$mp")" >> "$results"
      done
    done
  done
done

python3 - "$results" "$out_json" "$mote_rev" "$LLAMA_PY_VERSION" <<'PY'
import datetime, json, os, sys
res_path, out_path, mote_rev, llver = sys.argv[1:5]
rows = {}
for line in open(res_path):
    cpu, model, phase, eng, passes, lens, counts, fname = line.rstrip("\n").split("\t")
    lens = [int(x) for x in lens.split()]
    cs = [int(x) for x in counts.split()]
    p = int(passes)
    per = (cs[-1] - cs[0]) / (lens[-1] - lens[0]) / p
    slopes = [(cs[i + 1] - cs[i]) / (lens[i + 1] - lens[i]) / p for i in range(len(lens) - 1)]
    lin = 100 * (max(slopes) - min(slopes)) / per if len(slopes) > 1 else None
    r = rows.setdefault((cpu, model, phase), {"cpu": cpu, "model": model, "file": fname, "phase": phase})
    r[eng] = {"lengths": lens, "counts": cs, "passes_per_run": p, "per_token": per,
              "slopes": slopes, "linearity_spread_pct": lin, "fixed_cost": cs[0] - p * per * lens[0]}
    if len(lens) == 3:
        # c(L)/passes = a + b L + q L^2 through the three points: b is the cost of a token
        # at position 0, 2q what each earlier position adds to a token (attention).
        (x0, x1, x2), (y0, y1, y2) = lens, [c / p for c in cs]
        q = ((y2 - y0) / (x2 - x0) - (y1 - y0) / (x1 - x0)) / (x2 - x1)
        b = (y1 - y0) / (x1 - x0) - q * (x0 + x1)
        r[eng]["fit_per_token_at_pos0"] = b
        r[eng]["fit_per_token_per_context_position"] = 2 * q
today = datetime.date.today().isoformat()
for r in rows.values():
    r["ratio_mote_over_llama"] = r["mote"]["per_token"] / r["llama"]["per_token"]
    if "fit_per_token_at_pos0" in r["mote"] and "fit_per_token_at_pos0" in r["llama"]:
        r["ratio_at_pos0"] = r["mote"]["fit_per_token_at_pos0"] / r["llama"]["fit_per_token_at_pos0"]
    r["date"] = today
    r["mote_rev"] = mote_rev
doc = {"results": []}
if os.path.exists(out_path):
    try:
        doc = json.load(open(out_path))
    except ValueError:
        pass
old = {(r["cpu"], r["model"], r["phase"]): r for r in doc.get("results", [])}
old.update(rows)
doc = {
    "what": "AArch64 instructions per token, llama-bench vs mote bench, qemu-user TCG plugin, 1 thread (scripts/icount-e2e.sh)",
    "llama_cpp": f"llama-cpp-python=={llver} vendored llama.cpp; -cpu max: -march=armv8.2-a+dotprod+i8mm, "
                 "-cpu cortex-a76: -march=armv8.2-a+dotprod; static, no OpenMP, no KleidiAI",
    "results": sorted(old.values(), key=lambda r: (r["cpu"], r["model"], r["phase"])),
}
os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
with open(out_path, "w") as f:
    json.dump(doc, f, indent=1)
print(f"{'cpu':<11} {'model':<22} {'phase':<8} {'llama.cpp/tok':>14} {'mote/tok':>14} {'mote/llama':>10} {'lin % (l/m)':>12} {'ratio@pos0':>10}")
for r in doc["results"]:
    l, m = r["llama"], r["mote"]
    def lin(x):
        v = x["linearity_spread_pct"]
        return "-" if v is None else f"{v:.1f}{'!' if v > 2 else ''}"
    print(f"{r['cpu']:<11} {r['model']:<22} {r['phase']:<8} {l['per_token']:>14,.0f} {m['per_token']:>14,.0f} "
          f"{r['ratio_mote_over_llama']:>10.3f} {lin(l) + '/' + lin(m):>12} "
          f"{format(r['ratio_at_pos0'], '.3f') if 'ratio_at_pos0' in r else '-':>10}")
print(f"(JSON: {out_path})")
PY
