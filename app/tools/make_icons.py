#!/usr/bin/env python3
"""Renders public/icons/icon-192.png and icon-512.png from the same shapes
as public/icons/icon.svg, using only the standard library, so the PWA icons
can be regenerated on any machine without an image toolchain.

Run from the repository root: python3 app/tools/make_icons.py
"""
import struct
import zlib

NAVY = (0x1F, 0x3B, 0x57)
WHITE = (0xFF, 0xFF, 0xFF)
BLUE = (0x2F, 0x80, 0xC9)
PUPIL = (0x0D, 0x1B, 0x2A)


def inside_round_rect(x, y, size=512, r=96):
    cx = min(max(x, r), size - r)
    cy = min(max(y, r), size - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def inside_circle(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def color_at(x, y):
    """Colour of the 512x512 design at (x, y), or None outside the icon."""
    if not inside_round_rect(x, y):
        return None
    # The eye is the lens between two circles through (64,256), (256,120)
    # and (448,256) and its mirror image.
    if inside_circle(x, y, 256, 323.5, 203.5) and inside_circle(x, y, 256, 188.5, 203.5):
        if inside_circle(x, y, 276, 236, 14):
            return WHITE
        if inside_circle(x, y, 256, 256, 40):
            return PUPIL
        if inside_circle(x, y, 256, 256, 84):
            return BLUE
        return WHITE
    return NAVY


def render(size, samples=3):
    scale = 512 / size
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 for this scanline.
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) * scale
                    y = (py + (sy + 0.5) / samples) * scale
                    c = color_at(x, y)
                    if c is not None:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = samples * samples
            covered = acc[3] // 255
            if covered:
                row += bytes([acc[0] // covered, acc[1] // covered, acc[2] // covered, acc[3] // n])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    return b"".join(rows)


def png(size):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(render(size), 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for size in (192, 512):
        with open(f"public/icons/icon-{size}.png", "wb") as f:
            f.write(png(size))
