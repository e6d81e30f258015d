#!/usr/bin/env python3
"""Turns the raw runs of scripts/bench.sh into a table and bench-results.json.

Every figure is the mean over all runs of a side (each run itself averages
`--reps` repetitions). The bandwidth ceiling is the bytes decode must read per
token (weights plus the KV cache at the mean decode depth) over the machine's
DRAM read bandwidth: no decoder on this hardware can beat it.
"""
import argparse
import html
import json
import os
import re
import struct
import statistics
import sys

# ggml type id -> (elements per block, bytes per block)
GGML_BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
              8: (32, 34), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
              14: (256, 210), 30: (1, 2)}
SCALAR_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf(path):
    """Metadata scalars and (name, type, bytes) per tensor; arrays are skipped, not kept."""
    with open(path, "rb") as f:
        def rd(fmt):
            s = struct.calcsize("<" + fmt)
            return struct.unpack("<" + fmt, f.read(s))[0]

        def rstr():
            return f.read(rd("Q")).decode("utf-8", "replace")

        def value(t):
            if t == 8:
                return rstr()
            if t == 9:
                et, n = rd("I"), rd("Q")
                if et in SCALAR_FMT:
                    f.seek(n * struct.calcsize("<" + SCALAR_FMT[et]), 1)
                else:
                    for _ in range(n):
                        value(et)
                return None
            return rd(SCALAR_FMT[t])

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        rd("I")
        n_tensors, n_kv = rd("Q"), rd("Q")
        meta = {}
        for _ in range(n_kv):
            k = rstr()
            meta[k] = value(rd("I"))
        tensors = []
        for _ in range(n_tensors):
            name = rstr()
            dims = [rd("Q") for _ in range(rd("I"))]
            t = rd("I")
            rd("Q")
            n = 1
            for d in dims:
                n *= d
            be, bb = GGML_BLOCK[t]
            tensors.append((name, t, n // be * bb))
    return meta, tensors


def decode_bytes(path, depth, kv_elem_bytes):
    """Bytes read per decoded token at a KV depth of `depth` positions."""
    meta, tensors = read_gguf(path)
    arch = meta["general.architecture"]
    g = lambda k: meta[f"{arch}.{k}"]
    weights = sum(b for name, _, b in tensors)
    names = {name for name, _, _ in tensors}
    if "output.weight" in names:
        # An untied embedding table is only looked up (one row), not read whole.
        weights -= next(b for name, _, b in tensors if name == "token_embd.weight")
    head_dim = meta.get(f"{arch}.attention.key_length") or g("embedding_length") // g("attention.head_count")
    n_kv = meta.get(f"{arch}.attention.head_count_kv") or g("attention.head_count")
    n_layer = g("block_count")
    window = meta.get(f"{arch}.attention.sliding_window")
    kv = 0
    for il in range(n_layer):
        # Gemma 3: five sliding-window layers for every global one.
        local = arch == "gemma3" and window and (il + 1) % 6 != 0
        kv += 2 * n_kv * head_dim * min(depth, window if local else depth) * kv_elem_bytes
    return weights, kv


def peak_rss(time_file):
    with open(time_file) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return int(m.group(1)) * 1024 if m else None


def load_runs(index, tokens):
    runs = {}
    for line in open(index):
        side, model, threads, load, base = line.rstrip("\n").split("\t")
        key = (os.path.basename(model), int(threads))
        r = runs.setdefault(key, {"path": model}).setdefault(side, {"pp": [], "tg": [], "rss": [], "load": []})
        try:
            data = json.load(open(base + ".json"))
        except (OSError, ValueError):
            print(f"bench_report: {side} run {base} produced no JSON; skipped", file=sys.stderr)
            continue
        if side == "llama":
            for test in data:
                if test["n_prompt"] == tokens and test["n_gen"] == 0:
                    r["pp"].append(test["avg_ts"])
                elif test["n_gen"] == tokens and test["n_prompt"] == 0:
                    r["tg"].append(test["avg_ts"])
        else:
            r["pp"].append(data["prefill_tokens_per_s"])
            r["tg"].append(data["decode_tokens_per_s"])
            r.setdefault("self_rss", []).append(data["peak_rss_bytes"])
        r["rss"].append(peak_rss(base + ".time"))
        r["load"].append(float(load))
    return runs


def host_simd():
    """The wide-vector features of this CPU: a GGML_NATIVE build uses all of them."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    want = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16"]
    return " ".join(f for f in want if f in flags)


def mean(v):
    v = [x for x in v if x is not None]
    return statistics.fmean(v) if v else None


def load_icount(path):
    """The per-token instruction ratios of scripts/icount-e2e.sh, if it has run."""
    if not path or not os.path.exists(path):
        return []
    try:
        doc = json.load(open(path))
    except ValueError:
        print(f"bench_report: {path} is not JSON; no AArch64 figures", file=sys.stderr)
        return []
    return [{"cpu": r["cpu"], "model": r["model"], "phase": r["phase"], "ratio": r["ratio_mote_over_llama"],
             "mote_per_token": r["mote"]["per_token"], "llama_per_token": r["llama"]["per_token"],
             "date": r.get("date"), "mote_rev": r.get("mote_rev")} for r in doc.get("results", [])]


def svg_bars(title, items, ref=1.0):
    """A horizontal bar chart of ratios with a line at `ref` (parity)."""
    items = [(k, v) for k, v in items if v is not None]
    if not items:
        return ""
    top = max(max(v for _, v in items), ref) * 1.1
    bar_h, left, width = 18, 260, 420
    h = 30 + bar_h * len(items) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{h}" role="img">',
           f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, v) in enumerate(items):
        y = 26 + i * bar_h
        w = width * v / top
        colour = "#2a9d8f" if v >= ref else "#e76f51"
        out.append(f'<text x="4" y="{y + 13}" font-size="12">{html.escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 4}" fill="{colour}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="12">{v:.2f}</text>')
    x = left + width * ref / top
    out.append(f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{h - 14}" stroke="#333" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{x - 12:.1f}" y="{h - 2}" font-size="11">{ref:g}</text></svg>')
    return "\n".join(out)


def render_html(result):
    """One self-contained page: the table and ratio plots (no scripts, no network)."""
    rows = result["rows"]
    lab = lambda r: f"{r['model'][:30]} t={r['threads']}"
    f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
    trs = "\n".join(
        f"<tr><td>{html.escape(r['model'])}</td><td>{r['threads']}</td><td>{f(r['mote_pp'])}</td><td>{f(r['llama_pp'])}</td>"
        f"<td>{f(r['ratio_pp'], 2)}</td><td>{f(r['mote_tg'])}</td><td>{f(r['llama_tg'])}</td><td>{f(r['ratio_tg'], 2)}</td>"
        f"<td>{f(r['mote_rss'] and r['mote_rss'] / 2**20)}</td><td>{f(r['llama_rss'] and r['llama_rss'] / 2**20)}</td>"
        f"<td>{f(r['ratio_rss'], 2)}</td><td>{f(r.get('mote_tg_pct_of_ceiling'), 0)}</td></tr>" for r in rows)
    ic = result["aarch64_instructions"]
    ic_rows = "\n".join(f"<tr><td>{html.escape(r['cpu'])}</td><td>{html.escape(r['model'])}</td><td>{r['phase']}</td>"
                        f"<td>{r['mote_per_token']:,.0f}</td><td>{r['llama_per_token']:,.0f}</td><td>{r['ratio']:.3f}</td>"
                        f"<td>{html.escape(str(r.get('mote_rev')))}</td></tr>" for r in ic)
    plots = [
        svg_bars("Prefill tokens/s, Mote / llama.cpp (higher is better)", [(lab(r), r["ratio_pp"]) for r in rows]),
        svg_bars("Decode tokens/s, Mote / llama.cpp (higher is better)", [(lab(r), r["ratio_tg"]) for r in rows]),
        svg_bars("Peak RSS, llama.cpp / Mote (higher is better)",
                 [(lab(r), r["ratio_rss"] and 1 / r["ratio_rss"]) for r in rows]),
        svg_bars("AArch64 instructions per token, llama.cpp / Mote (higher is better)",
                 [(f"{r['model'][:18]} {r['cpu']} {r['phase']}", 1 / r["ratio"]) for r in ic]),
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mote vs llama.cpp</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:72em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}td:first-child{{text-align:left}}</style></head>
<body><h1>Mote vs llama.cpp</h1>
<p>Host SIMD: {html.escape(result['host_simd'])}. Mote: {html.escape(result['mote_build'])}.
llama.cpp: {html.escape(result['llama_cpp_build'])}. pp{result['tokens']} / tg{result['tokens']}; ratios are Mote / llama.cpp,
measured in the same run, interleaved.</p>
<table><tr><th>model</th><th>threads</th><th>pp Mote</th><th>pp llama</th><th>ratio</th><th>tg Mote</th><th>tg llama</th>
<th>ratio</th><th>RSS Mote MiB</th><th>RSS llama MiB</th><th>ratio</th><th>decode % of bandwidth ceiling</th></tr>
{trs}</table>
<h2>AArch64 instructions per token (qemu-aarch64, 1 thread)</h2>
{'<table><tr><th>cpu</th><th>model</th><th>phase</th><th>Mote</th><th>llama.cpp</th><th>Mote / llama.cpp</th><th>Mote rev</th></tr>' + ic_rows + '</table>' if ic else '<p>Not measured in this run (scripts/icount-e2e.sh).</p>'}
<h2>Plots</h2>
{''.join(f'<div>{p}</div>' for p in plots if p)}
</body></html>
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--bw", default="1=13.7,2=27.7")
    ap.add_argument("--llama-flags", default="")
    ap.add_argument("--html", help="also write an HTML page with plots here")
    ap.add_argument("--icount", help="scripts/icount-e2e.sh JSON to merge (AArch64 instruction ratios)")
    a = ap.parse_args()
    bw = {int(k): float(v) for k, v in (p.split("=") for p in a.bw.split(","))}
    runs = load_runs(a.index, a.tokens)

    rows = []
    for (model, threads), r in sorted(runs.items()):
        m, l = r.get("mote", {}), r.get("llama", {})
        row = {"model": model, "threads": threads}
        for k in ("pp", "tg", "rss"):
            mv, lv = mean(m.get(k, [])), mean(l.get(k, []))
            row[f"mote_{k}"], row[f"llama_{k}"] = mv, lv
            row[f"ratio_{k}"] = mv / lv if mv and lv else None
            row[f"mote_{k}_runs"], row[f"llama_{k}_runs"] = m.get(k, []), l.get(k, [])
        row["mote_self_reported_rss"] = mean(m.get("self_rss", []))
        row["max_load_during_runs"] = max(m.get("load", []) + l.get("load", []), default=None)
        # Mote decodes right after the pp prompt (depth tokens..2·tokens);
        # llama-bench's tg test starts from an empty context (depth 0..tokens).
        depth_m, depth_l = a.tokens + a.tokens // 2, a.tokens // 2
        # Both sides keep the KV cache in f16 (Mote's default since issue 11).
        w, kv_m = decode_bytes(r["path"], depth_m, 2)
        _, kv_l = decode_bytes(r["path"], depth_l, 2)
        b = bw.get(threads)
        if b:
            for side, kv, tg in (("mote", kv_m, row["mote_tg"]), ("llama", kv_l, row["llama_tg"])):
                ceil = b * 1e9 / (w + kv)
                row[f"{side}_bytes_per_token"] = w + kv
                row[f"{side}_tg_ceiling"] = ceil
                row[f"{side}_tg_pct_of_ceiling"] = 100 * tg / ceil if tg else None
        rows.append(row)

    f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
    mib = lambda v: None if v is None else v / 2**20
    print()
    print(f"Host SIMD: {host_simd()}")
    print("Mote: release build, generic x86-64 (no target-cpu), SIMD chosen at run time (AVX2+FMA on x86, plus AVX-512 VNNI prefill tiles where the CPU has them).")
    print(f"llama.cpp: llama-cpp-python sdist's vendored llama.cpp, cmake {a.llama_flags} "
          "(GGML_NATIVE=ON: compiled for this CPU), KV cache f16; llama-bench defaults otherwise.")
    print(f"pp{a.tokens} / tg{a.tokens} in tokens/s, peak RSS from /usr/bin/time -v in MiB; ratio = Mote / llama.cpp.")
    print()
    hdr = f"{'model':<36} {'thr':>3} | {'pp mote':>8} {'llama':>8} {'ratio':>5} | {'tg mote':>8} {'llama':>8} {'ratio':>5} | {'RSS mote':>8} {'llama':>8} {'ratio':>5} | load"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['model']:<36} {r['threads']:>3} | {f(r['mote_pp']):>8} {f(r['llama_pp']):>8} {f(r['ratio_pp'], 2):>5} | "
              f"{f(r['mote_tg']):>8} {f(r['llama_tg']):>8} {f(r['ratio_tg'], 2):>5} | "
              f"{f(mib(r['mote_rss'])):>8} {f(mib(r['llama_rss'])):>8} {f(r['ratio_rss'], 2):>5} | {f(r['max_load_during_runs'], 2)}")
    print()
    print("Decode vs the DRAM bandwidth ceiling (bytes read per token / read bandwidth):")
    for r in rows:
        if "mote_tg_ceiling" not in r:
            continue
        print(f"  {r['model']:<36} t={r['threads']} ({bw[r['threads']]} GB/s): "
              f"mote {r['mote_bytes_per_token'] / 1e6:.1f} MB/token -> ceiling {r['mote_tg_ceiling']:.0f} tok/s, at {f(r['mote_tg_pct_of_ceiling'], 0)} %; "
              f"llama.cpp {r['llama_bytes_per_token'] / 1e6:.1f} MB/token -> {r['llama_tg_ceiling']:.0f} tok/s, at {f(r['llama_tg_pct_of_ceiling'], 0)} %")
    result = {
        "tokens": a.tokens,
        "bandwidth_gb_s": bw,
        "host_simd": host_simd(),
        "mote_build": "release, generic x86-64, run-time ISA dispatch",
        "llama_cpp_build": f"llama-cpp-python sdist vendored llama.cpp; {a.llama_flags}",
        "rows": rows,
        "aarch64_instructions": load_icount(a.icount),
    }
    with open(a.out, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {a.out}")
    if result["aarch64_instructions"]:
        print("\nAArch64 instructions per token, Mote / llama.cpp (scripts/icount-e2e.sh):")
        for r in result["aarch64_instructions"]:
            print(f"  {r['cpu']:<11} {r['model']:<24} {r['phase']:<8} {r['ratio']:.3f}")
    if a.html:
        with open(a.html, "w") as fh:
            fh.write(render_html(result))
        print(f"wrote {a.html}")


if __name__ == "__main__":
    main()
