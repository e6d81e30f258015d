#!/usr/bin/env bash
# Prints the path of llama.cpp's source as vendored in the PyPI sdist
# llama-cpp-python==$LLAMA_PY_VERSION, downloading and unpacking it once into
# ~/.cache/mote. Reference tools (llama-tokenize, llama-perplexity, the
# reference-logit program) and the chat-template corpus come from it; nothing
# of it is committed.
set -euo pipefail
LLAMA_PY_VERSION=${LLAMA_PY_VERSION:-0.3.36}
cache="${MOTE_CACHE:-$HOME/.cache/mote}/llama-cpp-python-$LLAMA_PY_VERSION"
src="$cache/llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp"
if [ ! -f "$src/CMakeLists.txt" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "llama-cpp-source: downloading llama-cpp-python==$LLAMA_PY_VERSION (sdist) from PyPI" >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$tmp" "llama-cpp-python==$LLAMA_PY_VERSION" >&2
  tar xzf "$tmp/llama_cpp_python-$LLAMA_PY_VERSION.tar.gz" -C "$tmp"
  rm -rf "$cache/llama_cpp_python-$LLAMA_PY_VERSION"
  mv "$tmp/llama_cpp_python-$LLAMA_PY_VERSION" "$cache/"
fi
echo "$src"
