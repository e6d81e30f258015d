#!/usr/bin/env python3
"""Is a Chromium screenshot a real page? Decodes the PNG with the standard
library only and measures how much is drawn: not blank, not a solid block,
some dark text, many colours. Usage: png_check.py FILE.png [MIN_DRAWN]
(exit 0 if so); MIN_DRAWN, the least share of non-white pixels, is 0.05
by default (a sparse page of tables and line charts draws less)."""
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a png"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), f"unexpected png format {depth}/{ctype}"
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pred = (a, b, (a + b) // 2, a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c))
        line[i] = (line[i] + (pred[f - 1] if f else 0)) & 255
    rows.append(bytes(line)); prev = line
pixels = [r[i:i + 3] for r in rows[::4] for i in range(0, stride, bpp * 4)]
# Shaded phases count as drawn; text and lines also have to be there.
drawn = sum(1 for p in pixels if min(p) < 240) / len(pixels)
dark = sum(1 for p in pixels if max(p) < 120) / len(pixels)
colours = len(set(pixels))
print(f"png {w}x{h}, {len(data)} bytes, {drawn:.1%} drawn, {dark:.2%} dark, {colours} colours")
min_drawn = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
sys.exit(0 if len(data) > 50_000 and min_drawn < drawn < 0.9 and dark > 0.002 and colours > 20 else 1)
