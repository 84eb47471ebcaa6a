"""Targets per BPJS branch office or region, metric and year (issue 20), their checks and the projection.

A target is set with `sinergi target set` / `sinergi target import FILE.csv` or uploaded on the dashboard
(analysts and auditors). It is stored in `audit.target`: append-only, the latest row per branch or region,
metric and year is the target in force (earlier rows stay as the record of who set what, when). Share metrics
(`jenis = bagian` in the catalogue) take a percentage (25 = 25%), counts a whole number, Rupiah an amount.

The table has row-level security like the marts: analysts and auditors read every target and may add one;
a province's role reads the targets of its province (regions and branches there); a branch office's role the
targets of its own branch and of the regencies/cities of its service area. Nobody updates or deletes.

Progress: a target is compared with the metric's value in December of its year (the state at the year's end;
for a branch, the sum of numerators and denominators over the regencies/cities of its service area). The
projection to December is a least-squares line through the year's months loaded so far, with a 95% prediction
interval (Student's t on the residuals; none with fewer than three months).
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row, tuple_row

from sinergi.warehouse import metrics, roles

TABLE = """
create table if not exists audit.target (
    target_id bigint generated always as identity primary key,
    branch_code text check (branch_code ~ '^[A-Z][0-9]{4}$'),
    region_code text check (region_code ~ '^(ID|[0-9]{2}|[0-9]{2}[.][0-9]{2})$'),
    province_code text,               -- the region's or branch's province: what a province's role reads
    metric text not null,
    year integer not null check (year between 2000 and 2100),
    value numeric not null check (value >= 0),
    set_by text not null,
    set_at timestamptz not null default now(),
    source text,
    check ((branch_code is null) <> (region_code is null))
);
comment on table audit.target is
    'Targets per branch office or region, metric and year; append-only, the latest row per key is in force.';
create index if not exists target_key on audit.target (coalesce(branch_code, region_code), metric, year, target_id);
alter table audit.target owner to sinergi_loader;
alter table audit.target enable row level security;
drop policy if exists nasional on audit.target;
create policy nasional on audit.target for select to sinergi_analyst, sinergi_auditor using (true);
drop policy if exists tambah on audit.target;
create policy tambah on audit.target for insert to sinergi_analyst, sinergi_auditor with check (true);
drop policy if exists wilayah on audit.target;
create policy wilayah on audit.target for select to sinergi_regional
    using (province_code in (select access.visible_provinces()));
drop policy if exists cabang on audit.target;
create policy cabang on audit.target for select to sinergi_branch
    using (branch_code in (select access.visible_branches()) or region_code in (select access.visible_regencies()));
grant usage on schema audit to sinergi_analyst, sinergi_regional, sinergi_branch;
grant select on audit.target to sinergi_analyst, sinergi_auditor, sinergi_regional, sinergi_branch;
grant insert (branch_code, region_code, province_code, metric, year, value, set_by, source)
    on audit.target to sinergi_analyst, sinergi_auditor;
"""
COLUMNS = ("cabang", "wilayah", "metrik", "tahun", "nilai")  # the CSV's header
MAX_ROWS = 10_000
MAX_COUNT = 1e12  # a count or an amount above this is a typing slip, not a target
BRANCH = re.compile(r"^[A-Z][0-9]{4}$")

# The latest target per branch or region, metric and year (what is in force), with the region's name.
IN_FORCE = """
select distinct on (coalesce(t.branch_code, t.region_code), t.metric, t.year)
    t.target_id, t.branch_code, t.region_code, r.region_name, t.province_code, t.metric, t.year, t.value,
    t.set_by, t.set_at
from audit.target as t
left join marts.dim_region as r on r.region_code = t.region_code
where (%(year)s::int is null or t.year = %(year)s)
order by coalesce(t.branch_code, t.region_code), t.metric, t.year, t.target_id desc
"""
# Each month's figure of a region, or of a branch as the sum over the regencies/cities of its service area.
ACTUALS = """
select to_char(m.as_of, 'YYYY-MM') as bulan, m.metric, m.region as scope, m.numerator, m.denominator
from marts.fct_metrics as m
where m.breakdown = '' and extract(year from m.as_of) = %(year)s and m.region = any(%(regions)s)
union all
select to_char(m.as_of, 'YYYY-MM'), m.metric, a.branch_code, sum(m.numerator), sum(m.denominator)
from marts.fct_metrics as m
join marts.dim_branch_area as a on a.regency_code = m.region
where m.breakdown = '' and extract(year from m.as_of) = %(year)s and a.branch_code = any(%(branches)s)
group by 1, 2, 3
"""


class TargetRefused(ValueError):
    """Targets that are not stored, with every reason (in Bahasa Indonesia)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Target ditolak, tidak ada yang disimpan:\n" + "\n".join(problems))


@dataclass(frozen=True)
class Target:
    branch: str | None
    region: str | None
    metric: str
    year: int
    value: float

    @property
    def scope(self) -> str:
        return self.branch or self.region or ""


@dataclass(frozen=True)
class Known:
    """What a target may name: the warehouse's regions, branches and years."""
    regions: set[str]
    branches: dict[str, str]  # branch -> province
    years: range


def _number(text: str) -> float | None:
    """`25`, `25,5` or `25.5` (no thousands separator) -> float; None if it is not one such number."""
    text = (text or "").strip().replace(" ", "")
    if not re.fullmatch(r"-?[0-9]+([.,][0-9]+)?", text):
        return None
    return float(text.replace(",", "."))


def check(branch: str | None, region: str | None, metric: str, year: str | int, value: str | float,
          known: Known) -> tuple[Target | None, list[str]]:
    """One target, or the reasons it is refused (Bahasa)."""
    problems = []
    branch = (branch or "").strip().upper() or None
    region = (region or "").strip() or None
    metric = (metric or "").strip()
    if bool(branch) == bool(region):
        problems.append("isi kantor cabang atau wilayah, salah satu saja")
    elif branch and branch not in known.branches:
        problems.append(f"kantor cabang {branch} tidak dikenal")
    elif region and region not in known.regions:
        problems.append(f"wilayah {region} tidak dikenal (pakai kode Kemendagri: ID, 35 atau 35.78)")
    if metric not in metrics.KINDS:
        problems.append(f"metrik {metric or '(kosong)'} tidak dikenal (yang ada: {', '.join(metrics.KINDS)})")
    year_text = str(year).strip()
    if not re.fullmatch(r"[0-9]{4}", year_text) or int(year_text) not in known.years:
        problems.append(f"tahun {year_text or '(kosong)'} di luar tahun gudang data "
                        f"({known.years.start}–{known.years.stop - 1})")
    number = value if isinstance(value, (int, float)) else _number(value)
    kind = metrics.KINDS.get(metric)
    if number is None or (isinstance(number, float) and math.isnan(number)):
        problems.append(f"nilai {value!r} bukan angka (pakai mis. 25 atau 25,5, tanpa pemisah ribuan)")
    elif kind == "bagian" and not 0 < number <= 100:
        problems.append(f"nilai {fmt_value(number)} di luar 0–100 (metrik {metric} berupa persentase)")
    elif kind == "jumlah" and (number < 0 or number != int(number) or number > MAX_COUNT):
        problems.append(f"nilai {fmt_value(number)} harus bilangan bulat 0 atau lebih (metrik {metric} berupa jumlah)")
    elif kind == "rupiah" and not 0 <= number <= MAX_COUNT * 1000:
        problems.append(f"nilai {fmt_value(number)} di luar rentang (metrik {metric} dalam Rupiah)")
    if problems:
        return None, problems
    return Target(branch, region, metric, int(year_text), float(number)), []


def fmt_value(number: float) -> str:
    return f"{number:g}".replace(".", ",")


def parse_csv(text: str, known: Known) -> list[Target]:
    """Every row of a targets file, or TargetRefused with each bad row's line and reasons."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=_delimiter(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if set(header) != set(COLUMNS):
        raise TargetRefused([f"baris 1: kolom harus {', '.join(COLUMNS)} (ada: {', '.join(header) or 'tidak ada'})"])
    reader.fieldnames = header
    targets, problems, seen = [], [], {}
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise TargetRefused([f"berkas lebih dari {MAX_ROWS} baris"])
        if None in row or any(v is None for v in row.values()):
            problems.append(f"baris {line}: jumlah kolom tidak sesuai kepala berkas")
            continue
        if not any(v.strip() for v in row.values()):
            continue
        target, why = check(row["cabang"], row["wilayah"], row["metrik"], row["tahun"], row["nilai"], known)
        if why:
            problems.append(f"baris {line}: " + "; ".join(why))
            continue
        key = (target.scope, target.metric, target.year)
        if key in seen:
            problems.append(f"baris {line}: target ganda ({target.scope} {target.metric} {target.year}, "
                            f"juga di baris {seen[key]})")
        seen[key] = line
        targets.append(target)
    if problems:
        raise TargetRefused(problems)
    if not targets:
        raise TargetRefused(["berkas tidak memuat satu target pun"])
    return targets


def _delimiter(text: str) -> str:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


# --- the database -----------------------------------------------------------------------------------

def ensure_table(url: str) -> None:
    """Create audit.target with its policies and grants (idempotent; as the warehouse's administrator)."""
    roles.ensure(url)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('sinergi.target'))")
        conn.execute(TABLE)


def known(conn) -> Known:
    """The regions, branches and years a target may name, as the connection's role reads them."""
    cur = conn.cursor(row_factory=tuple_row)  # whatever the connection's own row factory
    regions = {r[0] for r in cur.execute("select region_code from marts.dim_region")}
    branches = dict(cur.execute("select branch_code, province_code from marts.dim_branch").fetchall())
    first, last = cur.execute("select min(extract(year from as_of))::int, max(extract(year from as_of))::int "
                               "from marts.dim_month").fetchone()
    years = range(first, last + 2) if first else range(0)
    return Known(regions, branches, years)


def store(conn, targets: list[Target], by: str, source: str, branches: dict[str, str]) -> int:
    """Insert the targets in the connection's transaction (all or none)."""
    with conn.transaction():
        for t in targets:
            province = branches.get(t.branch) if t.branch else (None if t.region == "ID" else t.region[:2])
            conn.execute("insert into audit.target (branch_code, region_code, province_code, metric, year, value, "
                         "set_by, source) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                         (t.branch, t.region, province, t.metric, t.year, t.value, by, source))
    return len(targets)


def save(url: str, targets_or_text: list[Target] | str, by: str, source: str, role: str = roles.ANALYST) -> int:
    """Check and store targets as `role` (an analyst by default): a CSV text is parsed first; any bad row
    refuses the whole lot (TargetRefused)."""
    ensure_table(url)
    with roles.connect(url, role) as conn:
        k = known(conn)
        targets = parse_csv(targets_or_text, k) if isinstance(targets_or_text, str) else targets_or_text
        return store(conn, targets, by, source, k.branches)


# --- progress and projection ------------------------------------------------------------------------

@dataclass(frozen=True)
class Projection:
    value: float             # the metric's projected value in December (share 0..1, or count)
    low: float | None        # 95% prediction interval, None with fewer than three months
    high: float | None
    months: int              # months of the year the line is fitted to


T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def project(points: list[tuple[int, float]], to_month: int = 12,
            limits: tuple[float, float | None] = (0.0, None)) -> Projection | None:
    """Least-squares line through (month number, value) of one year, read at `to_month`, with its 95%
    prediction interval (t with n-2 degrees of freedom), kept within `limits` (a share within 0..1, a count
    not below 0). One month: that value, no interval; two: the line through both, no interval."""
    fit = _line(sorted(points), to_month)
    if fit is None:
        return None
    low, high = limits

    def kept(v: float | None) -> float | None:
        if v is None:
            return None
        return max(v, low) if high is None else min(max(v, low), high)

    return Projection(kept(fit.value), kept(fit.low), kept(fit.high), fit.months)


def _line(points: list[tuple[int, float]], to_month: int) -> Projection | None:
    n = len(points)
    if n == 0:
        return None
    if n == 1:
        return Projection(points[0][1], None, None, 1)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    at = my + slope * (to_month - mx)
    if n == 2:
        return Projection(at, None, None, 2)
    residual = sum((y - (my + slope * (x - mx))) ** 2 for x, y in points)
    s = math.sqrt(residual / (n - 2))
    half = T975[n - 2] * s * math.sqrt(1 + 1 / n + (to_month - mx) ** 2 / sxx)
    return Projection(at, at - half, at + half, n)


def status(target: float, latest: float | None, projection: Projection | None) -> str:
    """`tercapai` (reached), `di_jalur` (the projection reaches it), `berisiko` (the projection falls short
    but the interval reaches it), `tertinggal` (behind), `belum_ada_data` (no figure this year)."""
    if latest is None or projection is None:
        return "belum_ada_data"
    if latest >= target:
        return "tercapai"
    if projection.value >= target:
        return "di_jalur"
    if projection.high is not None and projection.high >= target:
        return "berisiko"
    return "tertinggal"


def progress(conn, year: int | None) -> list[dict]:
    """The targets in force that the connection's role may read, each with its year's monthly figures, the
    latest, the projection and the status; share values as fractions (the target too, divided by 100)."""
    cur = conn.cursor(row_factory=dict_row)
    targets = cur.execute(IN_FORCE, {"year": year}).fetchall()
    by_year: dict[int, list[dict]] = {}
    for t in targets:
        by_year.setdefault(t["year"], []).append(t)
    figures: dict[tuple, list] = {}
    for y, group in by_year.items():
        rows = cur.execute(ACTUALS, {"year": y, "regions": [t["region_code"] for t in group if t["region_code"]],
                                     "branches": [t["branch_code"] for t in group if t["branch_code"]]}).fetchall()
        for r in rows:
            figures.setdefault((r["scope"], r["metric"], y), []).append(r)
    out = []
    for t in targets:
        share = metrics.KINDS.get(t["metric"]) == "bagian"
        goal = float(t["value"]) / 100 if share else float(t["value"])
        series = []
        for r in sorted(figures.get((t["branch_code"] or t["region_code"], t["metric"], t["year"]), []),
                        key=lambda r: r["bulan"]):
            if share and not r["denominator"]:
                continue
            value = float(r["numerator"]) / float(r["denominator"]) if share else float(r["numerator"])
            series.append((r["bulan"], value))
        fit = project([(int(b[5:7]), v) for b, v in series], limits=(0.0, 1.0 if share else None))
        latest = series[-1][1] if series else None
        out.append({**t, "share": share, "goal": goal, "series": series, "latest": latest,
                    "latest_month": series[-1][0] if series else None, "projection": fit,
                    "status": status(goal, latest, fit),
                    "gap": (goal - fit.value) if fit else None})
    order = {"tertinggal": 0, "berisiko": 1, "di_jalur": 2, "tercapai": 3, "belum_ada_data": 4}
    return sorted(out, key=lambda r: (order[r["status"]], r["year"], r["metric"], r["branch_code"] or r["region_code"]))
