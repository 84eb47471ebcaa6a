"""Dashboard accounts: each user is mapped to one database role (`access.web_user`).

Passwords are stored as scrypt hashes with a per-user salt.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

import psycopg

from ingestion import access

TABLE = """
create table if not exists access.web_user (
    username text primary key,
    password_hash text not null,
    role_name text not null,
    created_at timestamptz not null default now()
);
grant select on access.web_user to sinergi_web;
"""
_SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class User:
    username: str
    role: str

    @property
    def province(self) -> str | None:
        """The province a regional analyst is limited to (None for national roles)."""
        match = access.PROVINCE_ROLE.match(self.role)
        return match.group(1) if match else None

    @property
    def sees_names(self) -> bool:
        return self.role == access.AUDITOR

    @property
    def kind(self) -> str:
        return {access.ANALYST: "Analis nasional", access.AUDITOR: "Auditor"}.get(
            self.role, f"Analis wilayah {self.province}")


def _hash(password: str, salt: bytes) -> str:
    return salt.hex() + "$" + hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT).hex()


def _role_for(url: str, role: str) -> str:
    """`analyst`, `auditor` or `wilayah:PP` (or the role's own name) -> the database role."""
    if role in ("analyst", access.ANALYST):
        return access.ANALYST
    if role in ("auditor", access.AUDITOR):
        return access.AUDITOR
    if role.startswith("wilayah:"):
        return access.add_province_role(url, role.split(":", 1)[1])
    if access.PROVINCE_ROLE.match(role):
        return access.add_province_role(url, role[-2:])
    raise ValueError(f"Peran tidak dikenal: {role!r}. Pakai analyst, auditor atau wilayah:<kode provinsi>.")


def add(url: str, username: str, password: str, role: str) -> User:
    """Create or update a user (idempotent)."""
    if len(password) < 8:
        raise ValueError("Kata sandi minimal 8 karakter.")
    db_role = _role_for(url, role)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE)
        conn.execute("insert into access.web_user (username, password_hash, role_name) values (%s, %s, %s) "
                     "on conflict (username) do update set password_hash = excluded.password_hash, "
                     "role_name = excluded.role_name",
                     (username, _hash(password, os.urandom(16)), db_role))
    return User(username, db_role)


def authenticate(url: str, username: str, password: str) -> User | None:
    with psycopg.connect(url) as conn:
        if not conn.execute("select to_regclass('access.web_user')").fetchone()[0]:
            return None
        row = conn.execute("select password_hash, role_name from access.web_user where username = %s",
                           (username,)).fetchone()
    if not row:
        return None
    salt, _ = row[0].split("$", 1)
    if not hmac.compare_digest(row[0], _hash(password, bytes.fromhex(salt))):
        return None
    return User(username, row[1])
