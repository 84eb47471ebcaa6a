"""Tokens and vault keys: what they must be, whatever the speed tricks behind them."""
from __future__ import annotations

import hashlib
import hmac
import re

import pyarrow as pa
import pytest

from ingestion.pseudonym import TOKEN_HEX, TOKEN_PATTERN, MissingKey, Pseudonymiser

KEY = "kunci-uji-" + "x" * 22


def test_a_token_is_the_start_of_the_nik_s_hmac_sha256():
    pseudo = Pseudonymiser(KEY)
    for nik in ("3513010101900001", "3578226212720001", "0", "3513"):
        whole = hmac.new(KEY.encode(), nik.encode(), hashlib.sha256).hexdigest()
        assert pseudo.token(nik) == whole[:TOKEN_HEX]
        assert re.fullmatch(TOKEN_PATTERN, pseudo.token(nik))
    assert pseudo.token(None) is None
    assert Pseudonymiser("another-key-" + "y" * 20).token("3513010101900001") != pseudo.token("3513010101900001")


def test_vault_keys_tell_pairs_of_nik_and_spelling_apart_and_nothing_else():
    pseudo = Pseudonymiser(KEY)
    niks = pa.array(["3513010101900001", "3513010101900001", "3513010101900001", None, None, "3513010101900002"])
    names = pa.array(["SITI AMINAH", "SITI AMINAH", "SITI AMINAH ", "SITI AMINAH", None, "SITI AMINAH"])
    keys = pseudo.identities(niks, names).to_pylist()
    assert keys[0] == keys[1]                                  # the same pair, the same key
    assert len({keys[0], keys[2], keys[3], keys[5]}) == 4      # another spelling, no NIK, another NIK
    assert keys[4] is None                                     # nothing to keep
    assert all(re.fullmatch("[0-9a-f]{32}", k) for k in keys if k)
    # The key is the pseudonym key's: another key gives other keys (nobody without it can compute one).
    assert Pseudonymiser("another-key-" + "y" * 20).identities(niks, names).to_pylist()[0] != keys[0]
    # A NIK and a name are not confused with the name and the NIK swapped around the separator.
    assert pseudo.identities(pa.array(["A"]), pa.array(["B"])) != pseudo.identities(pa.array(["B"]), pa.array(["A"]))


def test_a_short_key_is_refused():
    with pytest.raises(MissingKey):
        Pseudonymiser("pendek")
