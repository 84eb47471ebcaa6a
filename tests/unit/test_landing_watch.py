"""The landing watcher the triggerer runs (`sinergi.landing_watch.LandingTrigger`), on a real folder: it fires
once for files that have stopped changing, never for a month still being copied in, and again only for new
files."""
from __future__ import annotations

import asyncio
import os
import time

from sinergi.orchestration.landing_watch import LandingTrigger


def _events(trigger: LandingTrigger, during: float, act=None) -> list[dict]:
    """The trigger's events within `during` seconds, while `act(elapsed)` changes the folder."""
    events: list[dict] = []

    async def collect():
        async for event in trigger.run():
            events.append(event.payload)

    async def watch():
        task, started = asyncio.create_task(collect()), time.monotonic()
        while time.monotonic() - started < during:
            if act:
                act(time.monotonic() - started)
            await asyncio.sleep(0.02)
        task.cancel()
    asyncio.run(watch())
    return events


def _deliver(folder, name: str, old: bool = True):
    path = folder / name
    path.write_text("kode_cabang,nik\n")
    if old:  # copied with its times kept (cp -p, rsync -t): already "old" by its modification time
        os.utime(path, (time.time() - 3600, time.time() - 3600))


def test_fires_once_for_settled_files_and_again_only_for_new_ones(tmp_path):
    branch = tmp_path / "bpjstk" / "0101"
    branch.mkdir(parents=True)
    _deliver(branch, "peserta_2024-01.csv")
    trigger = LandingTrigger(str(tmp_path), "bpjstk", poke_interval=0.2, settle_seconds=0.5)
    assert _events(trigger, 1.5) == [{"sender": "bpjstk", "files": 1}]

    def second(elapsed):
        if elapsed > 1.0 and not (branch / "iuran_2024-01.csv").exists():
            _deliver(branch, "iuran_2024-01.csv")
    # The watcher restarts with nothing remembered: the waiting file fires once, the new one after it.
    events = _events(LandingTrigger(str(tmp_path), "bpjstk", poke_interval=0.2, settle_seconds=0.5), 2.5, second)
    assert events == [{"sender": "bpjstk", "files": 1}, {"sender": "bpjstk", "files": 1}]


def test_a_month_still_being_copied_in_waits_until_the_listing_stops_changing(tmp_path):
    branch = tmp_path / "bpjstk" / "0101"
    branch.mkdir(parents=True)
    copied: list[float] = []

    def copy_in(elapsed):  # one old-dated file every 0.2 s for 1.2 s, as `cp -p` of a month would
        if elapsed < 1.2 and (not copied or elapsed - copied[-1] >= 0.2):
            _deliver(branch, f"peserta_{len(copied):03d}.csv")
            copied.append(elapsed)
    events = _events(LandingTrigger(str(tmp_path), "bpjstk", poke_interval=0.1, settle_seconds=0.5), 3.0, copy_in)
    assert events == [{"sender": "bpjstk", "files": len(copied)}]


def test_other_senders_files_and_handled_folders_do_not_fire(tmp_path):
    (tmp_path / "himbara" / "bri").mkdir(parents=True)
    _deliver(tmp_path / "himbara" / "bri", "kur_2024-01.csv")
    (tmp_path / "bpjstk" / "_archive").mkdir(parents=True)
    _deliver(tmp_path / "bpjstk" / "_archive", "peserta_2024-01.csv")
    assert _events(LandingTrigger(str(tmp_path), "bpjstk", poke_interval=0.1, settle_seconds=0.2), 1.0) == []
