#!/usr/bin/env python3
"""Seed rule of rust/testdata/vectors/synthetic/README.md: prints the first numpy seed
>= START for which every greedy step of the 4 reference prompts has a top-1/top-2
logit margin >= MIN (default 0.02) in both the f32 and the q8_0 variant, with default
llama.cpp settings (F16 KV cache, flash attention auto), as computed by mote-reference.

Run it with the synthetic venv's python (gguf + numpy):
  ~/.cache/mote/venv-synthetic/bin/python scripts/reference/find_seed.py \
      SMOLLM2_GGUF BIN_DIR NAME [START=1001] [MIN=0.02]
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "rust/testdata/vectors/synthetic"))
sys.path.insert(0, str(ROOT / "scripts/reference"))
import make_synthetic  # noqa: E402
import make_references  # noqa: E402


def main():
    smol, bindir, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    start = int(sys.argv[4]) if len(sys.argv) > 4 else 1001
    min_margin = float(sys.argv[5]) if len(sys.argv) > 5 else 0.02
    tok = make_synthetic.read_tokenizer(smol)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(start, start + 1000):
            cfg = dict(make_synthetic.CONFIGS[name], seed=seed)
            files = make_synthetic.build(name, cfg, tok, Path(tmp))
            margins = []
            for f in files:
                rows = make_references.mote_reference(bindir, f, alt=False)
                margins.append(min(make_references.step_stats(r)["margin"]
                                   for row in rows for r in row["greedy"]))
            print(f"{name} seed {seed}: min margin f32 {margins[0]:.4g} q8_0 {margins[1]:.4g}",
                  file=sys.stderr, flush=True)
            if min(margins) >= min_margin:
                print(seed)
                return


if __name__ == "__main__":
    main()
