"""Every code a user meets on the dashboard or in the report has a Bahasa Indonesia label, defined once:
quarantine reasons (ingestion/reasons.py), metric breakdowns and K3 reasons (sinergi/core/labels.py)."""
from __future__ import annotations

import ast
import csv
import re

from ingestion import reasons
from simulator import defects
from sinergi.core import labels, settings

INGESTION = settings.PROJECT_ROOT / "ingestion"
METRIC_ENTITIES = settings.PROJECT_ROOT / "dbt_project" / "models" / "marts" / "analysts" / "fct_metric_entities.sql"


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _strings(node: ast.AST, assigned: dict[str, set[str]]) -> set[str]:
    """The string constants an expression can be: a literal, either branch of `a if c else b`, or a name
    assigned such (`reason = "too_many_fields" if ... else "too_few_fields"`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned) | _strings(node.orelse, assigned)
    if isinstance(node, ast.Name):
        return assigned.get(node.id, set())
    return set()


def _reason_field(node: ast.AST, assigned) -> set[str]:
    """The reason of a quarantine tuple `(line, reason, ...)`."""
    return _strings(node.elts[1], assigned) if isinstance(node, ast.Tuple) and len(node.elts) >= 3 else set()


def _quarantine_codes() -> set[str]:
    """Every reason code the ingestion code writes to the quarantine: the reason argument of
    `Problems.flag(mask, reason, ...)` (values.py), and the reason field of the rows appended to a reader's
    `structural` list (readers.py) or added to a chunk's `quarantined` list (loader.py)."""
    codes: set[str] = set()
    for path in sorted(INGESTION.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned: dict[str, set[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, set()).update(_strings(node.value, {}))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "flag" and len(node.args) >= 2:
                codes |= _strings(node.args[1], assigned)
            elif isinstance(node, ast.Call) and _name(node.func) == "append" and node.args \
                    and _name(node.func.value) == "structural":
                codes |= _reason_field(node.args[0], assigned)
            elif isinstance(node, ast.AugAssign) and _name(node.target) == "quarantined":
                for part in ast.walk(node.value):
                    codes |= _reason_field(part, assigned)
    return codes


def test_every_quarantine_reason_the_loader_writes_has_a_label_and_every_label_a_reason():
    written = _quarantine_codes()
    assert len(written) >= 20                                # the scan finds the codes (values, readers, loader)
    assert written - set(reasons.QUARANTINE) == set(), "reason codes without a label in dbt_project/seeds/ref_labels.csv"
    assert set(reasons.QUARANTINE) - written == set(), "labels of codes nothing writes"
    assert not set(reasons.RETIRED) & written, "a code still written is not retired"
    assert reasons.label("nik_bad_date") != "nik_bad_date"  # older ledgers still read
    quarantined_kinds = {k.name for k in defects.KINDS.values() if k.handling == "quarantine"}
    assert quarantined_kinds <= set(reasons.QUARANTINE)     # the generator's defects, as the loader names them
    for code, label in reasons.QUARANTINE.items():
        assert label and label != code and "_" not in label


def _jinja_list(sql: str, name: str) -> list[str]:
    found = re.search(r"\{%\s*set\s+" + name + r"\s*=\s*\[([^\]]*)\]\s*%\}", sql)
    assert found, f"{name} is no longer a list in {METRIC_ENTITIES.name}"
    return re.findall(r"'([^']*)'", found.group(1))


def test_the_k3_reasons_and_link_rules_of_the_warehouse_have_labels():
    sql = METRIC_ENTITIES.read_text(encoding="utf-8")
    assert set(_jinja_list(sql, "reasons")) == set(labels.LICENSING_REASONS)
    assert set(_jinja_list(sql, "link_rules")) == set(labels.LINK_RULES)


def test_each_dimension_is_either_coded_with_labels_or_shown_as_sent():
    coded = labels.coded_dimensions()
    assert coded | labels.AS_SENT == set(labels.DIMENSIONS) and not coded & labels.AS_SENT
    for dimension in coded:
        assert labels.values(dimension)
    assert labels.values("program")["JKK"] == "Jaminan Kecelakaan Kerja (JKK)"    # from the dbt seed
    assert labels.values("karantina")["bpjstk"] == "BPJS Ketenagakerjaan"         # from the contracts


def test_breakdown_keys_read_as_bahasa():
    assert labels.breakdown("jenis_koperasi=Jasa") == "Jenis koperasi: Jasa"
    assert labels.breakdown("skala_usaha=Kecil") == "Skala usaha: Kecil"
    assert labels.breakdown("alasan=koperasi_lain") == "Alasan tanpa rekomendasi sah: Rekomendasi untuk koperasi lain"
    assert labels.breakdown("segmen=BPU") == "Segmen peserta: Bukan penerima upah (BPU)"
    assert labels.breakdown("karantina=himbara") == "Baris dikarantina: Bank Himbara"
    assert labels.quarantine_reason("amount_negative") == "Nilai uang negatif"


def test_every_ledger_status_has_one_label_read_by_the_command_line_and_the_report():
    """One list: the ledger's check constraint (ingestion/schema.py) names the statuses, labels.LOAD_STATUS
    names them in Bahasa (plus `skipped`, a run's outcome that is never a ledger row)."""
    ddl = (INGESTION / "schema.py").read_text(encoding="utf-8")
    ledger = set(re.findall(r"'(\w+)'", re.search(r"check \(status in \(([^)]*)\)\)", ddl).group(1)))
    assert set(labels.LOAD_STATUS) == ledger | {"skipped"}
    for module in ("cli/ingest.py", "serve/report.py", "serve/web/app.py"):
        source = (settings.PROJECT_ROOT / "sinergi" / module).read_text(encoding="utf-8")
        assert not any(f'"{label}"' in source for label in labels.LOAD_STATUS.values()), module


def test_the_metric_catalogue_is_one_file_that_the_code_and_pages_read():
    """Names, kinds and definitions of the metrics live in the dbt seed ref_metrics (the warehouse's test
    assert_every_metric_is_in_the_catalogue ties it to fct_metrics); nothing else spells a metric's kind."""
    from sinergi.warehouse import dbt_runner, metrics
    assert list(metrics.NAMES) == ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K9_rupiah", "Q1"]
    assert set(metrics.KINDS.values()) == {"bagian", "jumlah", "rupiah"}
    assert all(metrics.DEFINITIONS[m] and metrics.MARTS[m] for m in metrics.NAMES)
    assert dbt_runner.METRIC_MARTS is metrics.MARTS
    pages = [*(settings.PROJECT_ROOT / "sinergi").rglob("*.html"), *(settings.PROJECT_ROOT / "sinergi").rglob("*.py")]
    spelled = [p.name for p in pages if re.search(r"""["']K9_rupiah["']""", p.read_text(encoding="utf-8"))]
    assert spelled == [], "a metric's kind spelt outside the catalogue"


def test_each_code_list_is_one_vocabulary_of_the_seed_and_each_is_read():
    """ref_labels.csv holds every code list once (no code twice in a list, no empty label), and each list
    is read by the loader's reasons or the screens' labels: nothing in it is dead."""
    from ingestion import vocabulary
    seen: set[tuple[str, str]] = set()
    with vocabulary.SEED.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert (row["vocabulary"], row["code"]) not in seen and row["label"].strip(), row
            seen.add((row["vocabulary"], row["code"]))
    readers = "".join((settings.PROJECT_ROOT / p).read_text(encoding="utf-8")
                      for p in ("ingestion/reasons.py", "sinergi/core/labels.py"))
    assert [v for v in vocabulary.vocabularies() if f'"{v}"' not in readers] == []
