"""The deployment's secrets: write a `.env` with random ones, and refuse weak ones before anything starts.

    python -m sinergi.core.envfile init [--out .env] [--force]   # or: sinergi init-env
    python -m sinergi.core.envfile check                          # what docker-compose.yml runs first

`.env.example` names every variable with placeholder values that `check` refuses; `init` copies it with
each secret replaced by a fresh random one (and AIRFLOW_UID by the current user's id). A secret is
refused when it is missing or empty, shorter than 32 bytes, a known placeholder (change-me, secret, …)
or made of too few different characters. Only the standard library is used: the check runs in a bare
container before PostgreSQL and Airflow start.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import os
import re
import secrets
import sys
from pathlib import Path

MIN_BYTES = 32
ROOT = Path(__file__).resolve().parents[2]  # the project: sinergi/core/envfile.py
EXAMPLE = ROOT / ".env.example"
# Every secret the deployment needs, and its kind: "fernet" must be a Fernet key (urlsafe base64 of 32 bytes).
SECRETS = {
    "POSTGRES_PASSWORD": "password",
    "AIRFLOW_DB_PASSWORD": "password",
    "WAREHOUSE_PASSWORD": "password",
    "SINERGI_WEB_PASSWORD": "password",
    "SINERGI_WEB_SECRET": "secret",
    "SINERGI_PSEUDONYM_KEY": "secret",
    "AIRFLOW_ADMIN_PASSWORD": "password",
    "AIRFLOW__CORE__FERNET_KEY": "fernet",
    "AIRFLOW__API_AUTH__JWT_SECRET": "secret",
    "AIRFLOW__API__SECRET_KEY": "secret",
}
# Values seen in examples, tutorials and tests; matched case-insensitively, also inside a longer value.
PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "example",
                "your-secret", "yoursecret", "your_secret", "secret-key", "secretkey", "password", "passw0rd",
                "admin", "airflow", "postgres", "sinergi", "12345678", "qwerty", "letmein", "default", "xxxxxxxx")


class WeakSecret(ValueError):
    """A secret that must not be used (the message, in Bahasa Indonesia, says why and what to do)."""


def problem(name: str, value: str | None, kind: str = "secret", min_bytes: int = MIN_BYTES) -> str | None:
    """Why `value` is unfit as the secret `name`, or None when it is fit."""
    if not value:
        return f"{name} kosong atau tidak diisi"
    lowered = value.lower()
    if any(p in lowered for p in PLACEHOLDERS):
        return f"{name} masih berisi nilai contoh (placeholder)"
    if kind == "fernet":
        try:
            if len(base64.urlsafe_b64decode(value.encode())) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            return f"{name} bukan kunci Fernet (base64 urlsafe dari 32 bait)"
    elif len(value.encode()) < min_bytes:
        return f"{name} terlalu pendek: {len(value.encode())} bait, minimal {min_bytes}"
    if len(set(value)) < 10:
        return f"{name} terlalu seragam (kurang dari 10 karakter berbeda)"
    return None


def check_secret(name: str, value: str | None, kind: str = "secret") -> str:
    """The value if it is fit as a secret; WeakSecret otherwise."""
    why = problem(name, value, kind)
    if why:
        raise WeakSecret(f"{why}. Buat nilai acak dengan `python -m sinergi.core.envfile init` (atau `sinergi init-env`), "
                         "atau: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return value


def problems(env: dict[str, str] | None = None, names: dict[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    return [why for name, kind in (names or SECRETS).items() if (why := problem(name, env.get(name), kind))]


def new_value(kind: str) -> str:
    if kind == "fernet":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    # URL-safe: the passwords end up inside connection URLs.
    return secrets.token_urlsafe(32)


def read(path: Path) -> dict[str, str]:
    """NAME=value lines (comments and blank lines skipped; surrounding quotes removed)."""
    values = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if re.fullmatch(r"[A-Za-z_]\w*", name):
            values[name] = value
    return values


def write(out: Path, example: Path = EXAMPLE, force: bool = False) -> list[str]:
    """Write `out` from the example with every secret made fresh; returns the names it filled."""
    if out.exists() and not force:
        raise FileExistsError(f"{out} sudah ada; tidak ditimpa (pakai --force untuk membuat ulang, "
                              "yang mengganti semua rahasia)")
    lines, filled = [], []
    for line in example.read_text(encoding="utf-8").splitlines():
        name, sep, _ = line.partition("=")
        name = name.strip()
        if sep and not line.lstrip().startswith("#"):
            if name in SECRETS:
                line = f"{name}={new_value(SECRETS[name])}"
                filled.append(name)
            elif name == "AIRFLOW_UID" and hasattr(os, "getuid"):
                line = f"{name}={os.getuid()}"
        lines.append(line)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(out, 0o600)
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sinergi.core.envfile", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="tulis .env dengan rahasia acak")
    init.add_argument("--out", type=Path, default=Path(".env"))
    init.add_argument("--force", action="store_true", help="timpa .env yang ada (semua rahasia berganti)")
    check = sub.add_parser("check", help="tolak rahasia yang kosong, pendek atau contoh (dari lingkungan)")
    check.add_argument("--env-file", type=Path, help="periksa berkas ini, bukan variabel lingkungan")
    args = parser.parse_args(argv)
    if args.command == "init":
        try:
            filled = write(args.out, force=args.force)
        except FileExistsError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{args.out} ditulis (hanya pemiliknya yang bisa membaca) dengan {len(filled)} rahasia acak. "
              "Simpan salinannya di tempat aman: SINERGI_PSEUDONYM_KEY menentukan semua token.")
        return 0
    found = problems(read(args.env_file) if args.env_file else None)
    for why in found:
        print(f"DITOLAK: {why}", file=sys.stderr)
    if found:
        print("Isi rahasia yang kuat di .env (`python -m sinergi.core.envfile init` membuatnya) lalu jalankan lagi.",
              file=sys.stderr)
        return 1
    print(f"{len(SECRETS)} rahasia diperiksa: semua layak.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
