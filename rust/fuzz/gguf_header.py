#!/usr/bin/env python3
"""Writes the header of a GGUF file: everything up to the end of its
tensor-info section (magic, version, counts, metadata, tensor infos), no
tensor data. A real model's header is a seed for the gguf_model fuzz target:
real metadata (a full vocabulary, merges, a chat template) and real tensor
tables without the weights.

Usage: gguf_header.py MODEL.gguf OUT
"""
import struct
import sys

SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def header_end(f):
    def read(n):
        b = f.read(n)
        if len(b) != n:
            raise SystemExit("truncated GGUF file")
        return b

    def u32():
        return struct.unpack("<I", read(4))[0]

    def u64():
        return struct.unpack("<Q", read(8))[0]

    def skip_value(t):
        if t in SCALAR_SIZES:
            f.seek(SCALAR_SIZES[t], 1)
        elif t == 8:
            f.seek(u64(), 1)
        elif t == 9:
            item, n = u32(), u64()
            if item in SCALAR_SIZES:
                f.seek(SCALAR_SIZES[item] * n, 1)
            else:
                for _ in range(n):
                    skip_value(item)
        else:
            raise SystemExit(f"unknown metadata type {t}")

    if read(4) != b"GGUF":
        raise SystemExit("not a GGUF file")
    if u32() not in (2, 3):
        raise SystemExit("unsupported GGUF version")
    n_tensors, n_kv = u64(), u64()
    for _ in range(n_kv):
        f.seek(u64(), 1)  # key
        skip_value(u32())
    for _ in range(n_tensors):
        f.seek(u64(), 1)  # name
        f.seek(8 * u32() + 4 + 8, 1)  # dims, type, offset
    return f.tell()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], "rb") as f:
        end = header_end(f)
        f.seek(0)
        data = f.read(end)
    with open(sys.argv[2], "wb") as out:
        out.write(data)


if __name__ == "__main__":
    main()
