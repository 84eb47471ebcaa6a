"""Keyed pseudonyms for NIKs (HMAC-SHA256), so records join across agencies without the NIK itself.

The key never lives in the repository: it comes from the environment (SINERGI_PSEUDONYM_KEY) or, under
Airflow, from a connection's password. The same NIK gives the same token for as long as the key is kept.
"""
from __future__ import annotations

import hashlib
import hmac
import os

from . import config

MIN_KEY_LENGTH = 16


class MissingKey(RuntimeError):
    pass


class Pseudonymiser:
    def __init__(self, key: str | bytes):
        key = key.encode() if isinstance(key, str) else key
        if len(key) < MIN_KEY_LENGTH:
            raise MissingKey(f"kunci pseudonim terlalu pendek (minimal {MIN_KEY_LENGTH} karakter)")
        # HMAC's inner and outer pads hashed once; each token then costs two short SHA-256 updates.
        block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._key = key

    def token(self, nik: str | None) -> str | None:
        if nik is None:
            return None
        inner = self._inner.copy()
        inner.update(nik.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def tokens(self, niks: list) -> list:
        return [self.token(n) for n in niks]

    def check(self) -> None:
        """The fast path equals the standard library's HMAC (guards the pad arithmetic)."""
        assert self.token("3513010101900001") == hmac.new(self._key, b"3513010101900001", "sha256").hexdigest()


def from_environment() -> Pseudonymiser:
    key = os.environ.get(config.ENV_PSEUDONYM_KEY)
    if not key:
        raise MissingKey(f"{config.ENV_PSEUDONYM_KEY} belum diisi: isi dengan kunci rahasia (minimal "
                         f"{MIN_KEY_LENGTH} karakter) dari pengelola kunci, jangan disimpan di repositori")
    return Pseudonymiser(key)
