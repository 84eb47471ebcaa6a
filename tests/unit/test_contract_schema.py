"""contracts.yml is validated data: an unknown key or a name that points nowhere stops the loader with the
place of the mistake (in Bahasa), and the Great Expectations suites' value sets are the contract's. No
database needed."""
from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
import yaml

from ingestion import contract_schema, contracts
from simulator import defects
from sinergi.core import settings

RAW = yaml.safe_load(resources.files("ingestion").joinpath("contracts.yml").read_text(encoding="utf-8"))


def _refused(change) -> str:
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(contract_schema.ContractError) as refused:
        contracts.build(contract_schema.validate(raw))
    return str(refused.value)


def test_the_projects_contracts_validate_and_build():
    built = contracts.build(contract_schema.validate(copy.deepcopy(RAW)))
    assert built.feeds.keys() == contracts.load().feeds.keys() and len(built.families) == len(RAW["deliveries"])


@pytest.mark.parametrize("where, change", [
    ("feeds.koperasi.columns.nama_koperasi.requried", lambda r: r["feeds"]["koperasi"]["columns"]["nama_koperasi"].update(requried=True)),
    ("feeds.koperasi.columns.bentuk.value", lambda r: r["feeds"]["koperasi"]["columns"]["bentuk"].update(value=["Primer"])),
    ("formats.bpjs_csv.delimeter", lambda r: r["formats"]["bpjs_csv"].update(delimeter=";")),
    ("deliveries.0.fomat", lambda r: r["deliveries"][0].update(fomat="ods_csv")),
    ("snapshot_min_ratoi", lambda r: r.update(snapshot_min_ratoi=0.5)),
])
def test_a_misspelt_key_is_refused_where_it_is(where, change):
    message = _refused(change)
    assert where in message and "kunci tidak dikenal" in message


@pytest.mark.parametrize("change, says", [
    (lambda r: r["feeds"]["kur"]["columns"]["plafon"].update(type="rupiah"), "plafon.type"),
    (lambda r: r["feeds"]["kur"].update(kind="harian"), "kur.kind"),
    (lambda r: r["formats"]["bpjs_csv"].update(decimal=";"), "bpjs_csv.decimal"),
    (lambda r: r["periods"].update(months_ahead="1"), "periods.months_ahead"),
    (lambda r: r["feeds"]["koperasi"]["columns"]["nama_koperasi"].pop("type"), "wajib diisi"),
])
def test_a_wrong_value_is_refused(change, says):
    assert says in _refused(change)


@pytest.mark.parametrize("change, says", [
    (lambda r: r["feeds"]["koperasi"].update(key=["nik_kop"]), "key menyebut kolom yang tidak ada: nik_kop"),
    (lambda r: r["feeds"]["pengurus"]["columns"]["tgl_mulai"].update(not_before="tgl_lahr"), "tgl_lahr"),
    (lambda r: r["feeds"]["kur"]["columns"]["plafon"]["limits_by"].update(column="skim"), "skim"),
    (lambda r: r["feeds"]["pengurus"]["columns"]["nama_lengkap"].update(stands_in_for="jenis_kelamin"),
     "bukan kolom kunci"),
    (lambda r: r["feeds"]["umkm"].update(source="kemenkop_lama"), "feeds.umkm.source 'kemenkop_lama'"),
    (lambda r: r["deliveries"][0].update(format="ods_cvs"), "deliveries[0].format 'ods_cvs'"),
    (lambda r: r["deliveries"][0].update(feed="koperasii"), "deliveries[0].feed 'koperasii'"),
    (lambda r: r["deliveries"][0].update(name="koperasi_(\\d{8})\\.csv"), "(?P<period>...)"),
    (lambda r: r["deliveries"][0].update(name="koperasi_(?P<period>\\d{8}\\.csv"), "bukan ekspresi reguler"),
    (lambda r: r["labels"].update(nik_ktp=["NIK KTP"]), "labels.nik_ktp"),
])
def test_a_name_that_points_nowhere_is_refused(change, says):
    assert says in _refused(change)


@pytest.mark.parametrize("change, says", [
    (lambda r: r["feeds"]["kur"]["columns"]["plafon"].update(empty_on=["amount_out_of_limits"]), "kolom wajib"),
    (lambda r: r["feeds"]["peserta"]["columns"]["nama"].update(type="region", empty_on=["region_unknown"]),
     "data pribadi"),
    (lambda r: r["feeds"]["peserta"]["columns"]["upah"].update(empty_on=["region_unknown"]),
     "region_unknown bukan masalah kolom bertipe amount"),
    (lambda r: r["feeds"]["peserta"]["columns"]["upah"].update(empty_on=["amount_out_of_limits"]), "tanpa limits_by"),
    (lambda r: r["feeds"]["peserta"].update(key=["kpj", "kode_wilayah"]), "kolom kunci tidak boleh dikosongkan"),
    (lambda r: r["feeds"]["peserta"]["columns"]["kode_wilayah"].update(empty_on=["date_future"]),
     "peserta.columns.kode_wilayah.empty_on"),
])
def test_a_value_that_must_not_be_emptied_is_refused(change, says):
    """`empty_on` only for a value that says nothing about who the row is or whether it counts."""
    assert says in _refused(change)


def test_the_generator_empties_exactly_the_values_the_contract_empties():
    """The truth (simulator/defects.py `emptied_in`) and the loader (`empty_on`) agree, feed by feed."""
    declared = {(kind, feed.name) for feed in contracts.load().feeds.values() for col in feed.columns.values()
                for kind in col.empty_on}
    simulated = {(kind.name, feed) for kind in defects.KINDS.values() for feed in kind.emptied_in}
    assert declared == simulated == {("region_unknown", "peserta"), ("region_unknown", "umkm"),
                                     ("region_unknown", "kur")}


def _suite_value_sets() -> dict[tuple[str, str], list[str]]:
    sets = {}
    for path in sorted((settings.PROJECT_ROOT / "expectations" / "suites").glob("*.json")):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            if expectation["type"] == "expect_column_values_to_be_in_set":
                sets[(path.stem, expectation["kwargs"]["column"])] = expectation["kwargs"]["value_set"]
    return sets


def test_every_suites_value_set_is_the_contracts_values():
    """The suites judge a batch whose sender changed its vocabulary: the same lists the loader applies."""
    suites = _suite_value_sets()
    declared = {(feed.name, col.name): list(col.values) for feed in contracts.load().feeds.values()
                for col in feed.columns.values() if col.values is not None}
    assert suites.keys() <= declared.keys(), "a suite checks a value set the contract does not declare"
    assert {k: sorted(v) for k, v in suites.items()} == {k: sorted(declared[k]) for k in suites}
