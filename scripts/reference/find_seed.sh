#!/usr/bin/env bash
# Seed rule of rust/testdata/vectors/synthetic/README.md: prints the first numpy seed
# >= START for which every greedy step of the 4 reference prompts has a top-1 margin
# >= MIN (default 0.02) in both the f32 and the q8_0 variant (default llama.cpp
# settings; the alt-setting minimum is printed for information).
# Usage: scripts/reference/find_seed.sh NAME [START=1001] [MIN=0.02]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=$1; start=${2:-1001}; min=${3:-0.02}
cache="${MOTE_CACHE:-$HOME/.cache/mote}"
bin=$("$root/scripts/llama-cpp-build.sh")
"$root/scripts/make-synthetic.sh" >/dev/null   # ensures the venv exists
smol=$("$root/scripts/fetch-models.sh" smollm2 | awk '{print $2}')
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for ((seed = start; ; seed++)); do
  "$cache/venv-synthetic/bin/python" "$root/rust/testdata/vectors/synthetic/make_synthetic.py" \
    "$smol" "$tmp" "$name@$seed" >/dev/null
  ok=1
  while read -r file d a; do
    echo "seed $seed: $file min margin default $d alt $a" >&2
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$d" "$min" || ok=0
  done < <(python3 "$root/scripts/reference/make_references.py" --bin "$bin" --check-margins \
             "$tmp/synthetic-$name.f32.gguf" "$tmp/synthetic-$name.q8_0.gguf")
  if [ $ok = 1 ]; then echo "$seed"; exit 0; fi
done
