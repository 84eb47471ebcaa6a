"""One vocabulary of roles: the names people type resolve to the reader roles, and every role the dbt
project, the access DDL or the dashboard's SQL names is one the product defines."""
from __future__ import annotations

import re

import pytest

from sinergi.core import settings
from sinergi.warehouse import roles

DEFINED = {roles.LOADER, roles.TRANSFORMER, roles.ANALYST, roles.AUDITOR, roles.REGIONAL, roles.BRANCH, roles.WEB}


@pytest.mark.parametrize("name, role", [("analyst", roles.ANALYST), ("auditor", roles.AUDITOR),
                                        (roles.AUDITOR, roles.AUDITOR), (roles.ANALYST, roles.ANALYST)])
def test_the_names_people_type_resolve_to_reader_roles(name, role):
    assert roles.resolve("postgresql://unused/db", name) == role
    assert roles.is_reader(role)


@pytest.mark.parametrize("name", ["admin", roles.LOADER, roles.TRANSFORMER, roles.WEB, "postgres", ""])
def test_owners_and_unknown_names_are_refused(name):
    with pytest.raises(ValueError, match="Peran tidak dikenal"):
        roles.resolve("postgresql://unused/db", name)
    assert not roles.is_reader(name)


def test_a_province_role_is_a_reader_limited_to_its_province():
    assert roles.is_reader("sinergi_wilayah_35") and roles.province_of("sinergi_wilayah_35") == "35"
    assert roles.kind("sinergi_wilayah_35") == "Analis wilayah 35" and roles.kind(roles.AUDITOR) == "Auditor"
    assert not roles.is_reader("sinergi_wilayah_3")


def test_a_branch_role_is_a_reader_limited_to_its_service_area():
    assert roles.is_reader("sinergi_cabang_k1301") and roles.branch_of("sinergi_cabang_k1301") == "K1301"
    assert roles.kind("sinergi_cabang_k1301") == "Kantor cabang K1301"
    assert roles.province_of("sinergi_cabang_k1301") is None and roles.branch_of(roles.ANALYST) is None
    assert not roles.is_reader("sinergi_cabang_k13") and not roles.is_reader("sinergi_cabang_K1301")


@pytest.mark.parametrize("name", ["cabang:13", "cabang:", "cabang:K13011", "cabang:K13'; drop"])
def test_a_malformed_branch_code_is_refused_in_bahasa_before_any_database(name):
    with pytest.raises(ValueError, match="Kode kantor cabang harus satu huruf dan empat angka"):
        roles.resolve("postgresql://unused/db", name)


def _named(folder: str, suffixes: tuple[str, ...], pattern: str) -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for path in (settings.PROJECT_ROOT / folder).rglob("*"):
        if path.suffix in suffixes and path.is_file():
            for role in re.findall(pattern, path.read_text(encoding="utf-8")):
                named.setdefault(role, set()).add(path.name)
    return named


def test_every_role_the_dbt_project_or_a_grant_names_is_defined():
    named = _named("dbt_project/macros", (".sql",), r"\bsinergi_\w+")       # the row-level security macro
    for folder in ("dbt_project/models", "ingestion", "sinergi"):
        for role, files in _named(folder, (".sql", ".yml", ".py"), r"\b(?:to|from)\s+(sinergi_\w+)").items():
            named.setdefault(role, set()).update(files)
    assert set(named) - DEFINED == set(), {r: sorted(f) for r, f in named.items() if r not in DEFINED}
    assert {roles.ANALYST, roles.AUDITOR, roles.REGIONAL, roles.WEB} <= set(named)


@pytest.mark.parametrize("text, ok", [("2024-01", True), ("2024-12", True), ("2024-13", False), ("2024-1", False),
                                      ("24-01", False), ("2024-01-01", False), ("", False), (None, False)])
def test_one_month_pattern_for_the_command_line_the_dashboard_and_the_contracts(text, ok):
    assert settings.is_month(text) is ok
