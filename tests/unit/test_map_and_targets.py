"""The pure parts of issue 20's pages: the tile-grid map's layout, classes and SVG; the targets' checks and
the projection to December."""
from __future__ import annotations

import csv
import re

import pytest

from sinergi.core import settings
from sinergi.serve.web import tiles
from sinergi.warehouse import targets

REGIONS = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "ref_regions.csv"
KNOWN = targets.Known(regions={"ID", "35", "35.78", "35.13"}, branches={"K1301": "35", "K1305": "35"},
                      years=range(2024, 2026))


def _provinces() -> dict[str, str]:
    with REGIONS.open(encoding="utf-8") as f:
        return {r["region_code"]: r["region_name"] for r in csv.DictReader(f) if r["level"] == "provinsi"}


def test_every_province_has_its_own_tile_placed_roughly_where_it_lies():
    provinces = _provinces()
    assert set(tiles.PROVINCES) == set(provinces) and len(provinces) == 38
    assert len(set(tiles.PROVINCES.values())) == 38                       # no two on one square
    col = {code: c for code, (c, _) in tiles.PROVINCES.items()}
    row = {code: r for code, (_, r) in tiles.PROVINCES.items()}
    assert col["11"] < col["31"] < col["35"] < col["53"] < col["91"]      # Aceh, Jakarta, Jatim, NTT, Papua: west to east
    assert row["11"] < row["16"] < row["18"] < row["36"]                   # Sumatra runs down to Java
    assert row["71"] < row["73"] and row["64"] < row["63"]                 # Sulut above Sulsel, Kaltim above Kalsel


def test_regencies_fill_a_grid_in_code_order_wider_than_tall():
    rows = [{"region": f"35.{i:02d}", "region_name": f"R{i}", "value": i / 100} for i in range(38, 0, -1)]
    laid = tiles.grid_tiles(rows)
    assert [t.code for t in laid] == sorted(r["region"] for r in rows)
    places = {(t.column, t.row) for t in laid}
    assert len(places) == 38
    assert max(c for c, _ in places) + 1 >= max(r for _, r in places) + 1


def test_colour_classes_split_the_range_into_five_and_say_so_in_the_legend():
    limits = tiles.breaks([0.10, 0.20, 0.30, 0.50])
    assert limits == pytest.approx([0.10, 0.18, 0.26, 0.34, 0.42, 0.50])
    assert [tiles.klass(v, limits) for v in (0.10, 0.19, 0.5, None)] == ["kelas-0", "kelas-1", "kelas-4", "kosong"]
    assert tiles.legend(limits, percent=True)[0] == ("kelas-0", "10,0% – 18,0%")
    assert tiles.breaks([7.0, 7.0]) == [7.0, 7.0] and tiles.klass(7.0, [7.0, 7.0]) == "kelas-0"
    assert tiles.legend(tiles.breaks([1000, 6000]), percent=False)[-1][1] == "5.000 – 6.000"


def test_the_map_is_svg_with_a_link_per_region_and_no_script_or_inline_style():
    rows = [{"region": "35", "region_name": "Jawa Timur", "value": 0.181},
            {"region": "33", "region_name": "Jawa <Tengah>", "value": None}]
    svg = tiles.svg(tiles.province_tiles(rows), lambda code: f"/wilayah/{code}", True, "K1")
    assert svg.count("<a ") == 2 and 'href="/wilayah/35"' in svg
    assert "18,1%" in svg and "Jawa &lt;Tengah&gt;" in svg and 'class="kosong"' in svg
    assert not re.search(r"<script|<style|style=", svg)


def test_a_good_targets_file_is_read_with_percent_counts_and_either_separator():
    text = "cabang,wilayah,metrik,tahun,nilai\nk1301,,K1,2024,\"25,5\"\n,35.78,K8,2025,4000\n,ID,K7,2024,80.5\n"
    got = targets.parse_csv(text, KNOWN)
    assert got == [targets.Target("K1301", None, "K1", 2024, 25.5), targets.Target(None, "35.78", "K8", 2025, 4000.0),
                   targets.Target(None, "ID", "K7", 2024, 80.5)]
    assert targets.parse_csv("cabang;wilayah;metrik;tahun;nilai\nK1305;;K2;2024;30\n", KNOWN)[0].branch == "K1305"


def test_a_bad_targets_file_is_refused_whole_with_every_reason_in_bahasa():
    text = ("cabang,wilayah,metrik,tahun,nilai\n"
            "K1301,,K1,2024,25\n"             # good, but the file is refused as a whole
            "K9999,,K1,2024,25\n"             # unknown branch
            ",99.99,K1,2024,25\n"             # unknown region
            ",35,K42,2024,25\n"               # unknown metric
            ",35,K1,2031,25\n"                # year outside the warehouse's
            ",35,K1,2024,120\n"               # a share above 100%
            ",35,K8,2024,\"1.250,5\"\n"       # not a plain number
            ",35,K8,2024,12.5\n"              # a count that is not whole
            "K1301,35,K1,2024,25\n"           # both a branch and a region
            "K1301,,K1,2024,30\n")            # the same target twice
    with pytest.raises(targets.TargetRefused) as refused:
        targets.parse_csv(text, KNOWN)
    problems = refused.value.problems
    expected = ["baris 3: kantor cabang K9999 tidak dikenal", "baris 4: wilayah 99.99 tidak dikenal",
                "baris 5: metrik K42 tidak dikenal", "baris 6: tahun 2031 di luar tahun gudang data",
                "baris 7: nilai 120 di luar 0–100", "baris 8: nilai '1.250,5' bukan angka",
                "baris 9: nilai 12,5 harus bilangan bulat", "baris 10: isi kantor cabang atau wilayah, salah satu saja",
                "baris 11: target ganda"]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), (problem, start)
    with pytest.raises(targets.TargetRefused, match="kolom harus cabang, wilayah, metrik, tahun, nilai"):
        targets.parse_csv("region,metric\n35,K1\n", KNOWN)
    with pytest.raises(targets.TargetRefused, match="tidak memuat satu target pun"):
        targets.parse_csv("cabang,wilayah,metrik,tahun,nilai\n", KNOWN)


def test_the_projection_is_the_least_squares_line_read_at_december_with_a_95_percent_interval():
    exact = targets.project([(1, 0.10), (2, 0.12), (3, 0.14), (4, 0.16)])
    assert exact.value == pytest.approx(0.32) and exact.low == pytest.approx(0.32) and exact.months == 4
    noisy = targets.project([(1, 10.0), (2, 14.0), (3, 12.0), (4, 16.0)], limits=(-1e9, None))
    # slope 1.6, intercept 9.0: 28.2 in December; s = sqrt(7.2 / 2); t(2) = 4.303
    s = (7.2 / 2) ** 0.5
    half = 4.303 * s * (1 + 1 / 4 + (12 - 2.5) ** 2 / 5) ** 0.5
    assert noisy.value == pytest.approx(28.2)
    assert (noisy.low, noisy.high) == pytest.approx((28.2 - half, 28.2 + half))
    assert targets.project([(2, 0.2)]) == targets.Projection(0.2, None, None, 1)
    assert targets.project([(1, 0.1), (2, 0.2)]).value == pytest.approx(1.2) and targets.project([]) is None
    # A share stays within 0..100%, a count above 0, interval too.
    assert targets.project([(1, 0.1), (2, 0.2)], limits=(0.0, 1.0)).value == 1.0
    falling = targets.project([(1, 30.0), (2, 20.0), (3, 12.0)])
    assert falling.value == 0.0 and falling.low == 0.0 and falling.high > 0


@pytest.mark.parametrize("target, latest, projection, expected", [
    (0.25, 0.30, targets.Projection(0.35, None, None, 2), "tercapai"),
    (0.25, 0.20, targets.Projection(0.26, 0.20, 0.32, 3), "di_jalur"),
    (0.25, 0.20, targets.Projection(0.22, 0.15, 0.29, 3), "berisiko"),
    (0.25, 0.20, targets.Projection(0.22, 0.20, 0.24, 3), "tertinggal"),
    (0.25, 0.20, targets.Projection(0.22, None, None, 2), "tertinggal"),
    (0.25, None, None, "belum_ada_data"),
])
def test_who_is_behind(target, latest, projection, expected):
    assert targets.status(target, latest, projection) == expected
