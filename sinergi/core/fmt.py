"""What people read on screen: Bahasa Indonesia with Indonesian number formats."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BULAN = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember"]


def angka(n: float, decimals: int = 0) -> str:
    """12345.6 -> `12.345,6`; rounded half up (1,25 -> 1,3), as the published values are."""
    exact = Decimal(str(n)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def rupiah(n: float) -> str:
    """1250000 -> `Rp1.250.000`."""
    return ("-" if n < 0 else "") + "Rp" + angka(abs(n))


def persen(fraction: float, decimals: int = 1) -> str:
    """0.105 -> `10,5%`."""
    return angka(fraction * 100, decimals) + "%"


def bulan(year_month: str) -> str:
    """`2024-02` -> `Februari 2024`."""
    year, month = year_month[:4], int(year_month[5:7])
    return f"{BULAN[month - 1]} {year}"


def tanggal(day) -> str:
    """date(2024, 2, 15) -> `15 Februari 2024` (empty for none)."""
    if day is None:
        return ""
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"
