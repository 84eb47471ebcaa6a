"""Keyed pseudonyms, so records join across agencies without the NIK itself.

- `token(nik)`: HMAC-SHA256 of the NIK, its first 96 bits as 24 hexadecimal characters. Truncating an HMAC
  keeps it a keyed function (RFC 2104 section 5 allows truncation to any length of at least 80 bits); the
  collision analysis is in docs/ingestion.md ("Tokens").
- `identities(niks, names)`: the vault's key of one NIK *and spelling* of a name, 128 bits of SipHash-2-4
  under two keys derived from the pseudonym key (vectorised: a million in a fraction of a second). Raw rows
  carry it (`_identity`) so the vault keeps each person and spelling once.

The key never lives in the repository: it comes from the environment (SINERGI_PSEUDONYM_KEY) or, under
Airflow, from a connection's password. The same NIK gives the same token for as long as the key is kept.
"""
from __future__ import annotations

import binascii
import hashlib
import hmac
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import config

MIN_KEY_LENGTH = 16
TOKEN_HEX = 24                       # 96 bits
TOKEN_PATTERN = f"^[0-9a-f]{{{TOKEN_HEX}}}$"
# Tokens of warehouses loaded before issue 19 were the whole digest; their first 24 characters are the
# token of today (the migration shortens them without the key).
LEGACY_TOKEN_HEX = 64


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
        self._siphash = tuple(_siphash_key(key, label) for label in (b"identity:1", b"identity:2"))

    def token(self, nik: str | None) -> str | None:
        if nik is None:
            return None
        inner = self._inner.copy()
        inner.update(nik.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:TOKEN_HEX]

    def tokens(self, niks: list) -> list:
        return [self.token(n) for n in niks]

    def identities(self, niks: pa.Array, names: pa.Array) -> pa.Array:
        """The vault key of each (NIK, name as written) pair, as 32 hexadecimal digits (PostgreSQL reads
        them as a uuid); NULL where both are NULL. Equal pairs give equal keys; nothing about the pair can
        be learnt from the key without the pseudonym key."""
        both = pc.binary_join_element_wise(niks, names, "\x1f", null_handling="replace", null_replacement="")
        values = both.to_numpy(zero_copy_only=False)
        halves = np.empty((len(values), 2), dtype=">u8")
        for i, key in enumerate(self._siphash):
            halves[:, i] = pd.util.hash_array(values, hash_key=key, categorize=False)
        hexed = pa.py_buffer(binascii.hexlify(halves.tobytes()))
        keys = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), len(values), [None, hexed])
        absent = pc.and_(pc.is_null(niks), pc.is_null(names))
        return pc.if_else(absent, pa.scalar(None, pa.string()), keys.cast(pa.binary()).cast(pa.string()))

    def check(self) -> None:
        """The fast path equals the standard library's HMAC (guards the pad arithmetic)."""
        expected = hmac.new(self._key, b"3513010101900001", "sha256").hexdigest()[:TOKEN_HEX]
        assert self.token("3513010101900001") == expected


def _siphash_key(key: bytes, label: bytes) -> str:
    """A 16-character SipHash key derived from the pseudonym key (pandas encodes it as UTF-8, so only
    ASCII characters keep it 16 bytes: 112 bits of key)."""
    return "".join(chr(b & 0x7F) for b in hmac.new(key, label, "sha256").digest()[:16])


def from_environment() -> Pseudonymiser:
    key = os.environ.get(config.ENV_PSEUDONYM_KEY)
    if not key:
        raise MissingKey(f"{config.ENV_PSEUDONYM_KEY} belum diisi: isi dengan kunci rahasia (minimal "
                         f"{MIN_KEY_LENGTH} karakter) dari pengelola kunci, jangan disimpan di repositori")
    return Pseudonymiser(key)
