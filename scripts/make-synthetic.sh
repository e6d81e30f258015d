#!/usr/bin/env bash
# Rebuilds the tiny random-weight GGUF models of rust/testdata/vectors/synthetic
# (bit-exactly, from make_synthetic.py with pinned gguf + numpy in a venv) into
# $MOTE_SYNTHETIC_DIR (default ~/.cache/mote/synthetic) and checks each file's
# SHA-256 against its reference JSON. Prints the directory.
# Usage: scripts/make-synthetic.sh [NAME...]   (default: every model with a JSON)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vec="$root/rust/testdata/vectors/synthetic"
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
out="${MOTE_SYNTHETIC_DIR:-$cache/synthetic}"
venv="$cache/venv-synthetic"
log() { echo "make-synthetic: $*" >&2; }

if [ $# -gt 0 ]; then names=("$@"); else
  mapfile -t names < <(ls "$vec"/synthetic-*.json | sed -E 's#.*/synthetic-(.*)\.(f32|q8_0)\.json#\1#' | sort -u)
fi

sha_of_json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$1"; }
up_to_date() { # name
  local j f
  for j in "$vec/synthetic-$1".*.json; do
    f="$out/$(basename "${j%.json}").gguf"
    [ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(sha_of_json "$j")" ] || return 1
  done
}

todo=()
for n in "${names[@]}"; do up_to_date "$n" || todo+=("$n"); done
if [ ${#todo[@]} -gt 0 ]; then
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import gguf, numpy' 2>/dev/null; then
    log "creating $venv (gguf==0.19.0, numpy==2.4.6)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check gguf==0.19.0 numpy==2.4.6 >&2
  fi
  smol=$("$root/scripts/fetch-models.sh" smollm2 | awk '{print $2}')
  mkdir -p "$out"
  log "building ${todo[*]}"
  "$venv/bin/python" "$vec/make_synthetic.py" "$smol" "$out" "${todo[@]}" >&2
  rm -f "$out"/*.meta.json
  for n in "${todo[@]}"; do
    up_to_date "$n" || { log "SHA-256 mismatch for synthetic-$n (see $vec/README.md)"; exit 1; }
  done
fi
echo "$out"
