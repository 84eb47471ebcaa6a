"""Why a row is quarantined: every reason code the loader writes to `audit.quarantine`, with the label a
person reads on the dashboard and in the auditors' report (Bahasa Indonesia), from the seed
`dbt_project/seeds/ref_labels.csv` (vocabularies `quarantine_reason` and `quarantine_reason_retired`).

The codes are the generator's defect kinds (`simulator/defects.py`) and what engineers search the
ledger by (`sinergi quarantine --file ... --reason ...`, docs/runbooks.md); the labels are for everyone else (`marts.fct_quarantine_reasons.reason_label`). The
checks in `values.py`, the readers (`readers.py`) and the loader (`loader.py`) write these codes;
tests/unit/test_labels.py fails when one of them has no label here, or a label no code.

`region_unknown` and `amount_out_of_limits` are also the kinds of the repair that empties such a value
where the contract says so (`empty_on`: the row loads with the value NULL, `audit.repair` keeps the
value as sent); the label reads the same for both.
"""
from __future__ import annotations

from . import vocabulary

QUARANTINE = vocabulary.labels("quarantine_reason")
# Codes the loader no longer writes but older ledgers hold: their rows keep a readable reason.
RETIRED = vocabulary.labels("quarantine_reason_retired")


def label(code: str) -> str:
    """The label of a quarantine reason code (the code itself if it has none)."""
    return QUARANTINE.get(code) or RETIRED.get(code, code)
