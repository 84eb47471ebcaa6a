"""Render the world into deliveries: one `Delivery` per file, in the sender's own layout (feeds.md).

A delivery holds typed values under logical column names; `writers` turns it into bytes the way its
sender does (separator, decimal comma, dates, title rows, trailers). Defects work on deliveries in between.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import names
from .calendar import Calendar
from .world import World, coop_status, employer_status, participant_active, shared

# Column kinds steer formatting: id and text are written as they are.
KOPERASI = dict(nik_koperasi="id", nama_koperasi="text", no_badan_hukum="text", tgl_badan_hukum="date",
                bentuk="text", jenis_koperasi="text", kelompok_koperasi="text", pola_pengelolaan="text",
                kode_wilayah="region", alamat="text", status_koperasi="text", tgl_rat_terakhir="date",
                jumlah_anggota_pria="int", jumlah_anggota_wanita="int", jumlah_manajer="int",
                jumlah_karyawan="int", nib="id", npwp="id", tgl_update="timestamp")
PENGURUS = dict(nik_koperasi="id", nik="id", nama_lengkap="text", jabatan="text", jenis_kelamin="text",
                tgl_lahir="date", tgl_mulai="date", tgl_selesai="date")
PERIZINAN = dict(no_keputusan="id", nik_koperasi="id", jenis_layanan="text", tgl_pengajuan="date",
                 tgl_keputusan="date", hasil="text", no_rekomendasi_bpjstk="id", kode_wilayah="region",
                 tgl_update="timestamp")
UMKM = dict(nib="id", nama_usaha="text", nik_pemilik="id", nama_pemilik="text", tgl_lahir_pemilik="date",
            skala_usaha="text", kbli="id", kode_wilayah="region", jumlah_tenaga_kerja="int",
            tgl_terbit_nib="date", omzet_tahunan="amount")
PESERTA = dict(kpj="id", nik="id", nama="text", tgl_lahir="date", jenis_kelamin="text", segmen="text",
               npp="id", program="text", upah="amount", pekerjaan="text", kode_wilayah="region",
               tgl_kepesertaan="date", status="text", iuran_terakhir="month")
BADAN_USAHA = dict(npp="id", nama_badan_usaha="text", npwp="id", nib="id", nik_koperasi="id", kategori="text",
                   kode_wilayah="region", tgl_daftar="date", status="text", jumlah_tk_aktif="int")
IURAN = dict(no_referensi="id", npp="id", kpj="id", periode="month", iuran_jkk="amount", iuran_jkm="amount",
             iuran_jht="amount", iuran_jp="amount", iuran_jkp="amount", total="amount", tgl_bayar="date",
             kanal="text")
KLAIM = dict(no_klaim="id", kpj="id", nik="id", program="text", sebab_klaim="text", tgl_kejadian="date",
             tgl_pengajuan="date", tgl_bayar="date", nominal="amount")
REKOMENDASI = dict(no_rekomendasi="id", nik_koperasi="id", npp="id", tgl_terbit="date", berlaku_sampai="date",
                   keterangan="text")
KUR = dict(id_fasilitas="id", nik_debitur="id", nama_debitur="text", tgl_lahir_debitur="date", nib="id",
           skema="text", plafon="amount", suku_bunga="rate", tenor_bulan="int", tgl_akad="date",
           tgl_pencairan="date", kode_wilayah="region", sektor="text", kpj="id", status_bpjstk="text")
SCHEMAS = {"koperasi": KOPERASI, "pengurus": PENGURUS, "perizinan": PERIZINAN, "umkm": UMKM,
           "peserta": PESERTA, "badan_usaha": BADAN_USAHA, "iuran": IURAN, "klaim": KLAIM,
           "rekomendasi": REKOMENDASI, "kur": KUR}
KEYS = {"koperasi": ["nik_koperasi"], "pengurus": ["nik_koperasi", "nik", "jabatan"], "perizinan": ["no_keputusan"],
        "umkm": ["nib"], "peserta": ["kpj"], "badan_usaha": ["npp"], "iuran": ["no_referensi"],
        "klaim": ["no_klaim"], "rekomendasi": ["no_rekomendasi"], "kur": ["id_fasilitas"]}

# Header labels each branch may use (feeds.md), cycled by the branch's own habit.
BPJS_LABELS = {
    "kpj": ["No KPJ", "NO. KPJ", "no_kpj", "Nomor KPJ"], "nik": ["NIK", "NIK", "nik", "No NIK"],
    "nama": ["Nama Tenaga Kerja", "NAMA", "nama", "Nama"], "tgl_lahir": ["Tgl Lahir", "TANGGAL LAHIR", "tgl_lahir", "Tanggal Lahir"],
    "jenis_kelamin": ["JK", "JENIS KELAMIN", "jenis_kelamin", "Jenis Kelamin"],
    "segmen": ["Segmen", "SEGMEN KEPESERTAAN", "segmen", "Segmen Kepesertaan"], "npp": ["NPP", "NPP", "npp", "NPP"],
    "program": ["Program", "PROGRAM", "program", "Program"], "upah": ["Upah", "UPAH DILAPORKAN", "upah", "Upah Dilaporkan"],
    "pekerjaan": ["Pekerjaan", "PEKERJAAN", "pekerjaan", "Pekerjaan"],
    "kode_wilayah": ["Kode Wilayah", "KODE WILAYAH", "kode_wilayah", "Kode Wilayah"],
    "tgl_kepesertaan": ["Tgl Kepesertaan", "TMT", "tgl_kepesertaan", "TMT"],
    "status": ["Status", "STATUS KEPESERTAAN", "status", "Status Kepesertaan"],
    "iuran_terakhir": ["Iuran Terakhir", "BULAN IURAN TERAKHIR", "iuran_terakhir", "Bulan Iuran Terakhir"],
    "nama_badan_usaha": ["Nama Badan Usaha", "NAMA PERUSAHAAN", "nama_badan_usaha", "Nama Perusahaan"],
    "npwp": ["NPWP", "NPWP", "npwp", "NPWP"], "nib": ["NIB", "NIB", "nib", "NIB"],
    "nik_koperasi": ["NIK Koperasi", "NIK KOPERASI", "nik_koperasi", "NIK Koperasi"],
    "kategori": ["Kategori", "KATEGORI", "kategori", "Kategori"],
    "tgl_daftar": ["Tgl Daftar", "TGL KEPESERTAAN", "tgl_daftar", "Tgl Kepesertaan"],
    "jumlah_tk_aktif": ["Jumlah TK Aktif", "JUMLAH TK AKTIF", "jumlah_tk_aktif", "Jumlah TK Aktif"],
}
for _col in ("no_referensi", "periode", "iuran_jkk", "iuran_jkm", "iuran_jht", "iuran_jp", "iuran_jkp", "total",
             "tgl_bayar", "kanal", "no_klaim", "sebab_klaim", "tgl_kejadian", "tgl_pengajuan", "nominal",
             "no_rekomendasi", "tgl_terbit", "berlaku_sampai", "keterangan"):
    _title = " ".join(w.upper() if w in ("jkk", "jkm", "jht", "jp", "jkp") else w.title() for w in _col.split("_"))
    BPJS_LABELS[_col] = [_title, _title.upper(), _col, _title]
BPJS_TITLES = {"peserta": "LAPORAN DATA PESERTA", "badan_usaha": "LAPORAN DATA BADAN USAHA",
               "iuran": "LAPORAN PENERIMAAN IURAN", "klaim": "LAPORAN PEMBAYARAN KLAIM",
               "rekomendasi": "LAPORAN SURAT REKOMENDASI"}
BANK_LABELS = {
    "BNI": ["No Fasilitas", "NIK Debitur", "Nama Debitur", "Tanggal Lahir", "NIB", "Skema KUR", "Plafon",
            "Suku Bunga (%)", "Tenor (Bulan)", "Tanggal Akad", "Tanggal Pencairan", "Kode Wilayah Usaha",
            "Sektor Ekonomi", "No KPJ", "Status BPJSTK"],
}
BULAN = ["JANUARI", "FEBRUARI", "MARET", "APRIL", "MEI", "JUNI", "JULI", "AGUSTUS", "SEPTEMBER", "OKTOBER",
         "NOVEMBER", "DESEMBER"]


@dataclass
class Layout:
    kind: str                       # csv | xlsx | jsonl
    delimiter: str = ","
    quote_all: bool = False
    encoding: str = "utf-8"
    locale: str = "iso"             # iso | id (decimal comma, dd/mm/yyyy) | bri (YYYYMMDD) | mandiri (2 decimals)
    labels: dict[str, str] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)
    blank_after_titles: bool = True
    sheet: str = "Sheet1"
    number_column: bool = False     # running `No` column first (BPJS XLSX)
    closing: str | None = None      # label of a closing totals row (TOTAL, Jumlah)
    excel_dates: bool = False
    gzip: bool = False
    trailer: bool = False           # BRI `TRL|records|sum`
    control_file: bool = False      # Mandiri `.ctl`
    control_line: bool = False      # BTN `{"_control": ...}`
    nested: bool = False            # BTN nesting


@dataclass
class Delivery:
    sender: str
    feed: str
    folder: str
    name: str
    period: str
    layout: Layout
    frame: pd.DataFrame
    delivered: np.datetime64        # when the sender moved it in (seconds)
    month: int
    # What defects do to the bytes (see `defects`): applied by the writer.
    line_edits: dict = field(default_factory=dict)   # data row position -> edit(line, delimiter)
    line_end: str = "\n"
    encoding: str | None = None                       # overrides the layout's encoding
    header_override: list | None = None
    extra_column: tuple | None = None                 # (label, values)
    file_edit: object = None                          # edit(bytes) -> bytes, after compression
    control: str = "ok"                               # ok | missing | wrong (control file / trailer)
    file_defect: str | None = None                    # at most one whole-file defect per delivery

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}"

    @property
    def schema(self) -> dict[str, str]:
        return SCHEMAS[self.feed]


def render_month(w: World, m: int, rng: np.random.Generator) -> list[Delivery]:
    """Every file the senders deliver for month m."""
    return _ministry(w, m, rng) + _branches(w, m, rng) + _banks(w, m, rng)


def _at(day: np.datetime64, hour: int) -> np.datetime64:
    return np.datetime64(day, "s") + np.timedelta64(hour * 3600, "s")


def _npwp(npwp15: np.ndarray, form: np.ndarray) -> np.ndarray:
    from .ids import npwp15_dotted
    out = np.full(len(npwp15), None, dtype=object)
    for i, (v, f) in enumerate(zip(npwp15, form)):
        if v is not None and v == v:
            out[i] = v if f == "15" else ("0" + v if f == "16" else npwp15_dotted(v))
    return out


def _ministry(w: World, m: int, rng) -> list[Delivery]:
    cal, c, p = w.cal, w.coops, w.persons
    ods = Layout("csv", quote_all=True)
    out = []
    prev = cal.first(m) - 1
    coop_npwp = _npwp(c["npwp15"].to_numpy(), c["npwp_form"].to_numpy())
    for day in cal.ods_days(m):
        stamp = str(day).replace("-", "")
        listed = (c["founded"].to_numpy() <= day)
        status = coop_status(c, day)
        cc = c[listed]
        last_change = np.fmax(np.fmax(cc["founded"].to_numpy(), _le(cc["inactive_date"], day)), _le(cc["dissolved_date"], day))
        koperasi = pd.DataFrame({
            "nik_koperasi": cc["nik_koperasi"], "nama_koperasi": cc["name"], "no_badan_hukum": cc["no_badan_hukum"],
            "tgl_badan_hukum": cc["founded"], "bentuk": cc["bentuk"], "jenis_koperasi": cc["jenis"],
            "kelompok_koperasi": cc["kelompok"], "pola_pengelolaan": cc["pola"], "kode_wilayah": cc["village"],
            "alamat": cc["alamat"], "status_koperasi": status[listed], "tgl_rat_terakhir": cc["rat"],
            "jumlah_anggota_pria": cc["members_m"], "jumlah_anggota_wanita": cc["members_f"],
            "jumlah_manajer": cc["managers"], "jumlah_karyawan": cc["staff"], "nib": cc["nib"],
            "npwp": coop_npwp[listed], "tgl_update": pd.to_datetime(last_change) + pd.Timedelta(hours=8),
        }).reset_index(drop=True)
        out.append(Delivery("kemenkop", "koperasi", "kemenkop/ods", f"koperasi_{stamp}.csv", stamp, ods, koperasi,
                            _at(day, 23), m))
        o = w.officers
        shown = o["start"].to_numpy() <= day
        oo = o[shown]
        person = oo["person"].to_numpy()
        end = oo["end"].to_numpy()
        pengurus = pd.DataFrame({
            "nik_koperasi": c["nik_koperasi"].to_numpy()[oo["coop_idx"].to_numpy()], "nik": p["nik"].to_numpy()[person],
            "nama_lengkap": p["name"].to_numpy()[person], "jabatan": oo["jabatan"].to_numpy(),
            "jenis_kelamin": np.where(p["female"].to_numpy()[person], "P", "L"), "tgl_lahir": p["birth"].to_numpy()[person],
            "tgl_mulai": oo["start"].to_numpy(), "tgl_selesai": np.where(end <= day, end, np.datetime64("NaT")),
        })
        out.append(Delivery("kemenkop", "pengurus", "kemenkop/ods", f"pengurus_{stamp}.csv", stamp, ods, pengurus,
                            _at(day, 23), m))
        d = w.decisions
        upd = d["updated_on"].to_numpy()
        dd = d[(upd > prev) & (upd <= day)]
        perizinan = pd.DataFrame({
            "no_keputusan": dd["no_keputusan"].to_numpy(),
            "nik_koperasi": c["nik_koperasi"].to_numpy()[dd["coop_idx"].to_numpy()],
            "jenis_layanan": dd["layanan"].to_numpy(), "tgl_pengajuan": dd["submitted"].to_numpy(),
            "tgl_keputusan": dd["decided"].to_numpy(), "hasil": dd["hasil"].to_numpy(),
            "no_rekomendasi_bpjstk": dd["cited"].to_numpy(),
            "kode_wilayah": c["village"].to_numpy()[dd["coop_idx"].to_numpy()],
            "tgl_update": pd.to_datetime(dd["updated_on"].to_numpy()) + pd.Timedelta(hours=10) + pd.to_timedelta(dd["version"].to_numpy(), "h"),
        })
        out.append(Delivery("kemenkop", "perizinan", "kemenkop/ods", f"perizinan_{stamp}.jsonl", stamp,
                            Layout("jsonl"), perizinan, _at(day, 23), m))
        prev = day
    u = w.umkm
    uu = u[u["issued"].to_numpy() <= cal.last(m)]
    owner = uu["owner"].to_numpy()
    umkm = pd.DataFrame({
        "nib": uu["nib"].to_numpy(), "nama_usaha": names.business_names(rng, p["name"].str.split().str[-1].to_numpy()[owner]),
        "nik_pemilik": p["nik"].to_numpy()[owner], "nama_pemilik": p["name"].to_numpy()[owner],
        "tgl_lahir_pemilik": p["birth"].to_numpy()[owner], "skala_usaha": uu["skala"].to_numpy(),
        "kbli": uu["kbli"].to_numpy(), "kode_wilayah": uu["village"].to_numpy(),
        "jumlah_tenaga_kerja": uu["workers"].to_numpy(), "tgl_terbit_nib": uu["issued"].to_numpy(),
        "omzet_tahunan": uu["omzet"].to_numpy(),
    })
    label = cal.label(m)
    out.append(Delivery("kemenkop", "umkm", "kemenkop/sidt", f"umkm_{label}.csv.gz", label,
                        Layout("csv", gzip=True), umkm, _at(cal.last(m) + 2, 7), m))
    return out


def _le(col: pd.Series, day) -> np.ndarray:
    v = col.to_numpy()
    return np.where(v <= day, v, np.datetime64("NaT"))


def _branch_layout(branch: pd.Series, feed: str, cal: Calendar, m: int, region_name: str) -> Layout:
    habit = int(branch["seed"]) % 4
    labels = {k: v[habit] for k, v in BPJS_LABELS.items()}
    if branch["layout"] == "xlsx":
        title = f"{BPJS_TITLES[feed]} KANTOR CABANG {region_name.upper()} PERIODE {BULAN[int(cal.label(m)[4:]) - 1]} {cal.label(m)[:4]}"
        titles = [title] if habit % 2 else [title, "BPJS KETENAGAKERJAAN"]
        return Layout("xlsx", labels=labels, titles=titles, number_column=True, closing="TOTAL",
                      excel_dates=branch["style"] == "excel", locale="id")
    return Layout("csv", delimiter=";", encoding=branch["style"], locale="id", labels=labels)


def _branches(w: World, m: int, rng) -> list[Delivery]:
    cal, p, emp, part = w.cal, w.persons, w.employers, w.participants
    from ingestion import regions
    regs = regions.regencies()
    label = cal.label(m)
    # Participants registered by the end of the month.
    pp = part[part["join_m"].to_numpy() <= m]
    person = pp["person"].to_numpy()
    payer_idx = w.payers["payer_idx"].reindex(pp["payer"]).to_numpy()
    pt = w.paid_through[payer_idx, m]
    paid_anything = pt >= w.payers["join_m"].to_numpy()[payer_idx]
    emp_idx = pp["emp_idx"].to_numpy()
    names_bpjs = names.agency_person_names(p["name"].to_numpy()[person], rng, "bpjs")
    peserta = pd.DataFrame({
        "kpj": pp["kpj"].to_numpy(), "nik": p["nik"].to_numpy()[person], "nama": names_bpjs,
        "tgl_lahir": p["birth"].to_numpy()[person], "jenis_kelamin": np.where(p["female"].to_numpy()[person], "P", "L"),
        "segmen": pp["segmen"].to_numpy(), "npp": np.where(emp_idx >= 0, emp["npp"].to_numpy()[np.maximum(emp_idx, 0)], None),
        "program": pp["program"].to_numpy(), "upah": pp["upah"].to_numpy(), "pekerjaan": pp["pekerjaan"].to_numpy(),
        "kode_wilayah": pp["village"].to_numpy(), "tgl_kepesertaan": pp["join"].to_numpy(),
        "status": shared(np.where(participant_active(pp, m), "Aktif", "Nonaktif")),
        "iuran_terakhir": np.where(paid_anything, _mm_yyyy(cal, pt), None),
        "_branch": pp["branch"].to_numpy(),
    })
    active_pu = part[participant_active(part, m) & (part["emp_idx"].to_numpy() >= 0)]
    tk = active_pu.groupby("emp_idx").size().reindex(emp["emp_idx"]).fillna(0).astype(int).to_numpy()
    ee = emp["registered_on"].to_numpy() <= cal.last(m)
    badan_usaha = pd.DataFrame({
        "npp": emp["npp"], "nama_badan_usaha": emp["name"], "npwp": _npwp(emp["npwp15"].to_numpy(), emp["npwp_form"].to_numpy()),
        "nib": emp["nib"], "nik_koperasi": emp["nik_koperasi"], "kategori": emp["kategori"],
        "kode_wilayah": emp["village"], "tgl_daftar": emp["registered_on"], "status": employer_status(emp, m),
        "jumlah_tk_aktif": tk, "_branch": [w.geo.branch_of[r] for r in emp["regency"]],
    })[ee]
    con = w.contributions[w.contributions["month"] == m]
    payer_key = w.payers.index.to_numpy()[con["payer_idx"].to_numpy()]
    is_emp = np.char.startswith(payer_key.astype(str), "E")
    key_num = np.array([int(k[1:]) for k in payer_key], dtype=int)
    iuran = pd.DataFrame({
        "no_referensi": con["no_referensi"].to_numpy(),
        "npp": np.where(is_emp, emp["npp"].to_numpy()[np.where(is_emp, key_num, 0)], None),
        "kpj": np.where(is_emp, None, part["kpj"].to_numpy()[np.where(is_emp, 0, key_num)]),
        "periode": _mm_yyyy(cal, con["period"].to_numpy()),
        **{c: con[c].to_numpy() for c in ["iuran_jkk", "iuran_jkm", "iuran_jht", "iuran_jp", "iuran_jkp", "total"]},
        "tgl_bayar": con["paid_on"].to_numpy(), "kanal": con["kanal"].to_numpy(), "_branch": con["branch"].to_numpy(),
    })
    cl = w.claims[w.claims["month"] == m]
    who = cl["part_idx"].to_numpy()
    klaim = pd.DataFrame({
        "no_klaim": cl["no_klaim"].to_numpy(), "kpj": part["kpj"].to_numpy()[who],
        "nik": p["nik"].to_numpy()[part["person"].to_numpy()[who]], "program": cl["program"].to_numpy(),
        "sebab_klaim": cl["sebab"].to_numpy(), "tgl_kejadian": cl["event"].to_numpy(),
        "tgl_pengajuan": cl["filed"].to_numpy(), "tgl_bayar": cl["paid"].to_numpy(), "nominal": cl["nominal"].to_numpy(),
        "_branch": cl["branch"].to_numpy(),
    })
    le = w.letters[w.letters["month"] == m]
    rekomendasi = pd.DataFrame({
        "no_rekomendasi": le["no_rekomendasi"].to_numpy(),
        "nik_koperasi": w.coops["nik_koperasi"].to_numpy()[le["coop_idx"].to_numpy()],
        "npp": le["npp"].to_numpy(), "tgl_terbit": le["issued"].to_numpy(), "berlaku_sampai": le["valid_to"].to_numpy(),
        "keterangan": "Rekomendasi perizinan koperasi", "_branch": le["branch"].to_numpy(),
    })
    out = []
    frames = {"peserta": peserta, "badan_usaha": badan_usaha, "iuran": iuran, "klaim": klaim, "rekomendasi": rekomendasi}
    grouped = {feed: dict(tuple(f.groupby("_branch", sort=True))) for feed, f in frames.items()}
    served = {}
    for reg, b in w.geo.branch_of.items():
        served.setdefault(b, reg)
    for _, branch in w.geo.branches.iterrows():
        code = branch["code"]
        region_name = regs[served[code]].replace("Kabupaten ", "")
        for h, feed in enumerate(frames):
            f = grouped[feed].get(code)
            if f is None:
                f = frames[feed].iloc[0:0]
            f = f.drop(columns="_branch").reset_index(drop=True)
            lay = _branch_layout(branch, feed, cal, m, region_name)
            ext = lay.kind
            when = _at(cal.last(m) + 3 + (int(branch["seed"]) + h) % 7, 9 + h)
            out.append(Delivery("bpjstk", feed, f"bpjstk/{code}", f"{code}_{feed}_{label}.{ext}", label, lay, f, when, m))
    return out


def _mm_yyyy(cal: Calendar, month_index: np.ndarray) -> np.ndarray:
    """`MM/YYYY` of month indices (relative to the calendar's start)."""
    month_index = np.asarray(month_index)
    uniq, inv = np.unique(month_index, return_inverse=True)
    text = np.array([f"{str(cal.start + int(x))[5:7]}/{str(cal.start + int(x))[:4]}" for x in uniq], dtype=object)
    return text[inv] if len(uniq) else np.array([], dtype=object)


def _banks(w: World, m: int, rng) -> list[Delivery]:
    cal, p = w.cal, w.persons
    k = w.kur[w.kur["month"] == m]
    label = cal.label(m)
    out = []
    for bank, lay_name in (("BRI", "bri"), ("BNI", "bni"), ("MANDIRI", "mandiri"), ("BTN", "btn")):
        kk = k[k["bank"].to_numpy() == bank]
        pb = kk["person"].to_numpy()
        district = kk["district"].to_numpy().astype(str)
        frame = pd.DataFrame({
            "id_fasilitas": kk["id_fasilitas"].to_numpy(), "nik_debitur": p["nik"].to_numpy()[pb],
            "nama_debitur": names.agency_person_names(p["name"].to_numpy()[pb], rng, "bank"),
            "tgl_lahir_debitur": p["birth"].to_numpy()[pb], "nib": kk["nib"].to_numpy(), "skema": kk["skema"].to_numpy(),
            "plafon": kk["plafon"].to_numpy(), "suku_bunga": kk["rate"].to_numpy(), "tenor_bulan": kk["tenor"].to_numpy(),
            "tgl_akad": kk["signed"].to_numpy(), "tgl_pencairan": kk["disbursed"].to_numpy(),
            # (numpy's replace fails on an empty array: a bank with no facility this month)
            "kode_wilayah": np.char.replace(district, ".", "") if bank == "BRI" and len(district) else district,
            "sektor": kk["sektor"].to_numpy(), "kpj": kk["kpj"].to_numpy(), "status_bpjstk": kk["status_bpjstk"].to_numpy(),
        })
        when = _at(cal.last(m) + 5 + len(out) * 2, 14)
        if bank == "BRI":
            lay = Layout("csv", delimiter="|", locale="bri", labels={c: c.upper() for c in KUR}, trailer=True)
            name = f"KUR_BRI_{label}.txt"
        elif bank == "BNI":
            titles = ["PT BANK NEGARA INDONESIA (PERSERO) TBK", "LAPORAN REALISASI KUR",
                      f"PERIODE {BULAN[int(label[4:]) - 1]} {label[:4]}"]
            lay = Layout("xlsx", labels=dict(zip(KUR, BANK_LABELS["BNI"])), titles=titles, sheet="Realisasi KUR", blank_after_titles=False,
                         closing="Jumlah", excel_dates=True)
            name = f"KUR_BNI_{label}.xlsx"
        elif bank == "MANDIRI":
            lay = Layout("csv", quote_all=True, encoding="utf-8-sig", locale="mandiri", control_file=True)
            name = f"kur_mandiri_{label}.csv"
        else:
            lay = Layout("jsonl", gzip=True, nested=True, control_line=True)
            name = f"btn_kur_{label}.jsonl.gz"
        out.append(Delivery("himbara", "kur", f"himbara/{lay_name}", name, label, lay, frame, when, m))
    return out
