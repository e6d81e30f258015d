#!/usr/bin/env bash
# Writes rust/testdata/vectors/quantize/llama-quantize.sha256: the SHA-256 of
# what llama.cpp's llama-quantize (from the PyPI llama-cpp-python source, see
# llama-cpp-build.sh; no importance matrix) writes for every synthetic F32
# model and every `mote quantize` type. rust/core/tests/quantize_llamacpp.rs
# quantizes the same files with Mote and compares whole-file hashes, so CI
# needs no llama.cpp.
#
# Mote's single-type names are pure (llama-quantize --pure); Q4_K_M and
# Q5_K_M are llama.cpp's mixes (no --pure). llama-quantize's own "Q4_K" is an
# alias of Q4_K_M, so Q4_K here runs `--pure … Q4_K`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$("$root/scripts/llama-cpp-build.sh")
out="$root/rust/testdata/vectors/quantize/llama-quantize.sha256"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=(llama qwen2 qwen3 phi3 qwen3moe llama-ropefreqs phi3-partial qwen3-hd64 gemma3-scaled)
types=(Q2_K Q3_K Q4_0 Q4_1 Q4_K Q5_0 Q5_1 Q5_K Q6_K Q8_0 Q4_K_M Q5_K_M)
{
  echo "# sha256 model type (llama-quantize from llama-cpp-python==${LLAMA_PY_VERSION:-0.3.36}; scripts/reference/quantize_references.sh)"
  for m in "${models[@]}"; do
    src="$("$root/scripts/make-synthetic.sh" "$m" | tail -n 1)/synthetic-$m.f32.gguf"
    for t in "${types[@]}"; do
      pure=(--pure)
      case $t in *_M) pure=() ;; esac
      "$bin/llama-quantize" "${pure[@]}" "$src" "$tmp/q.gguf" "$t" 2 >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
      echo "$(sha256sum "$tmp/q.gguf" | cut -d' ' -f1) $m $t"
    done
  done
} >"$out"
echo "wrote $out ($(grep -vc '^#' "$out") hashes)" >&2
