#!/usr/bin/env python3
"""Compares two reference JSONs of the same GGUF (e.g. a regenerated one against the
committed one): token ids, top-k ids, max |diff| of every logit both top-10 lists
share (teacher-forced prompt positions and greedy steps, for steps before the first
greedy divergence) and of logsumexp, PPLs, checks.
Usage: compare_references.py A.json B.json"""
import json
import sys


def cmp_rows(ra, rb, acc, key):
    for x, y in zip(ra, rb):
        acc[key + "_lse"] = max(acc.get(key + "_lse", 0.0), abs(x["logsumexp"] - y["logsumexp"]))
        da, db = dict(map(tuple, x["topk"])), dict(map(tuple, y["topk"]))
        common = set(da) & set(db)
        d = max((abs(da[i] - db[i]) for i in common), default=0.0)
        acc[key + "_logit"] = max(acc.get(key + "_logit", 0.0), d)
        acc[key + "_topk_sets_differ"] = acc.get(key + "_topk_sets_differ", 0) + (set(da) != set(db))
        acc[key + "_top1_differs"] = acc.get(key + "_top1_differs", 0) + (x["top1"] != y["top1"])
        acc[key + "_rows"] = acc.get(key + "_rows", 0) + 1


def main():
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
    print("sha256 equal:", a["sha256"] == b["sha256"])
    for setting in ("default", "alt"):
        acc = {}
        ids_equal = text_equal = 0
        for pa, pb in zip(a["prompts"], b["prompts"]):
            assert pa["prompt_token_ids"] == pb["prompt_token_ids"]
            sa = pa if setting == "default" else pa["alt_f32_kv_no_flash_attn"]
            sb = pb if setting == "default" else pb["alt_f32_kv_no_flash_attn"]
            ids_equal += sa["greedy_token_ids"] == sb["greedy_token_ids"]
            text_equal += sa["completion_text_hex"] == sb["completion_text_hex"]
            cmp_rows(sa["prompt_positions"], sb["prompt_positions"], acc, "prompt_pos")
            n = 0
            while n < 16 and sa["greedy_token_ids"][n] == sb["greedy_token_ids"][n]:
                n += 1
            # step k's logits depend on tokens < k only: compare steps 0..n (n = first divergence)
            cmp_rows(sa["greedy_steps"][:n + 1], sb["greedy_steps"][:n + 1], acc, "greedy")
        print(f"[{setting}] greedy ids equal {ids_equal}/4, completion text equal {text_equal}/4")
        for k, v in acc.items():
            print(f"  {k}: {v:.3g}" if isinstance(v, float) else f"  {k}: {v}")
    for k in ("perplexity", "perplexity_alt_f32_kv_no_flash_attn"):
        pa, pb = a[k]["ppl"], b[k]["ppl"]
        print(f"{k}: {pa} vs {pb} (rel {abs(pa - pb) / pb:.2e})")
    print("checks:", a["checks"], "|", b["checks"])
    rest = [k for k in a if k not in ("prompts", "perplexity", "perplexity_alt_f32_kv_no_flash_attn",
                                      "llama_cpp", "checks") and a[k] != b.get(k)]
    print("other top-level fields that differ:", rest)


if __name__ == "__main__":
    main()
