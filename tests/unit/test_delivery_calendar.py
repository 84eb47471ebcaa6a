"""The senders' calendar the warehouse publishes by (a dbt seed) covers exactly the contracts' deliveries."""
from __future__ import annotations

import csv

from ingestion import contracts
from sinergi.warehouse import dbt_runner


def test_every_contract_delivery_has_a_due_day_and_nothing_else_does():
    with open(dbt_runner.DBT_DIR / "seeds" / "ref_delivery_calendar.csv", newline="", encoding="utf-8") as f:
        calendar = {(r["sender"], r["unit"], r["feed"]): r for r in csv.DictReader(f)}
    c = contracts.load()
    wanted = set()
    for family in c.families:
        unit = "*" if "{unit}" in family.unit else family.unit
        feeds = [family.feed] if family.feed else [f.name for f in c.feeds.values() if f.source == family.sender]
        wanted |= {(family.sender, unit, feed) for feed in feeds}
    assert set(calendar) == wanted
    for key, row in calendar.items():
        assert 1 <= int(row["due_day"]) <= 28, key
        # A daily snapshot owes its month-end file; a monthly report the file of the month.
        daily = r"\d{8}" in next(f.name for f in c.families if f.sender == key[0] and (f.feed in (None, key[2])))
        assert row["month_file"] == ("month_end" if daily else "month"), key
