"""What the dashboard does for every request whatever the page: settings, headers, malformed requests,
CSRF tokens.

Settings (environment; `WebConfig.from_env`):

| variable | meaning | default |
|---|---|---|
| SINERGI_WEB_SECRET | keys the session ids stored on the server and the CSRF tokens; at least 32 bytes, no placeholder | required |
| SINERGI_WEB_HTTPS | `true` behind HTTPS: Secure `__Host-` cookies and Strict-Transport-Security | false |
| SINERGI_SESSION_IDLE_MINUTES | a session ends after this long without a request | 30 |
| SINERGI_SESSION_HOURS | and in any case this long after sign-in | 8 |
| SINERGI_LOGIN_MAX_FAILURES | failed sign-ins per account name in the window before HTTP 429 | 5 |
| SINERGI_LOGIN_MAX_FAILURES_CLIENT | failed sign-ins per client address in the window before HTTP 429 | 20 |
| SINERGI_LOGIN_WINDOW_MINUTES | the throttling window | 15 |
| SINERGI_ACCESS_LOG_DAYS | how long the access log is kept (at least 30) | 365 |
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes, urlsplit

from sinergi.core import envfile

from .db import UnsafeSetup

ENV_SECRET = "SINERGI_WEB_SECRET"
# The dashboard's own pages: no inline script or style, nothing from elsewhere, never framed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Generated documentation (dbt docs, Great Expectations Data Docs) needs its inline scripts: it runs in a
# sandbox with an opaque origin, so it can neither read the dashboard's cookies or pages nor post to it.
DOCS_CSP = ("sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
            "script-src 'unsafe-inline' 'unsafe-eval' https:; style-src 'unsafe-inline' https:; "
            "img-src 'self' data: https:; font-src data: https:; connect-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Same-origin: our own form posts keep their Origin header (checked against CSRF); other sites learn nothing.
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
BAD_REQUEST = ("Permintaan tidak sah: alamatnya memuat karakter yang tidak diizinkan (NUL, karakter kendali "
               "atau UTF-8 yang rusak). Periksa tautan atau isian lalu coba lagi.").encode()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "ya", "on")


def _int(env: dict, name: str, default: int, minimum: int = 1) -> int:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise UnsafeSetup(f"{name} harus bilangan bulat, bukan {value!r}") from None
    if number < minimum:
        raise UnsafeSetup(f"{name} minimal {minimum}, bukan {number}")
    return number


@dataclass(frozen=True)
class WebConfig:
    secret: str = field(repr=False)
    https: bool = False
    idle_minutes: int = 30
    session_hours: int = 8
    account_failures: int = 5
    client_failures: int = 20
    window_minutes: int = 15
    access_log_days: int = 365

    def __post_init__(self):
        try:
            envfile.check_secret(ENV_SECRET, self.secret)
        except envfile.WeakSecret as exc:
            raise UnsafeSetup(f"Dasbor menolak berjalan: {exc}") from None

    @classmethod
    def from_env(cls, secret: str | None = None, env: dict | None = None, **overrides) -> "WebConfig":
        env = os.environ if env is None else env
        values = dict(
            secret=secret if secret is not None else env.get(ENV_SECRET, ""),
            https=_flag(env.get("SINERGI_WEB_HTTPS")),
            idle_minutes=_int(env, "SINERGI_SESSION_IDLE_MINUTES", 30),
            session_hours=_int(env, "SINERGI_SESSION_HOURS", 8),
            account_failures=_int(env, "SINERGI_LOGIN_MAX_FAILURES", 5),
            client_failures=_int(env, "SINERGI_LOGIN_MAX_FAILURES_CLIENT", 20),
            window_minutes=_int(env, "SINERGI_LOGIN_WINDOW_MINUTES", 15),
            access_log_days=_int(env, "SINERGI_ACCESS_LOG_DAYS", 365, minimum=30),
        )
        return cls(**{**values, **overrides})

    @property
    def session_cookie(self) -> str:
        # `__Host-`: the browser keeps it only if Secure, for this host and path / (no subdomain can set it).
        return "__Host-sinergi_sesi" if self.https else "sinergi_sesi"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-sinergi_csrf" if self.https else "sinergi_csrf"

    def keyed(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of `value` under the secret, for one purpose (session id hash, CSRF token)."""
        return hmac.new(self.secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, binding: str) -> str:
        return self.keyed("csrf", binding)

    def csrf_valid(self, binding: str | None, token: str | None) -> bool:
        return bool(binding and token) and hmac.compare_digest(self.csrf_token(binding), token)

    def cookie_options(self, max_age: int | None) -> dict:
        return dict(max_age=max_age, path="/", secure=self.https, httponly=True, samesite="strict")


def same_origin(headers) -> bool:
    """Is a POST from one of our own pages? A browser says where it comes from (Sec-Fetch-Site, Origin,
    Referer); a request from another site, or from an opaque origin ("null"), is refused. A client that
    sends none of these (not a browser) still needs a valid CSRF token."""
    site = headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return False
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = headers.get("referer")
    if referer:
        return urlsplit(referer).netloc == host
    return True


def _malformed(scope) -> bool:
    """A NUL or another control character, or broken UTF-8, in the path or the query string."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    parts = [unquote_to_bytes(raw_path), unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))]
    for part in parts:
        try:
            text = part.decode("utf-8")
        except UnicodeDecodeError:
            return True
        if any(ord(c) < 0x20 and c not in "\t" or ord(c) == 0x7f for c in text):
            return True
    return False


class Guard:
    """ASGI middleware: refuses malformed requests with 400 and puts the security headers on every response."""

    def __init__(self, app, https: bool = False):
        self.app = app
        self.https = https

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = dict(HEADERS)
        extra["content-security-policy"] = DOCS_CSP if path.startswith("/dokumen/") else CSP
        # Pages and downloads hold personal data: never stored by the browser or a proxy.
        extra["cache-control"] = "no-cache" if path.startswith("/static/") else "no-store"
        if self.https:
            extra["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        encoded = [(k.encode(), v.encode()) for k, v in extra.items()]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k for k, _ in encoded}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + encoded}
            await send(message)

        if _malformed(scope):
            await send_with_headers({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(BAD_REQUEST)).encode())]})
            await send({"type": "http.response.body", "body": BAD_REQUEST})
            return
        await self.app(scope, receive, send_with_headers)
