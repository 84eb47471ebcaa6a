"""The landing folder on its own (`ingestion.landing`), on a real folder: what waits in it, what is refused
before anything moves, and moves out of it."""
from __future__ import annotations

import os
import time

import pytest

from ingestion import contracts, landing

FILE = "bpjstk/0101/peserta_0101_202401.csv"


@pytest.fixture(scope="module")
def rules():
    return contracts.load()


def _put(root, rel: str, age: float = 0.0, text: str = "a\n"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_waiting_files_oldest_delivery_first_without_handled_hidden_or_control_files(tmp_path):
    _put(tmp_path, "bpjstk/0101/b.csv", age=10)
    _put(tmp_path, "bpjstk/0101/a.csv", age=20)
    _put(tmp_path, "himbara/mandiri/kur.csv", age=5)
    _put(tmp_path, "himbara/mandiri/kur.csv.ctl")
    _put(tmp_path, "bpjstk/0101/.~lock.b.csv#")
    _put(tmp_path, "_archive/bpjstk/0101/00000001_old.csv")
    _put(tmp_path, "bpjstk/_rejected/x.csv")
    assert landing.discover(tmp_path) == ["bpjstk/0101/a.csv", "bpjstk/0101/b.csv", "himbara/mandiri/kur.csv"]
    assert landing.discover(tmp_path, "himbara") == ["himbara/mandiri/kur.csv"]


def test_symbolic_links_are_listed_apart_and_never_waiting(tmp_path):
    target = _put(tmp_path, "elsewhere.csv")
    (tmp_path / "bpjstk").mkdir()
    (tmp_path / "bpjstk" / "link.csv").symlink_to(target)
    assert landing.links(tmp_path) == ["bpjstk/link.csv"]
    assert landing.discover(tmp_path, "bpjstk") == []


def test_a_move_takes_the_control_file_along_and_a_vanished_file_is_no_error(tmp_path):
    _put(tmp_path, "himbara/mandiri/kur.csv")
    _put(tmp_path, "himbara/mandiri/kur.csv.ctl")
    landing.move(tmp_path, "himbara/mandiri/kur.csv", "_archive/himbara/mandiri/00000007_kur.csv")
    assert sorted(p.name for p in (tmp_path / "_archive/himbara/mandiri").iterdir()) == [
        "00000007_kur.csv", "00000007_kur.csv.ctl"]
    assert not (tmp_path / "himbara/mandiri/kur.csv").exists()
    landing.move(tmp_path, "himbara/mandiri/kur.csv", "_archive/himbara/mandiri/00000008_kur.csv")
    landing.write_reason(tmp_path, "_archive/himbara/mandiri/00000007_kur.csv", "Alasan: contoh\n")
    assert (tmp_path / "_archive/himbara/mandiri/00000007_kur.csv.alasan.txt").read_text() == "Alasan: contoh\n"


def test_signature_changes_when_a_file_is_still_being_written(tmp_path):
    path = _put(tmp_path, FILE, age=60)
    before = landing.signature(path)
    with open(path, "a") as f:
        f.write("more\n")
    assert landing.signature(path) != before


@pytest.mark.parametrize("make, says", [
    (lambda root: root / "missing", "tidak ada"),
    (lambda root: _put(root, "file.txt"), "bukan folder"),
    (lambda root: root, "kosong"),
    (lambda root: (root / "landing" / "bpjstk").mkdir(parents=True) or root, "induknya"),
    (lambda root: (root / "other").mkdir() or root, "tidak berisi folder pengirim"),
])
def test_a_folder_that_cannot_be_a_landing_folder_is_refused(tmp_path, rules, make, says):
    with pytest.raises(landing.NotALanding, match=says):
        landing.validate(make(tmp_path), rules)


def test_a_folder_with_a_sender_folder_is_a_landing_folder(tmp_path, rules):
    (tmp_path / "kemenkop").mkdir()
    landing.validate(tmp_path, rules)
