"""Worklists for branch offices and Dinas Koperasi ("Daftar tindak lanjut", issue 20): who to visit to move
the Inpres 2/2021 metrics of a BPJS branch's service area or of a region, for one month.

Four sections, read from the marts `fct_worklist_*` (one row per entity a metric counts as not met):
(a) active cooperatives not covered (K1), (b) officers and staff not covered of covered cooperatives (K2;
those of uncovered cooperatives go with their cooperative in (a)), (c) mandatory-KUR facilities not covered
30 days after disbursement, per bank (K4), (d) approved licences without a valid recommendation (K3).
Ranking (`RANK_RULE`): by how many metric entities an entry moves (`weight` in the marts).

A scope is a branch (`cabang`: the regencies/cities of its service area, `marts.dim_branch_area`) or a
region (`wilayah`: `PP.KK` a regency/city, `PP` a province). Everything is read through `run(query,
params)` as the caller's database role, so row-level security decides what a regional user gets. Persons
are tokens; their names are joined for the auditor only (`names=True`, the vault view granted to the
auditor alone). Exports: XLSX laid out for printing, CSV, PDF; all text through sinergi/serve/spreadsheet.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sinergi.core import fmt, labels

from . import spreadsheet

Run = Callable[[str, dict], list[dict]]
BRANCH, REGION = "cabang", "wilayah"
REGION_CODE = re.compile(r"^\d{2}(\.\d{2})?$")
BRANCH_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
SECTIONS = labels.WORKLIST_SECTIONS  # koperasi, pengurus, kur, perizinan -> title
RANK_RULE = ("Urutan: entri yang paling banyak menggerakkan metrik lebih dulu. Koperasi belum terlindungi = 1 untuk "
             "K1 ditambah setiap pengurus/karyawannya yang belum terlindungi untuk K2 (lalu yang paling lama belum "
             "tercakup); pengurus = jumlah orang belum terlindungi di koperasi yang sama (dikunjungi bersama); KUR = "
             "jumlah fasilitas debitur yang sama (satu pendaftaran mencakup semuanya), lalu plafon terbesar; "
             "perizinan = jumlah keputusan koperasi yang sama.")


class BadScope(ValueError):
    """The scope or month asked for does not exist (the message, in Bahasa Indonesia, says what to do)."""


@dataclass(frozen=True)
class Scope:
    kind: str  # BRANCH or REGION
    code: str
    name: str = ""
    province: str | None = None  # the province a campaign of this scope belongs to

    @property
    def column(self) -> str:
        if self.kind == BRANCH:
            return "branch_code"
        return "regency_code" if "." in self.code else "province_code"

    def where(self, alias: str = "w") -> str:
        """The scope's filter on a worklist mart (the code itself is the bound parameter `cakupan`)."""
        return f"{alias}.{self.column} = %(cakupan)s"

    @property
    def slug(self) -> str:
        return f"{self.kind}_{self.code.replace('.', '')}"

    @property
    def title(self) -> str:
        if self.kind == BRANCH:
            return f"Kantor Cabang BPJS Ketenagakerjaan {self.code}" + (f" ({self.name})" if self.name else "")
        return f"{self.name or 'Wilayah'} ({self.code})"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    width: int
    kind: str = "text"  # text, int, date, rupiah, bool, token, label:<vocabulary>


def _columns(section: str, names: bool) -> list[Column]:
    person = [Column("person_id", "Token orang", 16, "token"), *([Column("nama", "Nama", 26)] if names else [])]
    region = Column("wilayah", "Kabupaten/kota", 20)
    return {
        "koperasi": [
            Column("no", "No", 5, "int"), Column("nik_koperasi", "NIK koperasi", 16),
            Column("nama_koperasi", "Nama koperasi", 30), Column("jenis_koperasi", "Jenis", 13),
            Column("alamat", "Alamat", 34), region, Column("jumlah_anggota", "Anggota", 9, "int"),
            Column("officers", "Pengurus dan karyawan", 11, "int"),
            Column("officers_not_covered", "Belum terlindungi", 11, "int"),
            Column("months_uncovered", "Bulan belum tercakup", 10, "int"),
            Column("npp", "NPP terdaftar (tidak aktif)", 16), Column("weight", "Bobot", 7, "int")],
        "pengurus": [
            Column("no", "No", 5, "int"), Column("nik_koperasi", "NIK koperasi", 16),
            Column("nama_koperasi", "Nama koperasi", 30), Column("jabatan", "Jabatan", 13),
            Column("peran", "Peran", 22, "label:peran"), *person,
            Column("is_registered", "Pernah terdaftar", 10, "bool"), region, Column("weight", "Bobot", 7, "int")],
        "kur": [
            Column("no", "No", 5, "int"), Column("bank", "Bank", 9), Column("id_fasilitas", "ID fasilitas", 18),
            Column("skema", "Skema", 12), Column("plafon", "Plafon", 15, "rupiah"),
            Column("tgl_pencairan", "Tanggal pencairan", 17, "date"), Column("batas_30_hari", "Batas 30 hari", 17, "date"),
            *person, Column("status_bpjstk", "Status menurut bank", 15), region, Column("weight", "Bobot", 7, "int")],
        "perizinan": [
            Column("no", "No", 5, "int"), Column("no_keputusan", "Nomor keputusan", 22),
            Column("nik_koperasi", "NIK koperasi", 16), Column("nama_koperasi", "Nama koperasi", 28),
            Column("jenis_layanan", "Jenis layanan", 15), Column("tgl_keputusan", "Tanggal keputusan", 17, "date"),
            Column("no_rekomendasi_bpjstk", "Rekomendasi dikutip", 20),
            Column("alasan", "Alasan", 30, "label:licensing_reason"), region, Column("weight", "Bobot", 7, "int")],
    }[section]


_MONTH = "w.as_of = to_date(%(bulan)s, 'YYYY-MM')"
_REGION_NAME = "left join marts.dim_region as r on r.region_code = w.regency_code"
_NAMES = "left join vault.person_names as n on n.nik_token = w.person_id"


def section_query(section: str, scope: Scope, names: bool = False) -> str:
    """One section's rows for the scope and month, in rank order (parameters: bulan, cakupan)."""
    name_col, name_join = (", n.nama", _NAMES) if names else ("", "")
    where = f"{_MONTH} and {scope.where()}"
    return {
        "koperasi": f"""
            select w.*, r.region_name as wilayah from marts.fct_worklist_cooperatives as w {_REGION_NAME}
            where {where}
            order by w.weight desc, w.months_uncovered desc, w.nama_koperasi, w.nik_koperasi""",
        "pengurus": f"""
            select w.*, r.region_name as wilayah{name_col} from marts.fct_worklist_officers as w {_REGION_NAME} {name_join}
            where {where} and w.cooperative_is_covered
            order by w.weight desc, w.nama_koperasi, w.nik_koperasi, w.rank_in_regency""",
        "kur": f"""
            select w.*, r.region_name as wilayah{name_col} from marts.fct_worklist_kur as w {_REGION_NAME} {name_join}
            where {where}
            order by w.bank, w.weight desc, w.plafon desc, w.tgl_pencairan, w.id_fasilitas""",
        "perizinan": f"""
            select w.*, r.region_name as wilayah from marts.fct_worklist_licences as w {_REGION_NAME}
            where {where}
            order by w.weight desc, w.nik_koperasi, w.tgl_keputusan, w.no_keputusan""",
    }[section]


def gaps_query(scope: Scope) -> str:
    """What the worklist amounts to, metric by metric: K1, K2 (distinct persons, also those of uncovered
    cooperatives), K3 and K4 entities not met; each equals denominator - numerator in fct_metrics."""
    where = f"{_MONTH} and {scope.where()}"
    return f"""
        select
            (select count(*) from marts.fct_worklist_cooperatives as w where {where}) as k1,
            (select count(distinct w.person_id) from marts.fct_worklist_officers as w where {where}) as k2,
            (select count(distinct w.person_id) from marts.fct_worklist_officers as w
             where {where} and not w.cooperative_is_covered) as k2_in_uncovered,
            (select count(*) from marts.fct_worklist_licences as w where {where}) as k3,
            (select count(*) from marts.fct_worklist_kur as w where {where}) as k4"""


MONTHS = "select to_char(as_of, 'YYYY-MM') as bulan from marts.dim_month order by 1"
BRANCHES = """
select a.branch_code, count(*) as wilayah, min(a.province_code) as province_code
from marts.dim_branch_area as a group by a.branch_code order by a.branch_code"""
BRANCH_ROW = """
select a.branch_code, min(a.province_code) as province_code,
    string_agg(coalesce(r.region_name, a.regency_code), ', ' order by a.regency_code) as regions
from marts.dim_branch_area as a left join marts.dim_region as r on r.region_code = a.regency_code
where a.branch_code = %(cakupan)s group by a.branch_code"""
REGENCIES = """
select region_code, region_name from marts.dim_region
where level <> 'provinsi' and (%(provinsi)s::text is null or province_code = %(provinsi)s) order by region_code"""
REGION_ROW = "select region_code, region_name from marts.dim_region where region_code = %(cakupan)s"


def parse(branch: str | None, region: str | None) -> Scope:
    """The scope a person asked for (exactly one of a branch code or a region code), checked for form."""
    branch, region = (branch or "").strip() or None, (region or "").strip() or None
    if bool(branch) == bool(region):
        raise BadScope("Pilih satu cakupan: kode kantor cabang (--branch KODE) atau kode wilayah (--region PP.KK).")
    if branch:
        if not BRANCH_CODE.match(branch):
            raise BadScope(f"Kode kantor cabang tidak sah: {branch[:30]!r} (huruf dan angka, misalnya K1305).")
        return Scope(BRANCH, branch.upper())
    if not REGION_CODE.match(region):
        raise BadScope(f"Kode wilayah tidak sah: {region[:30]!r}. Pakai kode Kemendagri PP.KK untuk kabupaten/kota "
                       "(misalnya 35.13) atau PP untuk provinsi (misalnya 35).")
    return Scope(REGION, region)


def resolve(run: Run, scope: Scope, bulan: str | None = None) -> Scope:
    """The scope as the warehouse knows it (with its name and province); BadScope when the branch or region
    is unknown (to this role) or the month has no data."""
    if scope.kind == BRANCH:
        found = run(BRANCH_ROW, {"cakupan": scope.code})
        if not found:
            known = [r["branch_code"] for r in run(BRANCHES, {})]
            raise BadScope(f"Kantor cabang {scope.code} tidak dikenal di gudang data (tidak ada wilayah layanan di "
                           f"marts.dim_branch_area). " + (f"Kode yang ada: {', '.join(known[:15])}"
                                                          + (" …" if len(known) > 15 else "") + "." if known else
                                                          "Gudang data belum dibangun: jalankan `sinergi build`."))
        resolved = Scope(BRANCH, scope.code, found[0]["regions"], found[0]["province_code"])
    else:
        found = run(REGION_ROW, {"cakupan": scope.code})
        if not found:
            raise BadScope(f"Wilayah {scope.code} tidak ada dalam referensi wilayah Kemendagri (atau di luar akses "
                           "peran ini). Periksa kodenya, misalnya 35.13 untuk kabupaten/kota atau 35 untuk provinsi.")
        resolved = Scope(REGION, scope.code, found[0]["region_name"], scope.code[:2])
    if bulan is not None:
        months = [r["bulan"] for r in run(MONTHS, {})]
        if bulan not in months:
            raise BadScope(f"Tidak ada data untuk bulan {bulan}. " + (f"Bulan yang tersedia: {', '.join(months)}."
                           if months else "Gudang data belum dibangun: jalankan `sinergi load` lalu `sinergi build`."))
    return resolved


@dataclass
class Worklist:
    scope: Scope
    bulan: str
    names: bool
    gaps: dict
    sections: dict[str, list[dict]] = field(default_factory=dict)

    def columns(self, section: str) -> list[Column]:
        return _columns(section, self.names)

    @property
    def title(self) -> str:
        return f"Daftar tindak lanjut {fmt.bulan(self.bulan)}"

    @property
    def subtitle(self) -> str:
        return f"{self.scope.title}"


def fetch(run: Run, scope: Scope, bulan: str, names: bool = False) -> Worklist:
    """Every section of the worklist (all rows) for a resolved scope and month."""
    params = {"bulan": bulan, "cakupan": scope.code}
    gaps = {k: int(v) for k, v in run(gaps_query(scope), params)[0].items()}
    found = Worklist(scope, bulan, names, gaps)
    for section in SECTIONS:
        rows = run(section_query(section, scope, names), params)
        found.sections[section] = [{**r, "no": i} for i, r in enumerate(rows, 1)]
    return found


def display(value, column: Column) -> str:
    """A cell as people read it (screen and PDF): Indonesian formats and Bahasa labels."""
    if value is None:
        return "–"
    kind = column.kind
    if kind == "rupiah":
        return fmt.rupiah(float(value))
    if kind == "int":
        return fmt.angka(value)
    if kind == "date":
        return fmt.tanggal(value)
    if kind == "bool":
        return "Ya" if value else "Tidak"
    if kind == "token":
        return str(value)[:12]
    if kind.startswith("label:"):
        return labels.label(kind[6:], value)
    return str(value)


def _sheet_cell(value, column: Column):
    """A cell for a spreadsheet: numbers and dates stay numbers and dates, codes become their labels."""
    if value is None:
        return None
    if column.kind == "bool":
        return "Ya" if value else "Tidak"
    if column.kind.startswith("label:"):
        return labels.label(column.kind[6:], value)
    return value


def table(worklist: Worklist, section: str) -> tuple[list[str], list[list]]:
    columns = worklist.columns(section)
    return [c.header for c in columns], [[_sheet_cell(r.get(c.field), c) for c in columns]
                                         for r in worklist.sections[section]]


def to_csv(worklist: Worklist, section: str) -> bytes:
    header, rows = table(worklist, section)
    return spreadsheet.csv_text(header, rows).encode("utf-8-sig")


def to_xlsx(worklist: Worklist) -> bytes:
    """One sheet per section, laid out to print for an event: title, scope and month on top, the header row
    repeated on every page, landscape, fit to the page's width."""
    sheets = []
    for section, title in SECTIONS.items():
        columns = worklist.columns(section)
        header, rows = table(worklist, section)
        sheets.append(spreadsheet.PrintSheet(
            name={"kur": "KUR"}.get(section, section.capitalize()), title=f"{worklist.title}: {title}",
            lines=[worklist.subtitle, f"Bulan data: {fmt.bulan(worklist.bulan)}. {len(rows)} entri. {RANK_RULE}"],
            header=header, rows=rows, widths=[c.width for c in columns],
            formats=[{"date": "DD/MM/YYYY", "rupiah": '"Rp"#,##0', "int": "#,##0"}.get(c.kind) for c in columns]))
    return spreadsheet.to_print_xlsx(sheets)


def to_html(worklist: Worklist) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from .report import TEMPLATES
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters.update(angka=fmt.angka, bulan=fmt.bulan)
    return env.get_template("daftar_tindak_lanjut.html").render(
        w=worklist, sections=SECTIONS, display=display, rank_rule=RANK_RULE)


def to_pdf(worklist: Worklist) -> bytes:
    from weasyprint import HTML

    from .report import TEMPLATES, fetcher
    return HTML(string=to_html(worklist), base_url=str(TEMPLATES), url_fetcher=fetcher()).write_pdf()


def file_stem(worklist: Worklist) -> str:
    return f"tindak_lanjut_{worklist.scope.slug}_{worklist.bulan}"


def write(worklist: Worklist, out_dir: Path, kinds=("xlsx", "csv", "pdf")) -> list[Path]:
    """Write the worklist's files; with persons' names (auditor) they are readable by their owner only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem, written = file_stem(worklist), []
    if "xlsx" in kinds:
        written.append(out_dir / f"{stem}.xlsx")
        written[-1].write_bytes(to_xlsx(worklist))
    if "csv" in kinds:
        for section in SECTIONS:
            written.append(out_dir / f"{stem}_{section}.csv")
            written[-1].write_bytes(to_csv(worklist, section))
    if "pdf" in kinds:
        written.append(out_dir / f"{stem}.pdf")
        written[-1].write_bytes(to_pdf(worklist))
    if worklist.names:
        for path in written:
            path.chmod(0o600)
    return written
