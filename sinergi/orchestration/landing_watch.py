"""An Airflow asset watcher on a sender's part of the landing folder: new files start a load in minutes.

The triggerer runs `LandingTrigger.run()` for as long as the DAG exists. At start and every
`poke_interval` seconds it lists the files waiting for one sender (the loader's own listing: `_archive`,
locks and the like are not waiting files). It fires an asset event for files it has not fired for once the
listing (names and modification times) has not changed for `settle_seconds`, looking again as soon as it
may have: a sender still copying a month in is not cut in two runs. The ingestion DAG of that sender is
scheduled on the asset, so the event starts a run; the run's own listing decides what loads.
A triggerer restart forgets what was fired: at most one more run, which finds what is still waiting.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


def waiting(landing: str, sender: str) -> dict[str, float]:
    """{file: modification time} of what waits for `sender` (blocking I/O: run in a thread)."""
    from ingestion import landing as landing_mod
    return {rel: st.st_mtime for rel, st, link in landing_mod.walk(Path(landing), sender) if not link}


class LandingTrigger(BaseEventTrigger):
    def __init__(self, landing: str, sender: str, poke_interval: float = 30.0, settle_seconds: float = 30.0):
        super().__init__()
        self.landing, self.sender = landing, sender
        self.poke_interval, self.settle_seconds = poke_interval, settle_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.LandingTrigger", {"landing": self.landing, "sender": self.sender,
                                               "poke_interval": self.poke_interval,
                                               "settle_seconds": self.settle_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        fired: set[str] = set()
        last: dict[str, float] = {}
        changed = time.time()
        while True:
            files = await asyncio.to_thread(waiting, self.landing, self.sender)
            fired &= set(files)  # what has left the folder may come back (a replay)
            new = {f: mtime for f, mtime in files.items() if f not in fired}
            if new != last:  # names or modification times moved since the last look
                last, changed = new, time.time()
            unsettled = self.settle_seconds - (time.time() - max(changed, *new.values(), 0))
            if new and unsettled <= 0:
                fired |= set(new)
                last = {}
                self.log.info("%d berkas baru menunggu di %s/%s", len(new), self.landing, self.sender)
                yield TriggerEvent({"sender": self.sender, "files": len(new)})
            # Files still arriving are looked at again as soon as they may have settled.
            await asyncio.sleep(min(self.poke_interval, unsettled) if new and unsettled > 0 else self.poke_interval)
