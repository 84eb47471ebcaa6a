"""What the codes in the marts and the ledger mean, in Bahasa Indonesia: each vocabulary is defined once,
as data, in the dbt seed `ref_labels.csv` (`ingestion.vocabulary`), and read here for the dashboard
(`sinergi/serve/web`) and the auditors' report (`sinergi/serve/report.py`).

Metric breakdowns are `dimension=value` keys (`marts.fct_metrics.breakdown`): every dimension has a label;
where the values are codes (`alasan=koperasi_lain`), every value has one too; elsewhere the value is the
sender's own word (`jenis_koperasi=Jasa`, `skala_usaha=Kecil`) and is shown as sent. Quarantine reasons
are read through `ingestion/reasons.py`; the programmes' names in the dbt seed
`ref_programmes.csv`, the senders' in `ingestion/contracts.yml`. Screens show the label and keep the code
at hand (a tooltip on the dashboard, a second column or small print in the report) for engineers.
tests/unit/test_labels.py fails when a code the warehouse produces has no label.
"""
from __future__ import annotations

import csv
from functools import lru_cache

from ingestion import contracts, reasons, vocabulary
from sinergi.core import settings

PROGRAMMES_SEED = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "ref_programmes.csv"

# K3: why an approved licence decision has no valid recommendation (`fct_licensing_compliance.alasan`).
LICENSING_REASONS = vocabulary.labels("licensing_reason")
# Q1: the rule that linked a cooperative to an employer (`link_rule`), strongest first.
LINK_RULES = vocabulary.labels("link_rule")
# A delivered file's fate in the ledger (`audit.load.status`) and its Great Expectations verdict (`quality`).
# `skipped` is an outcome a run reports (a file left for later), never a ledger row.
LOAD_STATUS = vocabulary.labels("load_status")
QUALITY = vocabulary.labels("quality")

# Person linkage (issue 17): the feeds whose records are linked to participants, the review queue's kinds
# and decisions, the feed pairs and the bias check's dimensions (fct_linkage_quality, fct_linkage_bias).
LINK_FEEDS = vocabulary.labels("link_feed")
REVIEW_KINDS = vocabulary.labels("review_kind")
REVIEW_DECISIONS = vocabulary.labels("review_decision")
LINK_PAIRS = vocabulary.labels("link_pair")
LINK_DIMENSIONS = vocabulary.labels("link_dimension")
SEXES = vocabulary.labels("sex")

# Where a target stands against its projection (sinergi/warehouse/targets.py `status`).
TARGET_STATUS = vocabulary.labels("target_status")
# Worklists and follow-up campaigns (issue 20): the worklist's sections and a campaign's kind of scope.
WORKLIST_SECTIONS = vocabulary.labels("worklist_section")
CAMPAIGN_SCOPES = vocabulary.labels("campaign_scope")

DIMENSIONS = vocabulary.labels("breakdown_dimension")
# Dimensions whose values are the senders' own words, shown as sent.
AS_SENT = {"jenis_koperasi", "jenis_layanan", "bank", "skema", "skala_usaha", "pekerjaan"}
_CODED = {"alasan": LICENSING_REASONS, "cara": LINK_RULES,
          **{d: vocabulary.labels(d) for d in ("peran", "temuan", "kesesuaian_status", "segmen", "kelompok")}}


@lru_cache(maxsize=1)
def programmes() -> dict[str, str]:
    """`JKK` -> `Jaminan Kecelakaan Kerja (JKK)`, from the seed the warehouse's dim_programme is built on."""
    with PROGRAMMES_SEED.open(encoding="utf-8") as f:
        return {r["program"]: f"{r['program_name']} ({r['program']})" for r in csv.DictReader(f)}


def senders() -> dict[str, str]:
    """`bpjstk` -> `BPJS Ketenagakerjaan`, as the contracts name each sender."""
    return {code: source["name"] for code, source in contracts.load().sources.items()}


def values(dimension: str) -> dict[str, str] | None:
    """The labels of a dimension's coded values; None where its values are shown as sent."""
    if dimension == "program":
        return programmes()
    if dimension == "karantina":
        return senders()
    return _CODED.get(dimension)


def coded_dimensions() -> set[str]:
    return {*_CODED, "program", "karantina"}


def breakdown(key: str) -> str:
    """`alasan=koperasi_lain` -> `Alasan tanpa rekomendasi sah: Rekomendasi untuk koperasi lain`;
    `jenis_koperasi=Jasa` -> `Jenis koperasi: Jasa`. A key without a label is shown as it is."""
    dimension, _, value = key.partition("=")
    return f"{DIMENSIONS.get(dimension, dimension)}: {(values(dimension) or {}).get(value, value)}"


def label(vocabulary_name: str, code: str | None) -> str | None:
    """A code's label in one vocabulary of the seed; the code itself when it has none."""
    found = {"licensing_reason": LICENSING_REASONS, "worklist_section": WORKLIST_SECTIONS,
             "campaign_scope": CAMPAIGN_SCOPES}.get(vocabulary_name) or values(vocabulary_name) or {}
    return found.get(code, code) if code else code


def licensing_reason(code: str | None) -> str | None:
    return LICENSING_REASONS.get(code, code) if code else code


def quarantine_reason(code: str) -> str:
    return reasons.label(code)


def register(env) -> None:
    """The labels as Jinja filters (`{{ b.breakdown | rincian }}`) and dictionaries, for both sites."""
    env.filters.update(rincian=breakdown, alasan_karantina=quarantine_reason, alasan_perizinan=licensing_reason)
    env.globals.update(licensing_reasons=LICENSING_REASONS, status_names=LOAD_STATUS, quality_names=QUALITY,
                       link_feeds=LINK_FEEDS, link_kinds=REVIEW_KINDS, link_decisions=REVIEW_DECISIONS,
                       link_pairs=LINK_PAIRS, link_dimensions=LINK_DIMENSIONS, sexes=SEXES,
                       target_status=TARGET_STATUS)
