"""A minimal PNG reader for the tests: grayscale or palette, 1 to 8 bits, every filter type,
no interlace (what segno writes). Gives 8-bit grayscale rows a QR decoder can take."""

from __future__ import annotations

import struct
import zlib


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(data: bytes, stride: int, height: int, bpp: int) -> list[bytearray]:
    rows, prev, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, row = data[pos], bytearray(data[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            add = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
            row[i] = (row[i] + add) & 0xFF
        rows.append(row)
        prev = row
    return rows


def read_gray(png: bytes) -> tuple[bytes, int, int]:
    """(pixels, width, height): one byte per pixel, 0 black to 255 white."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, palette = 8, b"", None
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        chunk = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert color in (0, 3) and interlace == 0
        elif kind == b"PLTE":
            palette = [chunk[i] for i in range(0, len(chunk), 3)]  # red channel: gray palettes
        elif kind == b"IDAT":
            idat += chunk
    stride = (width * depth + 7) // 8
    rows = _unfilter(zlib.decompress(idat), stride, height, max(1, depth // 8))
    out = bytearray()
    scale = 255 // ((1 << depth) - 1)
    for row in rows:
        for x in range(width):
            bit = x * depth
            value = (row[bit // 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
            out.append(palette[value] if palette is not None else value * scale)
    return bytes(out), width, height


def read_screenshot(png: bytes) -> tuple[bytes, int, int]:
    """A browser's screenshot (8-bit RGB or RGBA, no interlace) as 8-bit gray pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        chunk = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += chunk
    channels = 3 if color == 2 else 4
    rows = _unfilter(zlib.decompress(idat), width * channels, height, channels)
    out = bytearray()
    for row in rows:
        for x in range(0, width * channels, channels):
            out.append((row[x] + row[x + 1] + row[x + 2]) // 3)
    return bytes(out), width, height
