#!/usr/bin/env bash
# Builds the reference llama.cpp (the copy vendored in PyPI llama-cpp-python
# ==$LLAMA_PY_VERSION, see llama-cpp-source.sh) for CPU only, static, Release,
# plus our own reference-logit program scripts/reference/mote_reference.cpp,
# into ~/.cache/mote/llama.cpp-$LLAMA_PY_VERSION-ref/bin and prints that bin dir.
# Cached: if every binary is present and was built from the same inputs, it is a
# no-op. Nothing of llama.cpp is committed.
#
# GGML_NATIVE=ON, but AMX is switched off explicitly: some VMs list AMX in
# cpuid although `tilezero` raises SIGILL.
# Usage: scripts/llama-cpp-build.sh        (env: JOBS, default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
LLAMA_PY_VERSION=${LLAMA_PY_VERSION:-0.3.36}
export LLAMA_PY_VERSION
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
out="$cache/llama.cpp-$LLAMA_PY_VERSION-ref"
bin="$out/bin"
build="$out/build"
jobs=${JOBS:-2}
log() { echo "llama-cpp-build: $*" >&2; }

tools=(llama-tokenize llama-perplexity llama-completion llama-quantize llama-bench)
ref_src="$root/scripts/reference/mote_reference.cpp"
noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
cmake_args=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_NATIVE=ON
  "-DCMAKE_C_FLAGS=$noamx"
  "-DCMAKE_CXX_FLAGS=$noamx"
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENCL=OFF -DGGML_SYCL=OFF -DGGML_RPC=OFF
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF
)
# Everything that determines the llama.cpp binaries.
tools_key=$(printf '%s\n' "$LLAMA_PY_VERSION" "${cmake_args[@]}" "${tools[@]}" | sha256sum | cut -d' ' -f1)
ref_key=$( { [ -f "$ref_src" ] && cat "$ref_src"; echo "$noamx"; } | sha256sum | cut -d' ' -f1)

tools_ok() {
  [ -f "$out/tools.key" ] && [ "$(cat "$out/tools.key")" = "$tools_key" ] || return 1
  local t; for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done
}
ref_ok() { [ -x "$bin/mote-reference" ] && [ -f "$out/ref.key" ] && [ "$(cat "$out/ref.key")" = "$ref_key" ]; }

if tools_ok && ref_ok; then echo "$bin"; exit 0; fi

src=$("$root/scripts/llama-cpp-source.sh")
mkdir -p "$bin" "$build"

if ! tools_ok; then
  rm -f "$out/tools.key" "$out/ref.key"
  log "configuring $src -> $build"
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  if [ -f "$build/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}" "$build/CMakeCache.txt"; then
    rm -rf "$build"; mkdir -p "$build"
  fi
  cmake -S "$src" -B "$build" "${gen[@]}" "${cmake_args[@]}" >&2
  # llama-tokenize first: others wait for it.
  for t in "${tools[@]}"; do
    log "building $t (-j$jobs)"
    cmake --build "$build" --target "$t" -j "$jobs" >&2
    cp "$build/bin/$t" "$bin/$t"
  done
  echo "$tools_key" > "$out/tools.key"
fi

if ! ref_ok; then
  log "building mote-reference"
  libs=("$build/src/libllama.a" "$build/ggml/src/libggml.a" "$build/ggml/src/libggml-cpu.a" "$build/ggml/src/libggml-base.a")
  for l in "${libs[@]}"; do [ -f "$l" ] || { log "missing $l"; exit 1; }; done
  omp=(); grep -q '^GGML_OPENMP:BOOL=ON' "$build/CMakeCache.txt" && omp=(-fopenmp)
  g++ -std=c++17 -O2 $noamx -I"$src/include" -I"$src/ggml/include" \
    "$ref_src" -o "$bin/mote-reference.tmp" \
    -Wl,--start-group "${libs[@]}" -Wl,--end-group "${omp[@]}" -lpthread -ldl -lm >&2
  mv "$bin/mote-reference.tmp" "$bin/mote-reference"
  echo "$ref_key" > "$out/ref.key"
fi
echo "$bin"
