"""Compares what the warehouse computed with the generator's truth (tests, `bench/identity.py`).

Only meaningful for generated worlds: the truth folder is what the generator knows and no sender does.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg

KEY = ["as_of", "metric", "region", "breakdown"]


def warehouse_metrics(url: str) -> pd.DataFrame:
    query = """select to_char(as_of, 'YYYY-MM') as as_of, metric, region, breakdown,
                      numerator::float8 as numerator, denominator::float8 as denominator, value::float8 as value
               from marts.fct_metrics"""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def truth_metrics(world: Path) -> pd.DataFrame:
    t = pd.read_csv(Path(world) / "truth" / "metrics.csv", dtype={"region": str, "breakdown": str})
    t["breakdown"] = t["breakdown"].fillna("")
    return t


def metric_differences(url: str, world: Path) -> pd.DataFrame:
    """Rows where the warehouse and the truth disagree (missing on either side, or other figures)."""
    ours, truth = warehouse_metrics(url), truth_metrics(world)
    both = truth.merge(ours, on=KEY, how="outer", suffixes=("_truth", "_warehouse"), indicator=True)
    same = (both["_merge"] == "both")
    for col in ("numerator", "denominator"):
        a, b = both[f"{col}_truth"], both[f"{col}_warehouse"]
        same &= (a.isna() & b.isna()) | ((a - b).abs() < 0.005)
    # Both round half up at six decimals (README "Rounding"): the same figure is the same float.
    same &= (both["value_truth"] - both["value_warehouse"]).abs() < 1e-9
    return both[~same].drop(columns="_merge")


# --- identity ---------------------------------------------------------------------------------------

RECORDS_SQL = """
select 'bpjstk/peserta' as feed, kpj as key, nik_token as person_id, nik_token as own_token, null::text as file,
       null::bigint as line
from (select distinct on (kpj) kpj, nik_token from staging.stg_bpjstk__participants
      order by kpj, nik_bad_date, as_of desc) p
union all
select 'kemenkop/' || case l.record_feed when 'kur' then 'kur' else l.record_feed end, l.record_key, l.person_id,
       l.nik_token, a.file, l.source_line
from identity.int_identity__person_links l
left join audit.load a on a.load_id = l.load_id
union all
select 'bpjstk/klaim', c.no_klaim, p.nik_token, c.nik_token, null, null
from staging.stg_bpjstk__claims c
join (select distinct on (kpj) kpj, nik_token from staging.stg_bpjstk__participants
      order by kpj, nik_bad_date, as_of desc) p
  on p.kpj = c.kpj
"""
FEEDS = {"kemenkop/kur": "himbara/kur"}
# Defect kinds that change a NIK and leave the row loaded: the officer's record key changes with it.
NIK_CHANGES = ("nik_mistyped", "nik_slip", "nik_bad_date")
# The record feeds linked to BPJS participants, with the truth's name of each.
LINKED_FEEDS = {"pengurus": "kemenkop/pengurus", "umkm": "kemenkop/umkm", "kur": "himbara/kur"}
PAIRS = {feed: f"{feed} ↔ peserta" for feed in LINKED_FEEDS}
# The variant class of a record, from the defect logged on the row the warehouse keeps.
CLASSES = {
    "name_title": "name: title (H., Dr., Ir., …)", "name_degree": "name: degree (S.E., M.M., …)",
    "name_patronym": "name: bin/binti + father", "name_muhammad": "name: Muhammad/Ahmad/Siti spelling",
    "name_old_spelling": "name: pre-1972 spelling", "name_word_order": "name: word order",
    "name_shortened": "name: mononym / middle dropped", "name_misspelt": "name: typo",
    "nik_blank": "NIK blank", "birth_date_typo": "birth-date typo",
    "nik_bad_date": "NIK with an impossible date",
}
SLIP_EARLY, SLIP_LATE = "NIK slip, digits 1–12", "NIK slip, digits 13–16"
UNCHANGED = "unchanged"
CLASS_ORDER = [UNCHANGED, *[c for k, c in CLASSES.items() if not k.startswith(("nik", "birth"))],
               SLIP_EARLY, SLIP_LATE, CLASSES["nik_bad_date"], CLASSES["nik_blank"], CLASSES["birth_date_typo"]]
# Issue 17's goals on a defective world.
GOALS = {"precision": 0.999, "recall": 0.99, "class_recall": 0.95, "metric_pp": 0.3, "metrics": ("K2", "K4", "K6")}


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def identity_scores(url: str, world: Path, tokens) -> dict:
    """The warehouse's person resolution against the generator's truth.

    `tokens(nik) -> token` turns the truth's plain NIKs into the warehouse's keys. Keys: `precision`,
    `recall` and the pair counts pooled over every feed (participants, claims joined by KPJ, officers,
    owners, borrowers; kept for the warehouse tests); `pairs` and `classes`: precision and recall of the
    links to participants per feed pair and per variant class (`link_scores`); `unmatched`: warehouse
    records the truth does not know (none expected).
    """
    log = _defect_log(world)
    links = link_scores(url, world, tokens, log)
    del links["linked_records"]
    return {**_pooled_scores(url, world, tokens, log), **links}


def _pooled_scores(url: str, world: Path, tokens, log: pd.DataFrame) -> dict:
    """Pairwise precision and recall over every feed at once (records that are the same person)."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(RECORDS_SQL)
        ours = pd.DataFrame(cur.fetchall(), columns=["feed", "key", "person_id", "own_token", "file", "line"])
    ours["feed"] = ours["feed"].replace(FEEDS)
    truth = pd.read_csv(Path(world) / "truth" / "identity_persons.csv", dtype=str)
    officers = truth["feed"] == "kemenkop/pengurus"
    truth.loc[officers, "key"] = _tokenised_officer_keys(truth.loc[officers, "key"], tokens)
    # Officer rows whose NIK the sender changed or left blank are keyed otherwise: key them by the true NIK.
    is_officer = ours["feed"] == "kemenkop/pengurus"
    ours.loc[is_officer, "key"] = _true_officer_keys(ours[is_officer], log, tokens)
    both = truth.merge(ours, on=["feed", "key"], how="inner")
    tp = _pairs(both.groupby(["person", "person_id"]).size())
    predicted = _pairs(both.groupby("person_id").size())
    actual = _pairs(both.groupby("person").size())
    return {"records": len(both), "true_pairs": actual, "found_pairs": predicted, "correct_pairs": tp,
            "precision": tp / predicted if predicted else 1.0, "recall": tp / actual if actual else 1.0}


def link_scores(url: str, world: Path, tokens, log: pd.DataFrame | None = None) -> dict:
    """Links of officer, UMKM-owner and KUR-debtor records to participants, record by record.

    A link is the record's `kpj` in `identity.int_identity__person_links`; it is correct when that
    participant is the record's true person. Expected: records whose person has a participant record
    in the warehouse. `recall` counts only records that can be found (no unrecoverable variant: name +
    birth date + region unique); `recall_all` counts every one. `linked_records`: the records scored.
    """
    log = _defect_log(world) if log is None else log
    recs = _scored_records(url, world, tokens, log)
    known = recs[recs["person"].notna()]   # a link of a record the truth does not know cannot be judged
    pairs = _rates(known, "record_feed").rename(index=PAIRS).reindex(PAIRS.values())
    classes = _rates(known, "variant").reindex(CLASS_ORDER)
    return {"pairs": pairs, "classes": classes, "unmatched": len(recs) - len(known), "linked_records": recs}


def _scored_records(url: str, world: Path, tokens, log: pd.DataFrame) -> pd.DataFrame:
    recs, present = _warehouse_links(url)
    truth = pd.read_csv(Path(world) / "truth" / "identity_persons.csv", dtype=str)
    participant = truth[truth["feed"] == "bpjstk/peserta"].set_index("key")["person"]
    records = truth[truth["feed"].isin(LINKED_FEEDS.values())].copy()
    records["record_feed"] = records["feed"].map({v: k for k, v in LINKED_FEEDS.items()})
    officers = records["record_feed"] == "pengurus"
    records.loc[officers, "key"] = _tokenised_officer_keys(records.loc[officers, "key"], tokens)
    person_of = records.set_index(["record_feed", "key"])["person"]
    officer = recs["record_feed"] == "pengurus"
    recs["truth_key"] = recs["record_key"]
    officers = recs[officer].rename(columns={"record_key": "key"})
    recs.loc[officer, "truth_key"] = _true_officer_keys(officers, log, tokens)
    recs["person"] = person_of.reindex(pd.MultiIndex.from_arrays([recs["record_feed"], recs["truth_key"]])).to_numpy()
    by_line = bool(recs["file"].notna().any())
    recs = recs.merge(_variants(log, tokens, by_line), how="left",
                      on=["file", "line"] if by_line else ["record_feed", "record_key"])
    recs["variant"] = recs["variant"].fillna(UNCHANGED)
    recs["recoverable"] = recs["recoverable"].ne(False)   # rows without an identity variant can be found
    covered = set(participant[participant.index.isin(present)])
    recs["expected"] = recs["person"].isin(covered)
    recs["linked"] = recs["kpj"].notna()
    recs["correct"] = recs["linked"] & (recs["kpj"].map(participant) == recs["person"])
    return recs


def _warehouse_links(url: str) -> tuple[pd.DataFrame, set]:
    """The warehouse's officer, owner and borrower records with the participant each is linked to, and the
    file and line of the version it keeps (where the model carries them); and the KPJs it holds."""
    with psycopg.connect(url) as conn:
        columns = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'identity' and table_name = 'int_identity__person_links'")}
        kept = {"load_id", "source_line"} <= columns
        version = "a.file, l.source_line" if kept else "null::text, null::bigint"
        join = "left join audit.load a on a.load_id = l.load_id" if kept else ""
        rule = "l.rule" if "rule" in columns else "null::text"
        rows = conn.execute(f"select l.record_feed, l.record_key, l.kpj, {rule}, {version} "
                            f"from identity.int_identity__person_links l {join} "
                            "where l.record_feed in ('pengurus', 'umkm', 'kur')").fetchall()
        present = {r[0] for r in conn.execute("select distinct kpj from staging.stg_bpjstk__participants")}
    recs = pd.DataFrame(rows, columns=["record_feed", "record_key", "kpj", "rule", "file", "line"])
    recs["line"] = recs["line"].astype("Int64")
    return recs, present


def _rates(recs: pd.DataFrame, by: str) -> pd.DataFrame:
    """records, expected links, links made, correct ones, precision, recall (findable) and recall (all)."""
    findable = recs["expected"] & recs["recoverable"]
    g = recs.assign(findable=findable, found=recs["correct"] & findable,
                    found_any=recs["correct"] & recs["expected"],
                    unrecoverable=recs["expected"] & ~recs["recoverable"]).groupby(by)
    out = pd.DataFrame({"records": g.size(), "expected": g["expected"].sum(), "linked": g["linked"].sum(),
                        "correct": g["correct"].sum(), "unrecoverable": g["unrecoverable"].sum(),
                        "found": g["found"].sum(), "findable": g["findable"].sum(), "found_any": g["found_any"].sum()})
    out["precision"] = _ratio(out["correct"], out["linked"])
    out["recall"] = _ratio(out["found"], out["findable"])
    out["recall_all"] = _ratio(out["found_any"], out["expected"])
    return out[["records", "expected", "linked", "correct", "unrecoverable", "precision", "recall", "recall_all"]]


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a / b.where(b > 0)).astype(float)


def _defect_log(world: Path) -> pd.DataFrame:
    return pd.read_csv(Path(world) / "truth" / "defects.csv", dtype=str, keep_default_na=False)


def _tokenised_officer_keys(keys: pd.Series, tokens) -> pd.Series:
    """`nik_koperasi|NIK|jabatan` -> `nik_koperasi|token|jabatan` (the warehouse's officer key)."""
    parts = keys.str.split("|", expand=True)
    return parts[0] + "|" + parts[1].map(tokens) + "|" + parts[2]


def _true_officer_keys(recs: pd.DataFrame, log: pd.DataFrame, tokens) -> list[str]:
    """The truth's key of each warehouse officer record (`key`, and the `file` and `line` of the version
    kept where known): a NIK the sender changed gives the post that NIK's token, a blank NIK the name's."""
    slipped = _slipped_officer_keys(log, tokens)
    blank = _blank_officer_keys(log, tokens)
    lines = pd.to_numeric(recs["line"], errors="coerce")
    return [blank.get((f, int(n)), slipped.get(k, k)) if pd.notna(n) else slipped.get(k, k)
            for k, f, n in zip(recs["key"], recs["file"], lines)]


def _blank_officer_keys(log: pd.DataFrame, tokens) -> dict[tuple[str, int], str]:
    """(file, line) of an officer row delivered without its NIK -> the truth's key of the post (the
    warehouse keys that post by the officer's name, which the log does not carry)."""
    blanks = log[(log["kind"] == "nik_blank") & (log["feed"] == "pengurus") & (log["line"] != "")]
    out = {}
    for file, line, key, detail in zip(blanks["file"], blanks["line"], blanks["key"], blanks["detail"]):
        coop, _, role = key.split("|")
        out[(file, int(line))] = f"{coop}|{tokens(detail.split(' -> ')[0])}|{role}"
    return out


def _slipped_officer_keys(log: pd.DataFrame, tokens) -> dict[str, str]:
    """Warehouse key of an officer row whose NIK the sender changed -> the key with the true NIK."""
    slips = log[log["kind"].isin(NIK_CHANGES) & (log["feed"] == "pengurus") & (log["line"] != "")]
    out = {}
    for key, detail in zip(slips["key"], slips["detail"]):
        good, bad = detail.split(" -> ")
        coop, _, role = key.split("|")
        out[f"{coop}|{tokens(bad)}|{role}"] = f"{coop}|{tokens(good)}|{role}"
    return out


def _variants(log: pd.DataFrame, tokens, by_line: bool) -> pd.DataFrame:
    """The variant class and recoverability of each logged row of the linked feeds: by file and line, or
    (when the warehouse does not say which row it keeps) by feed and the warehouse's record key."""
    rows = log[log["feed"].isin(list(LINKED_FEEDS)) & (log["line"] != "")]
    rows = rows[rows["kind"].isin([*CLASSES, *NIK_CHANGES])]
    variant = [_class_of(k, d) for k, d in zip(rows["kind"], rows["detail"])]
    out = pd.DataFrame({"file": rows["file"], "line": rows["line"].astype("Int64"), "record_feed": rows["feed"],
                        "record_key": rows["key"], "variant": variant, "recoverable": rows["recoverable"] == "True"})
    if by_line:
        return out.drop(columns=["record_feed", "record_key"]).drop_duplicates(["file", "line"])
    officers = out["record_feed"] == "pengurus"
    out.loc[officers, "record_key"] = _tokenised_officer_keys(out.loc[officers, "record_key"], tokens)
    return out.drop(columns=["file", "line"]).drop_duplicates(["record_feed", "record_key"], keep="last")


def _class_of(kind: str, detail: str) -> str:
    if kind in CLASSES:
        return CLASSES[kind]
    good, bad = detail.split(" -> ")
    first = next(i for i, (a, b) in enumerate(zip(good, bad)) if a != b)
    return SLIP_EARLY if first < 12 else SLIP_LATE


def rules_by_class(recs: pd.DataFrame) -> pd.Series:
    """How the warehouse found the correct links of each variant class: `rule × count, …`."""
    found = recs[recs["correct"] & recs["rule"].notna()]
    return found.groupby("variant")["rule"].agg(
        lambda r: ", ".join(f"{k} × {n}" for k, n in r.value_counts().items())).reindex(CLASS_ORDER).dropna()


def metric_gaps(url: str, world: Path, metrics=GOALS["metrics"]) -> pd.DataFrame:
    """National totals of `metrics` (value, numerator, denominator), warehouse against truth, per month:
    the gap in percentage points."""
    key = ["as_of", "metric"]

    def national(f: pd.DataFrame) -> pd.DataFrame:
        chosen = f["metric"].isin(metrics) & (f["region"] == "ID") & (f["breakdown"].fillna("") == "")
        return f[chosen][[*key, "numerator", "denominator", "value"]]
    truth, ours = national(truth_metrics(world)), national(warehouse_metrics(url))
    both = truth.merge(ours, on=key, how="outer", suffixes=("_truth", "_warehouse")).sort_values(key)
    both["gap_pp"] = (both["value_warehouse"] - both["value_truth"]) * 100
    return both.reset_index(drop=True)


def missed_goals(scores: dict, gaps: pd.DataFrame) -> list[str]:
    """Issue 17's goals a defective world's scores miss, one sentence each (empty: all met)."""
    missed = []
    for pair, row in scores["pairs"].iterrows():
        if not row["precision"] >= GOALS["precision"]:
            missed.append(f"{pair}: precision {row['precision']:.4f} < {GOALS['precision']}")
        if not row["recall"] >= GOALS["recall"]:
            missed.append(f"{pair}: recall {row['recall']:.4f} < {GOALS['recall']}")
    for variant, row in scores["classes"].iterrows():
        if row["expected"] - row["unrecoverable"] > 0 and not row["recall"] >= GOALS["class_recall"]:
            missed.append(f"{variant}: recall {row['recall']:.4f} < {GOALS['class_recall']}")
    for gap in gaps.itertuples():
        if not abs(gap.gap_pp) <= GOALS["metric_pp"]:
            missed.append(f"{gap.metric} {gap.as_of}: {gap.gap_pp:+.2f} pp from the truth (limit ±{GOALS['metric_pp']})")
    if scores["unmatched"]:
        missed.append(f"{scores['unmatched']} warehouse records unknown to the truth")
    return missed


# --- differences on a defective world ---------------------------------------------------------------

# The feeds each metric reads (a row lost in one of them can move the figure).
METRIC_FEEDS = {
    "K1": {"koperasi", "badan_usaha"}, "K2": {"koperasi", "pengurus", "peserta"},
    "K3": {"perizinan", "rekomendasi", "koperasi"}, "K4": {"kur", "peserta"}, "K5": {"kur", "peserta"},
    "K6": {"umkm", "peserta"}, "K7": {"peserta"}, "K8": {"peserta"},
    "K9": {"klaim", "peserta", "pengurus", "umkm", "kur"}, "K9_rupiah": {"klaim", "peserta", "pengurus", "umkm", "kur"},
    "Q1": {"koperasi", "badan_usaha", "pengurus", "peserta", "kur"},
}


DAILY_SNAPSHOTS = {"koperasi", "pengurus"}


def explain_differences(url: str, world: Path) -> pd.DataFrame:
    """Each difference from the truth with the unrecoverable defects that can explain it: those the
    generator logged in the month's files of the feeds the metric reads. `explained` is false where
    there are none, or (for national totals) where the figure moved by more entities than there are
    such defects. A region emptied at load (handling `empty`) loses the row's place in its regency and
    province only: it explains regional figures, never a national one."""
    diffs = metric_differences(url, world)
    defects = pd.read_csv(Path(world) / "truth" / "defects.csv", dtype={"period": str, "line": "Int64"})
    lost = defects[(defects["recoverable"] == False) & defects["line"].notna()].copy()  # noqa: E712
    lost["as_of"] = lost["period"].str[:4] + "-" + lost["period"].str[4:6]
    # Of the daily snapshots only the month's last one is read.
    month_end = pd.PeriodIndex(lost["as_of"], freq="M").end_time.strftime("%Y%m%d")
    lost = lost[~lost["feed"].isin(DAILY_SNAPSHOTS) | (lost["period"] == month_end)]
    rows = []
    for _, d in diffs.iterrows():
        causes = lost[(lost["as_of"] == d["as_of"]) & lost["feed"].isin(METRIC_FEEDS.get(d["metric"], set()))]
        moved = max(abs(_or0(d["numerator_truth"]) - _or0(d["numerator_warehouse"])),
                    abs(_or0(d["denominator_truth"]) - _or0(d["denominator_warehouse"])))
        national = d["region"] == "ID" and d["breakdown"] == "" and d["metric"] != "K9_rupiah"
        if d["region"] == "ID":
            causes = causes[~_emptied_region(causes)]
        rows.append({**d[KEY].to_dict(), "moved": moved, "defects": len(causes),
                     "kinds": ", ".join(f"{k}×{n}" for k, n in causes["kind"].value_counts().items()),
                     "explained": len(causes) > 0 and (not national or moved <= len(causes))})
    return pd.DataFrame(rows, columns=[*KEY, "moved", "defects", "kinds", "explained"])


def _emptied_region(defects: pd.DataFrame) -> pd.Series:
    """Defects whose row loaded with its region emptied: the row still counts nationally."""
    return (defects["handling"] == "empty") & (defects["column"] == "kode_wilayah")


def _or0(x) -> float:
    return 0.0 if pd.isna(x) else float(x)
