"""The landing folder: what waits in it, whether it is one at all, who is loading it, and moves out of it.

Senders drop files into `<landing>/<sender>/...`; folders starting with `_` hold what the pipeline has
handled (`_archive`, `_rejected`, `_held`); names starting with `.` are hidden files, never deliveries.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .contracts import Contracts

HANDLED_PREFIXES = ("_", ".")


class NotALanding(ValueError):
    """The folder given is not a landing folder: nothing was read or moved."""


def senders(contracts: Contracts) -> set[str]:
    return {f.sender for f in contracts.families}


def validate(landing: Path, contracts: Contracts) -> None:
    """Refuse, before anything moves, a folder that cannot be a landing folder: missing, not a folder,
    or without any sender's folder (for instance a generated world's root, the parent of `landing/`)."""
    landing = Path(landing)
    if not landing.exists():
        raise NotALanding(f"folder kiriman {landing} tidak ada; periksa jalurnya atau $SINERGI_LANDING_DIR")
    if not landing.is_dir():
        raise NotALanding(f"{landing} bukan folder; berikan folder kiriman (yang berisi folder "
                          f"{', '.join(sorted(senders(contracts)))})")
    known = sorted(s for s in senders(contracts) if (landing / s).is_dir() and not (landing / s).is_symlink())
    if known:
        return
    if (landing / "landing").is_dir():
        raise NotALanding(f"{landing} bukan folder kiriman tetapi induknya; maksud Anda `{landing / 'landing'}`? "
                          f"Tidak ada berkas yang dipindahkan.")
    if not any(landing.iterdir()):
        raise NotALanding(f"folder kiriman {landing} kosong: belum ada folder pengirim "
                          f"({', '.join(sorted(senders(contracts)))}); tidak ada yang dimuat")
    raise NotALanding(f"{landing} tidak berisi folder pengirim mana pun ({', '.join(sorted(senders(contracts)))}); "
                      f"bukan folder kiriman, tidak ada berkas yang dipindahkan")


def _handled(rel_parts: tuple[str, ...]) -> bool:
    return any(p.startswith(HANDLED_PREFIXES) for p in rel_parts)


def walk(landing: Path, sender: str | None = None):
    """(relative path, stat, is_link) of every entry waiting in the landing folder. Entries that vanish
    while the folder is listed (another run archived them) are simply not there."""
    landing = Path(landing)
    top = landing / sender if sender else landing
    for root, dirs, names in os.walk(top, onerror=lambda _: None):
        rel_root = Path(root).relative_to(landing)
        dirs[:] = [d for d in dirs if not d.startswith(HANDLED_PREFIXES)]
        for name in names:
            rel = rel_root / name
            if _handled(rel.parts) or name.endswith(".ctl"):
                continue
            path = landing / rel
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            yield rel.as_posix(), st, path.is_symlink()


def discover(landing: Path, sender: str | None = None) -> list[str]:
    """Files waiting in the landing folder, oldest delivery first. Control files travel with their data
    file. Symbolic links are not files a sender delivered: see `links()`."""
    files = [(st.st_mtime, rel) for rel, st, link in walk(landing, sender) if not link]
    return [rel for _, rel in sorted(files)]


def links(landing: Path, sender: str | None = None) -> list[str]:
    """Symbolic links in the landing folder: refused (never followed, never moved), a link may lead
    anywhere on the machine, and the archive would keep only the link."""
    return sorted(rel for rel, _, link in walk(landing, sender) if link)


def signature(path: Path) -> tuple[int, int]:
    """Size and modification time: a file still being written changes them while it is read."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def move(landing: Path, rel: str, target: str) -> None:
    """Move a file (and its control file) out of the landing folder; one already gone is no error
    (another run moved it)."""
    src, dst = Path(landing) / rel, Path(landing) / target
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".ctl"):
        try:
            shutil.move(str(src) + suffix, str(dst) + suffix)
        except FileNotFoundError:
            pass


def write_reason(landing: Path, target: str, text: str) -> None:
    """The note left beside a rejected or held file (`<file>.alasan.txt`): why, and what to do next."""
    (Path(landing) / (target + ".alasan.txt")).write_text(text, encoding="utf-8")
