"""The database roles people act as, and the names people give them: one vocabulary for the dashboard's
accounts, the report and the command line.

The roles themselves are made by `ingestion.access` (the loader needs them before anything else); this
module is how the rest of the product names them. A person's role is given as `analyst`, `auditor`,
`wilayah:PP` (a province's analyst), `cabang:KODE` (a BPJS Ketenagakerjaan branch office, e.g.
`cabang:K1301`), or as the database role's own name.
"""
from __future__ import annotations

from ingestion.access import (  # noqa: F401  (re-exported: the product reads roles from here)
    ANALYST,
    AUDITOR,
    BRANCH,
    BRANCH_ROLE,
    LOADER,
    LOADER_SCHEMAS,
    PROVINCE_ROLE,
    REGIONAL,
    TRANSFORMER,
    WEB,
    UnknownBranch,
    add_branch_role,
    add_province_role,
    connect,
    ensure,
    known_branches,
)

REGION_PREFIX = "wilayah:"
BRANCH_PREFIX = "cabang:"
# Short names people type, and what each role is called on the dashboard.
NAMED = {"analyst": ANALYST, "auditor": AUDITOR}
KINDS = {ANALYST: "Analis nasional", AUDITOR: "Auditor"}
HELP = "analyst, auditor, wilayah:<kode provinsi> (mis. wilayah:35) atau cabang:<kode kantor cabang> (mis. cabang:K1301)"


def is_reader(role: str | None) -> bool:
    """Only the reader roles may be a person's role (never an owner, never a superuser)."""
    return bool(role) and (role in KINDS or bool(PROVINCE_ROLE.match(role)) or bool(BRANCH_ROLE.match(role)))


def province_of(role: str) -> str | None:
    match = PROVINCE_ROLE.match(role or "")
    return match.group(1) if match else None


def branch_of(role: str) -> str | None:
    """`sinergi_cabang_k1301` -> `K1301` (None for any other role)."""
    match = BRANCH_ROLE.match(role or "")
    return match.group(1).upper() if match else None


def kind(role: str) -> str:
    if branch_of(role):
        return f"Kantor cabang {branch_of(role)}"
    return KINDS.get(role) or f"Analis wilayah {province_of(role)}"


def resolve(url: str, name: str) -> str:
    """`analyst`, `auditor`, `wilayah:PP`, `cabang:KODE` or a reader role's own name -> the database role (a
    province's or branch's role is created on first use; an unknown branch is refused)."""
    role = NAMED.get(name, name)
    if name.startswith(REGION_PREFIX):
        return add_province_role(url, name[len(REGION_PREFIX):])
    if name.startswith(BRANCH_PREFIX):
        return add_branch_role(url, name[len(BRANCH_PREFIX):])
    if PROVINCE_ROLE.match(role):
        return add_province_role(url, province_of(role))
    if BRANCH_ROLE.match(role):
        return add_branch_role(url, branch_of(role))
    if role in KINDS:
        return role
    raise ValueError(f"Peran tidak dikenal: {name!r}. Pakai {HELP}.")
