"""Draw the app's PNG icons (a white diamond on the accent blue) with the standard library.

Run once after changing the design: `python3 scripts/make_icons.py`; the PNGs are committed
(static/icons/). "any" icons fill the square with rounded corners; the maskable one is full
bleed with the mark inside the central 80 % circle that every launcher mask keeps.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
BLUE = (0x2F, 0x6F, 0xED)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis, for smooth edges


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG from raw rows (no filter)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def coverage(inside, x: int, y: int) -> float:
    """Share of the pixel (x, y) for which `inside(u, v)` holds (u, v in pixels)."""
    hits = 0
    for i in range(SAMPLES):
        for j in range(SAMPLES):
            hits += inside(x + (i + 0.5) / SAMPLES, y + (j + 0.5) / SAMPLES)
    return hits / (SAMPLES * SAMPLES)


def icon(size: int, mark: float, corner: float) -> bytes:
    """`mark`: the diamond's half-diagonal as a share of the size; `corner`: the radius of
    the background's rounded corners as a share of the size (0 = full bleed)."""
    centre = size / 2
    radius = corner * size

    def background(u: float, v: float) -> bool:
        if radius == 0:
            return True
        dx = max(radius - u, 0, u - (size - radius))
        dy = max(radius - v, 0, v - (size - radius))
        return dx * dx + dy * dy <= radius * radius

    def diamond(u: float, v: float) -> bool:
        return abs(u - centre) + abs(v - centre) <= mark * size

    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            bg = coverage(background, x, y)
            fg = coverage(diamond, x, y)
            colour = [round(b + (w - b) * fg) for b, w in zip(BLUE, WHITE, strict=True)]
            row += bytes(colour) + bytes([round(255 * bg)])
        rows.append(bytes(row))
    return png(size, size, rows)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (ICONS / f"icon-{size}.png").write_bytes(icon(size, mark=0.3, corner=0.18))
    (ICONS / "icon-maskable-512.png").write_bytes(icon(512, mark=0.22, corner=0))
    print(f"wrote the icons in {ICONS}")


if __name__ == "__main__":
    main()
