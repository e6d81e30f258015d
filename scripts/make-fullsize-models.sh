#!/usr/bin/env bash
# Full-size synthetic models: random-weight GGUFs with the exact tensor shapes of
# Qwen3-0.6B, Llama-3.2-1B and Llama-3.2-3B (real vocabularies), in Q4_0 and
# Q4_K_M. Speed and memory do not depend on the weights' values, so these give
# realistic figures for the sizes apps ship; their output is gibberish.
#
#   1. scripts/fullsize/make_fullsize.py writes an F16 file (numpy seed fixed per
#      model, std 0.02, norms 1.0; shapes and their config.json sources are in it),
#      using gguf==0.19.0 + numpy==2.4.6 in ~/.cache/mote/venv-synthetic;
#   2. llama-quantize from the llama-cpp-python==0.3.36 source package
#      (scripts/llama-cpp-build.sh) makes Q4_0 and Q4_K_M from it, no imatrix;
#   3. the F16 file is deleted unless KEEP_F16=1.
#
# Output: $MOTE_FULLSIZE_DIR (default ~/.cache/mote/fullsize)/fullsize-<name>.<q>.gguf.
# Cached: a file is rebuilt only when its inputs (make_fullsize.py, the
# vocabulary, gguf/numpy versions, the llama-quantize build) change; each file
# has a .key beside it.
# Needs about 6.5 GB for all six files, plus the F16 of one model (up to 6.4 GB)
# while it is quantized.
#
# Usage: scripts/make-fullsize-models.sh [NAME...]   names: qwen3-0.6b llama3.2-1b llama3.2-3b
#        env QUANTS="Q4_0 Q4_K_M", KEEP_F16=1, JOBS=2 (llama-quantize threads)
# Prints one "<name> <QUANT> <path>" line per file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
out="${MOTE_FULLSIZE_DIR:-$cache/fullsize}"
venv="$cache/venv-synthetic"
py="$root/scripts/fullsize/make_fullsize.py"
quants=(${QUANTS:-Q4_0 Q4_K_M})
jobs=${JOBS:-2}
log() { echo "make-fullsize-models: $*" >&2; }

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import gguf, numpy' 2>/dev/null; then
  log "creating $venv (gguf==0.19.0, numpy==2.4.6)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check gguf==0.19.0 numpy==2.4.6 >&2
fi
mapfile -t all < <("$venv/bin/python" "$py" --list | cut -d' ' -f1)
if [ $# -gt 0 ]; then names=("$@"); else names=("${all[@]}"); fi

bin=$("$root/scripts/llama-cpp-build.sh")
mkdir -p "$out"

for name in "${names[@]}"; do
  vname=$("$venv/bin/python" "$py" --list | awk -v n="$name" '$1 == n {print $2}')
  [ -n "$vname" ] || { log "unknown model '$name' (known: ${all[*]})"; exit 1; }
  vocab=$("$root/scripts/make-vocabs.sh" "$vname" | awk '{print $2}')
  f16="$out/fullsize-$name.f16.gguf"
  # Everything that determines the F16 file, then each quantized one.
  f16_key=$( { cat "$py"; sha256sum < "$vocab"; echo "$name";
               "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("gguf"), m.version("numpy"))'; } \
             | sha256sum | cut -d' ' -f1)
  for q in "${quants[@]}"; do
    lq=$(echo "$q" | tr A-Z a-z)
    dst="$out/fullsize-$name.$lq.gguf"
    key=$(printf '%s\n' "$f16_key" "$(cat "$(dirname "$bin")/tools.key")" "$q" | sha256sum | cut -d' ' -f1)
    if [ -f "$dst" ] && [ -f "$dst.key" ] && [ "$(cat "$dst.key")" = "$key" ]; then
      echo "$name $q $dst"; continue
    fi
    if ! { [ -f "$f16" ] && [ -f "$f16.key" ] && [ "$(cat "$f16.key")" = "$f16_key" ]; }; then
      log "writing $f16"
      rm -f "$f16" "$f16.key"
      "$venv/bin/python" "$py" "$name" "$vocab" "$f16" >&2
      echo "$f16_key" > "$f16.key"
    fi
    log "llama-quantize $name -> $q"
    rm -f "$dst" "$dst.key"
    "$bin/llama-quantize" "$f16" "$dst.tmp" "$q" "$jobs" > "$out/.quantize-$name.$lq.log" 2>&1 \
      || { log "llama-quantize failed, see $out/.quantize-$name.$lq.log"; exit 1; }
    mv "$dst.tmp" "$dst"
    echo "$key" > "$dst.key"
    echo "$name $q $dst"
  done
  if [ "${KEEP_F16:-0}" != 1 ] && [ -f "$f16" ]; then
    log "removing $f16 (KEEP_F16=1 keeps it)"
    rm -f "$f16" "$f16.key"
  fi
done
