"""What people read on screen: Bahasa Indonesia with Indonesian number formats."""
from __future__ import annotations

BULAN = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember"]


def angka(n: float, decimals: int = 0) -> str:
    """12345.6 -> `12.345,6`."""
    text = f"{n:,.{decimals}f}"
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
