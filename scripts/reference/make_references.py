#!/usr/bin/env python3
"""Writes the llama.cpp reference JSON of synthetic GGUF models
(rust/testdata/vectors/synthetic/<name>.json, format documented in the README there).

Usage:
  make_references.py [--bin DIR] [--out DIR] [--meta-dir DIR] MODEL.gguf [MODEL.gguf ...]

* --bin: the bin dir printed by scripts/llama-cpp-build.sh (default: run it).
* --meta-dir: where <stem>.meta.json (written by make_synthetic.py) is; default the
  GGUF's directory. If it is missing there, the config/metadata/tensors of an existing
  reference JSON of the same name in rust/testdata/vectors/synthetic are reused.
* --out: where to write <stem>.json (default: rust/testdata/vectors/synthetic).
* --check-margins: print the minimum greedy top-1 margin of both settings and write
  nothing (used to pick seeds).

Only the standard library is needed. Everything runs with 1 thread and n_ctx 512.
"""
import argparse
import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VEC = ROOT / "rust/testdata/vectors/synthetic"
PROMPTS = ["The capital of France is", "def add(a, b):\n    return", "1, 2, 3, 4,", "Hello"]
N_PREDICT = 16
TOP_K = 10
PPL_TEXT = "/usr/share/common-licenses/GPL-3"
ALT_FLAGS = ["-ctk", "f32", "-ctv", "f32", "-fa", "off"]

COMMANDS = {
    "tokenize": "llama-tokenize -m FILE -p PROMPT --ids --log-disable",
    "completion": "llama-completion -m FILE -p PROMPT -n 16 --temp 0 --ignore-eos -no-cnv "
                  "--no-display-prompt --simple-io -t 1 --seed 1 -c 512 --no-warmup </dev/null "
                  "(stdout minus its trailing \"\\n\\n\")",
    "greedy_token_ids/logits": (
        "small C++ program against libllama of the same build: llama_tokenize(add_special=true, "
        "parse_special=true); fresh context per prompt (n_ctx 512, n_batch/n_ubatch 512, 1 thread, "
        "defaults otherwise); llama_decode(llama_batch_get_one(prompt)); 16x argmax + decode(1 token). "
        "prompt_positions: separate fresh context, whole prompt in one batch with logits for every "
        "position. alt_f32_kv_no_flash_attn: the same with type_k=type_v=F32 and "
        "flash_attn_type=DISABLED (= llama-completion/-perplexity flags -ctk f32 -ctv f32 -fa off)."),
}
PPL_METHOD = (
    "text tokenized without BOS (add_bos_token=false) and without special-token parsing; split into "
    "n_chunks consecutive 128-token chunks (remainder dropped); each chunk evaluated from an empty KV "
    "cache; NLL averaged over the tokens predicted from positions 64..126 of every chunk (63 per "
    "chunk); +/- = PPL * stderr(NLL)")
NOTES = ("defaults: KV cache F16, flash attention auto (enabled on CPU), prompt decoded in one batch "
         "with logits for the last token only, then 1 token per decode")


def log(*a):
    print("make_references:", *a, file=sys.stderr, flush=True)


def run(cmd, stdin=subprocess.DEVNULL):
    env = dict(os.environ, LC_ALL="C")
    p = subprocess.run(cmd, stdin=stdin, capture_output=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n"
                         f"{p.stderr.decode(errors='replace')[-3000:]}")
    return p.stdout, p.stderr.decode(errors="replace")


# --------------------------------------------------------------------------- formatting
def g9(x):
    return float("%.9g" % x)


def g12(x):
    return float("%.12g" % x)


def f32(x):
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


def dumps(o, ind=0):
    """json.dumps(indent=1) except that lists holding only scalars stay on one line."""
    pad, pad1 = " " * ind, " " * (ind + 1)
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [f"{pad1}{json.dumps(k, ensure_ascii=False)}: {dumps(v, ind + 1)}" for k, v in o.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(o, list):
        if not o:
            return "[]"
        if all(not isinstance(v, (dict, list)) for v in o):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in o) + "]"
        return "[\n" + ",\n".join(pad1 + dumps(v, ind + 1) for v in o) + "\n" + pad + "]"
    return json.dumps(o, ensure_ascii=False)


# --------------------------------------------------------------------------- pieces
def step_stats(row):
    """row from mote-reference -> the JSON step object."""
    topk = [[int(i), g9(v)] for i, v in row["topk"]]
    margin = g9(f32(f32(row["topk"][0][1]) - f32(row["topk"][1][1])))
    return {"top1": topk[0][0], "top1_logit": topk[0][1], "margin": margin,
            "logsumexp": g12(row["logsumexp"]), "topk": topk}


def mote_reference(bindir, model, alt):
    cmd = [str(bindir / "mote-reference"), "-m", str(model), "-n", str(N_PREDICT), "-k", str(TOP_K),
           "-c", "512", "-t", "1"]
    if alt:
        cmd.append("--alt")
    for p in PROMPTS:
        cmd += ["-p", p]
    out, _ = run(cmd)
    rows = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert len(rows) == len(PROMPTS)
    return rows


def tokenize(bindir, model, prompt):
    out, _ = run([str(bindir / "llama-tokenize"), "-m", str(model), "-p", prompt, "--ids", "--log-disable"])
    m = re.search(r"\[([0-9, ]*)\]", out.decode())
    return [int(x) for x in m.group(1).replace(" ", "").split(",") if x]


def completion(bindir, model, prompt, alt):
    cmd = [str(bindir / "llama-completion"), "-m", str(model), "-p", prompt, "-n", str(N_PREDICT),
           "--temp", "0", "--ignore-eos", "-no-cnv", "--no-display-prompt", "--simple-io", "-t", "1",
           "--seed", "1", "-c", "512", "--no-warmup"] + (ALT_FLAGS if alt else [])
    out, _ = run(cmd)
    if out.endswith(b"\n\n"):
        out = out[:-2]
    return out


def perplexity(bindir, model, alt):
    cmd = [str(bindir / "llama-perplexity"), "-m", str(model), "-f", PPL_TEXT, "-c", "128", "-t", "1"] + \
        (ALT_FLAGS if alt else [])
    out, err = run(cmd)
    text = out.decode(errors="replace") + "\n" + err
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", text)
    if not m:
        raise SystemExit("no PPL in llama-perplexity output:\n" + text[-3000:])
    running = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+),", text)]
    h = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)", text)
    return dict(ppl=float(m.group(1)), ppl_plus_minus=float(m.group(2)), running=running,
                n_chunks=int(h.group(1)), n_ctx=int(h.group(2)), batch_size=int(h.group(3)),
                n_seq=int(h.group(4)), text=text)


def system_source(text):
    isa = "AVX512" if re.search(r"AVX512 = 1", text) else ("AVX2" if re.search(r"AVX2 = 1", text) else "")
    return ("llama.cpp vendored in PyPI llama-cpp-python 0.3.36, CPU build (x86_64" +
            (", " + isa if isa else "") + "), 1 thread")


def version(bindir):
    out, err = run([str(bindir / "llama-completion"), "--version"])
    t = out.decode() + err
    m = re.search(r"version: (.+)", t)
    return m.group(1).strip()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def load_meta(model, meta_dir):
    stem = model.name[:-len(".gguf")]
    p = Path(meta_dir or model.parent) / f"{stem}.meta.json"
    if p.exists():
        return json.loads(p.read_text())
    q = VEC / f"{stem}.json"
    if q.exists():
        log(f"{p} missing: reusing config/metadata/tensors of {q}")
        return json.loads(q.read_text())
    raise SystemExit(f"no {p} (run make_synthetic.py) and no {q}")


def greedy_section(row, text_bytes):
    steps = [step_stats(r) for r in row["greedy"]]
    margins = [s["margin"] for s in steps]
    return {
        "completion_text": text_bytes.decode("utf-8", errors="replace"),
        "completion_text_hex": text_bytes.hex(),
        "greedy_token_ids": [s["top1"] for s in steps],
        "greedy_min_top1_margin": min(margins),
        "greedy_top1_margins": margins,
        "greedy_steps": steps,
        "prompt_positions": [step_stats(r) for r in row["prompt_positions"]],
    }


def min_margins(bindir, model):
    res = []
    for alt in (False, True):
        rows = mote_reference(bindir, model, alt)
        res.append(min(step_stats(r)["margin"] for row in rows for r in row["greedy"]))
    return res


def make(bindir, model, meta_dir, out_dir, build_version):
    log(f"{model.name}")
    meta = load_meta(model, meta_dir)
    default_rows = mote_reference(bindir, model, False)
    alt_rows = mote_reference(bindir, model, True)
    checks = {"llama_tokenize_ids_equal_libllama_tokenize": True,
              "llama_completion_text_equals_detokenized_greedy_token_ids": True,
              "alt_f32_kv_no_flash_attn_completion_text_equals_detokenized_greedy_token_ids": True}
    prompts = []
    for prompt, drow, arow in zip(PROMPTS, default_rows, alt_rows):
        ids = tokenize(bindir, model, prompt)
        if ids != drow["prompt_token_ids"] or ids != arow["prompt_token_ids"]:
            checks["llama_tokenize_ids_equal_libllama_tokenize"] = False
        ctext = completion(bindir, model, prompt, False)
        atext = completion(bindir, model, prompt, True)
        if ctext.hex() != drow["greedy_text_hex"]:
            checks["llama_completion_text_equals_detokenized_greedy_token_ids"] = False
        if atext.hex() != arow["greedy_text_hex"]:
            checks["alt_f32_kv_no_flash_attn_completion_text_equals_detokenized_greedy_token_ids"] = False
        d = greedy_section(drow, ctext)
        a = greedy_section(arow, atext)
        del a["greedy_top1_margins"]
        entry = {"prompt": prompt, "prompt_token_ids": ids}
        entry.update(d)
        entry["alt_f32_kv_no_flash_attn"] = a
        prompts.append(entry)
    ppl = perplexity(bindir, model, False)
    ppl_alt = perplexity(bindir, model, True)
    cmd = f"llama-perplexity -m {model.name} -f {PPL_TEXT} -c 128 -t 1"
    out = {
        "file": model.name,
        "size_bytes": model.stat().st_size,
        "sha256": sha256(model),
        "architecture": meta["architecture"],
        "variant": meta["variant"],
        "numpy_seed": meta["numpy_seed"],
        "config": meta["config"],
        "llama_cpp": {
            "version": build_version,
            "source": system_source(ppl["text"]),
            "notes": NOTES,
        },
        "checks": checks,
        "prompts": prompts,
        "perplexity": {
            "command": cmd,
            "text_file": PPL_TEXT,
            "text_sha256": sha256(PPL_TEXT),
            "ppl": ppl["ppl"],
            "ppl_plus_minus": ppl["ppl_plus_minus"],
            "n_chunks": ppl["n_chunks"],
            "n_ctx": ppl["n_ctx"],
            "batch_size": ppl["batch_size"],
            "n_seq": ppl["n_seq"],
            "method": PPL_METHOD,
            "running_ppl_after_each_chunk": ppl["running"],
        },
        "perplexity_alt_f32_kv_no_flash_attn": {
            "command": cmd + " " + " ".join(ALT_FLAGS),
            "ppl": ppl_alt["ppl"],
            "ppl_plus_minus": ppl_alt["ppl_plus_minus"],
        },
        "commands": COMMANDS,
        "metadata": meta["metadata"],
        "tensors": meta["tensors"],
    }
    assert len(ppl["running"]) == ppl["n_chunks"], (len(ppl["running"]), ppl["n_chunks"])
    if not all(checks.values()):
        log(f"WARNING {model.name}: checks failed: {checks}")
    dst = Path(out_dir) / f"{model.name[:-len('.gguf')]}.json"
    dst.write_text(dumps(out) + "\n")
    log(f"wrote {dst}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--out", default=str(VEC))
    ap.add_argument("--meta-dir")
    ap.add_argument("--check-margins", action="store_true")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    bindir = Path(a.bin) if a.bin else Path(subprocess.run(
        [str(ROOT / "scripts/llama-cpp-build.sh")], check=True, capture_output=True, text=True).stdout.strip())
    if a.check_margins:
        for m in a.models:
            d, alt = min_margins(bindir, Path(m))
            print(f"{Path(m).name} {d:.6g} {alt:.6g}", flush=True)
        return
    ver = version(bindir)
    for m in a.models:
        make(bindir, Path(m), a.meta_dir, a.out, ver)


if __name__ == "__main__":
    main()
