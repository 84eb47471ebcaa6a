"""The loader's decisions that need only the file (`ingestion.planning`): its digest, its control file and
whether an empty file can be a quiet day. The decisions that read the ledger are in
tests/integration/test_loader_parts.py."""
from __future__ import annotations

import hashlib

import pytest

from ingestion import contracts, planning
from ingestion.readers import FileProblem

MANDIRI = "himbara/mandiri/kur_mandiri_202401.csv"  # a separate control file `<file>.ctl`
ODS = "kemenkop/ods/perizinan_20240105.jsonl"  # JSON Lines increment without a control line
BTN = "himbara/btn/btn_kur_202401.jsonl.gz"  # JSON Lines with a control line


@pytest.fixture(scope="module")
def rules():
    return contracts.load()


def test_digest_reads_the_whole_file_in_blocks(tmp_path):
    data = b"x" * ((1 << 22) + 17)  # more than one block
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert planning.digest(path) == (len(data), hashlib.sha256(data).hexdigest())


def test_only_a_jsonl_increment_without_control_line_may_be_empty(rules):
    assert planning.quiet_day_possible(rules.match(ODS))
    assert not planning.quiet_day_possible(rules.match(BTN))
    assert not planning.quiet_day_possible(rules.match(MANDIRI))


def _delivered(tmp_path, control: str | None) -> tuple:
    path = tmp_path / "kur_mandiri_202401.csv"
    path.write_bytes(b"id_fasilitas\n1\n2\n")
    if control is not None:
        (tmp_path / "kur_mandiri_202401.csv.ctl").write_text(control, encoding="ascii")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_control_file_gives_the_declared_record_count(tmp_path, rules):
    path, sha = _delivered(tmp_path, None)
    (tmp_path / "kur_mandiri_202401.csv.ctl").write_text(f"records=2\nsha256={sha.upper()}\n", encoding="ascii")
    assert planning.control_totals(path, rules.match(MANDIRI), sha, released=False) == {"records": 2.0}


def test_a_file_whose_control_file_has_not_come_is_held_unless_released(tmp_path, rules):
    path, sha = _delivered(tmp_path, None)
    with pytest.raises(FileProblem) as held:
        planning.control_totals(path, rules.match(MANDIRI), sha, released=False)
    assert (held.value.kind, held.value.status) == ("control_missing", "held")
    assert planning.control_totals(path, rules.match(MANDIRI), sha, released=True) == {}


@pytest.mark.parametrize("control", ["records=2\nsha256=00ff\n", "sha256={sha}\n", "records=dua\nsha256={sha}\n"])
def test_a_control_file_that_does_not_vouch_for_the_bytes_rejects_the_file(tmp_path, rules, control):
    path, sha = _delivered(tmp_path, None)
    (tmp_path / "kur_mandiri_202401.csv.ctl").write_text(control.format(sha=sha), encoding="ascii")
    with pytest.raises(FileProblem) as rejected:
        planning.control_totals(path, rules.match(MANDIRI), sha, released=False)
    assert (rejected.value.kind, rejected.value.status) == ("control_mismatch", "rejected")


def test_formats_without_a_control_file_declare_nothing(tmp_path, rules):
    path = tmp_path / "perizinan_20240105.jsonl"
    path.write_text("{}\n")
    assert planning.control_totals(path, rules.match(ODS), "0" * 64, released=False) == {}
