"""Every breakdown and quarantine reason the warehouse holds has its Bahasa label (the lists themselves are
tested without a database in tests/unit/test_labels.py)."""
from __future__ import annotations

import psycopg

from ingestion import reasons
from sinergi.core import labels


def test_every_breakdown_and_quarantine_reason_in_the_warehouse_has_a_label(defective_warehouse):
    with psycopg.connect(defective_warehouse) as conn:
        keys = [r[0] for r in conn.execute("select distinct breakdown from marts.fct_metrics where breakdown <> ''")]
        quarantined = {r[0] for r in conn.execute("select distinct reason from audit.quarantine")}
    dimensions = {key.partition("=")[0] for key in keys}
    assert dimensions >= {"jenis_koperasi", "alasan", "skala_usaha", "karantina", "program", "kelompok"}
    assert dimensions - set(labels.DIMENSIONS) == set(), "breakdown dimensions without a label in dbt_project/seeds/ref_labels.csv"
    unlabelled = [key for key in keys if key.partition("=")[0] in labels.coded_dimensions()
                  and key.partition("=")[2] not in labels.values(key.partition("=")[0])]
    assert unlabelled == [], "breakdown values without a label in dbt_project/seeds/ref_labels.csv"
    assert quarantined and quarantined - set(reasons.QUARANTINE) == set()
