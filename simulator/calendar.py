"""The months of a generated world and the days senders deliver on."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The ministry's ODS exports are delivered weekly and on the last day of each month.
ODS_DAYS = (7, 14, 21, 28)


@dataclass(frozen=True)
class Calendar:
    start: np.datetime64  # first day of month 0
    n: int

    @classmethod
    def parse(cls, start: str, n: int) -> "Calendar":
        return cls(np.datetime64(start, "M"), n)

    def first(self, m) -> np.ndarray:
        return (self.start + np.asarray(m)).astype("datetime64[D]")

    def last(self, m) -> np.ndarray:
        return (self.start + np.asarray(m) + 1).astype("datetime64[D]") - 1

    def days(self, m) -> np.ndarray:
        return (self.last(m) - self.first(m)).astype(int) + 1

    def label(self, m: int) -> str:
        """`YYYYMM`."""
        return str(self.start + m).replace("-", "")

    def month_of(self, dates: np.ndarray) -> np.ndarray:
        """Month index of each date (negative before the start)."""
        return (dates.astype("datetime64[M]") - self.start).astype(int)

    def random_day(self, rng: np.random.Generator, m: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """A random date in each month m, from day lo+1 to day hi (default: month end)."""
        m = np.asarray(m)
        top = self.days(m) if hi is None else np.minimum(self.days(m), hi)
        off = lo + (rng.random(m.shape) * (top - lo)).astype(int)
        return self.first(m) + off

    def ods_days(self, m: int) -> list[np.datetime64]:
        last = self.last(m)
        days = [self.first(m) + (d - 1) for d in ODS_DAYS]
        return [d for d in days if d < last] + [last]
