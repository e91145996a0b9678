"""Draw color.png (192x192) and outline.png (32x32) for the Teams app, without PIL.

Run from the repository root: `.venv/bin/python manifest/teams/make_icons.py`.
The symbol is a speech bubble holding a question mark: "can I share?".
"""

from __future__ import annotations

import math
from pathlib import Path

from bot.channels.teams.manifest import png_bytes

HERE = Path(__file__).parent
ACCENT = (0x1F, 0x6F, 0xB2)
SAMPLES = 4  # supersampling per axis, for smooth edges


def in_rounded_rect(
    x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float
) -> bool:
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and x0 <= x <= x1 and y0 <= y <= y1


def in_triangle(
    x: float, y: float, a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> bool:
    def side(p: tuple[float, float], q: tuple[float, float]) -> float:
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))


def in_question_mark(x: float, y: float) -> bool:
    cx, cy, outer, inner = 0.5, 0.34, 0.15, 0.075
    d = math.hypot(x - cx, y - cy)
    angle = math.degrees(math.atan2(y - cy, x - cx))  # 0 = right, 90 = down
    hook = inner <= d <= outer and not (20 < angle < 160)
    stem = 0.462 <= x <= 0.538 and cy + inner - 0.01 <= y <= 0.55 and x >= 0.462
    joint = inner <= d <= outer and 0 <= angle <= 90 and x >= 0.5
    dot = math.hypot(x - 0.5, y - 0.63) <= 0.05
    return hook or stem or joint or dot


def symbol(x: float, y: float) -> bool:
    """True where the white symbol is, in a unit square."""
    bubble = in_rounded_rect(x, y, 0.06, 0.08, 0.94, 0.76, 0.16) or in_triangle(
        x, y, (0.22, 0.7), (0.44, 0.7), (0.18, 0.95)
    )
    return bubble and not in_question_mark(x, y)


def coverage(px: int, py: int, size: int, inset: float) -> float:
    hits = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            u = ((px + (sx + 0.5) / SAMPLES) / size - inset) / (1 - 2 * inset)
            v = ((py + (sy + 0.5) / SAMPLES) / size - inset) / (1 - 2 * inset)
            if 0 <= u <= 1 and 0 <= v <= 1 and symbol(u, v):
                hits += 1
    return hits / SAMPLES**2


def color_icon(size: int = 192) -> bytes:
    pixels = bytearray()
    for py in range(size):
        for px in range(size):
            c = coverage(px, py, size, inset=0.22)
            r, g, b = (round(ch + (255 - ch) * c) for ch in ACCENT)
            pixels += bytes((r, g, b, 255))
    return png_bytes(size, size, bytes(pixels))


def outline_icon(size: int = 32) -> bytes:
    pixels = bytearray()
    for py in range(size):
        for px in range(size):
            pixels += bytes((255, 255, 255, round(255 * coverage(px, py, size, inset=0.03))))
    return png_bytes(size, size, bytes(pixels))


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())
    print("wrote color.png and outline.png")
