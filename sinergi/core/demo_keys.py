"""The demo's own keys and passwords: generated once under .local/secrets/, never in the repository.

A deployment takes them from its `.env` instead (`python -m sinergi.core.envfile init` writes one).
"""
from __future__ import annotations

import os
import secrets as random
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from sinergi.core import settings

SECRETS_DIR = settings.PROJECT_ROOT / ".local" / "secrets"
DEMO_KEY_FILE = SECRETS_DIR / "pseudonym.key"
WEB_SECRET_FILE = SECRETS_DIR / "web.secret"
WEB_PASSWORD_FILE = SECRETS_DIR / "web.password"


def _kept(path: Path, console=None, note: str = "") -> str:
    """The value kept in `path`, made (random, readable by its owner only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(random.token_urlsafe(32))
        if console and note:
            console.print(note)
    return path.read_text().strip()


def demo_pseudonym_key(console=None) -> str:
    """The key from the environment, else the demo's own."""
    key = os.environ.get(settings.ENV_PSEUDONYM_KEY)
    if key:
        return key
    return _kept(DEMO_KEY_FILE, console, f"Kunci pseudonim demo dibuat di {DEMO_KEY_FILE} (hanya untuk demo; di "
                                         f"produksi isi {settings.ENV_PSEUDONYM_KEY} dari pengelola kunci).")


def demo_web_secret() -> str:
    """The demo dashboard's SINERGI_WEB_SECRET."""
    return _kept(WEB_SECRET_FILE)


def demo_web_password() -> str:
    """The password the demo gives the dashboard's login `sinergi_web`."""
    return _kept(WEB_PASSWORD_FILE)


def login_url(url: str, user: str, password: str) -> str:
    """`url` with another login (host, port, database and options kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))
