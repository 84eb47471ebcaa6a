"""Where the demo keeps its pseudonym key: generated once under .local/, never in the repository."""
from __future__ import annotations

import os
import secrets as random

from . import settings

DEMO_KEY_FILE = settings.PROJECT_ROOT / ".local" / "secrets" / "pseudonym.key"


def demo_pseudonym_key(console=None) -> str:
    """The key from the environment, else the demo's own (created on first use, readable by its owner only)."""
    key = os.environ.get(settings.ENV_PSEUDONYM_KEY)
    if key:
        return key
    if not DEMO_KEY_FILE.exists():
        DEMO_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_KEY_FILE.write_text(random.token_hex(32))
        DEMO_KEY_FILE.chmod(0o600)
        if console:
            console.print(f"Kunci pseudonim demo dibuat di {DEMO_KEY_FILE} (hanya untuk demo; di produksi "
                          f"isi {settings.ENV_PSEUDONYM_KEY} dari pengelola kunci).")
    return DEMO_KEY_FILE.read_text().strip()
