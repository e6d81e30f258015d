#!/usr/bin/env python3
"""Writes ggml_dequant.bin: blocks of Q2_K, Q3_K, IQ4_NL, IQ4_XS and BF16 with
the f32 values gguf-py (ggml's own Python package) dequantizes them to.
tests/ggml_vectors.rs checks mote-kernels' scalar reference against it bit
for bit.

Regenerate (deterministic; the output must not change unless this script does):

    ~/.cache/mote/venv-synthetic/bin/python rust/kernels/tests/vectors/make_ggml_vectors.py

(a venv with gguf==0.19.0 numpy==2.4.6).

gguf-py can dequantize all five types but quantize only BF16, so the other
blocks are random bytes (every code, scale and hmask bit pattern occurs) with
finite f16 super-scales of both signs, including zero and subnormals. BF16
rows come from f32 values that gguf-py rounds (its copy of ggml's
fp32_to_bf16), and the f32 inputs are stored too so the Rust side can check
its rounding; one BF16 section holds specials (±0, ±inf, NaN, subnormals).

File layout, all little-endian:
    b"MOTEGGV1", u32 section count, then per section:
    u32 ggml type id, u32 block count, u32 bytes per block, u32 value count,
    u32 source count (0 or value count),
    block bytes, value count × f32 expected, source count × f32 inputs.
"""
import os
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

rng = np.random.default_rng(20261202)


def f16_scales(n):
    """Finite f16 scales: mostly ±[1e-4, 0.1), plus zero, a subnormal and a large one."""
    s = (rng.uniform(1e-4, 0.1, n) * rng.choice([-1.0, 1.0], n)).astype(np.float16)
    specials = np.array([0.0, 6e-8, -3e-5, 60000.0], dtype=np.float16)
    s[: min(n, len(specials))] = specials[: min(n, len(specials))]
    rng.shuffle(s)
    return s


def random_blocks(qtype, n_blocks, f16_offsets):
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    for off in f16_offsets:
        blocks[:, off:off + 2] = f16_scales(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks


sections = []


def add(qtype, blocks, sources=None):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    assert blocks.dtype == np.uint8 and blocks.shape[1] % type_size == 0
    expected = quants.dequantize(blocks, qtype).astype(np.float32).reshape(-1)
    src = np.zeros(0, np.float32) if sources is None else sources.astype(np.float32).reshape(-1)
    sections.append((int(qtype), blocks, expected, src))


# Byte offsets of the f16 fields (see ggml-common.h).
add(T.Q2_K, random_blocks(T.Q2_K, 8, [80, 82]))
add(T.Q3_K, random_blocks(T.Q3_K, 8, [108]))
add(T.IQ4_NL, random_blocks(T.IQ4_NL, 32, [0]))
add(T.IQ4_XS, random_blocks(T.IQ4_XS, 8, [0]))

# BF16, 32 values to a Mote block: ordinary values over a wide exponent range...
x = (rng.standard_normal(1024) * np.exp2(rng.integers(-20, 20, 1024))).astype(np.float32)
add(T.BF16, quants.quantize(x, T.BF16).reshape(-1, 64), x)
# ...and specials; ties that round to even; values that round up into the exponent.
sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-45, 3.4e38, 3.3961776e38,
               1.00390625, 1.01171875, -1.00390625, 1.0 + 2**-8 + 2**-20, 2**-126, 1.9999999, 65504.0],
              dtype=np.float32)
sp = np.concatenate([sp, (rng.standard_normal(16) * 1e-39).astype(np.float32)])
add(T.BF16, quants.quantize(sp, T.BF16).reshape(-1, 64), sp)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ggml_dequant.bin")
with open(out, "wb") as f:
    f.write(b"MOTEGGV1")
    f.write(struct.pack("<I", len(sections)))
    for tid, blocks, expected, src in sections:
        f.write(struct.pack("<5I", tid, blocks.shape[0], blocks.shape[1], expected.size, src.size))
        f.write(blocks.tobytes())
        f.write(expected.astype("<f4").tobytes())
        f.write(src.astype("<f4").tobytes())
print(f"wrote {out} ({os.path.getsize(out)} bytes, {len(sections)} sections)")
