"""Sign-in, server-side sessions, login throttling and the access log, through the dashboard's login.

A session id is 32 random bytes in an HttpOnly, SameSite=Strict cookie; the server keeps only its keyed
hash (`access.web_session`). Every request looks the id up and reads the account's role from
`access.web_user` there and then: logging out, changing the password or the role, or removing the account
ends a session at once, and so do SINERGI_SESSION_IDLE_MINUTES without a request and
SINERGI_SESSION_HOURS after sign-in.

Failed sign-ins are counted from the access log, per account name typed (known or not, so throttling
reveals nothing) since its last successful sign-in and per client address; past the limit the answer is
HTTP 429 with Retry-After, before any password is hashed. Every attempt that is checked costs one scrypt,
for an unknown name too (a dummy hash), and at most two run at once (a CPU lever on two cores).
"""
from __future__ import annotations

import math
import secrets
import threading
import time

from . import users
from .db import Database
from .security import WebConfig

_SCRYPT_SLOTS = threading.BoundedSemaphore(2)
PRUNE_EVERY = 24 * 3600

# Access-log events (read by auditors).
LOGIN, LOGIN_FAILED, LOGIN_THROTTLED, LOGOUT = "masuk", "masuk_gagal", "masuk_ditahan", "keluar"
DOWNLOAD, NAMES_SHOWN, CSRF_REFUSED = "unduh", "halaman_bernama", "csrf_ditolak"


class Sessions:
    def __init__(self, db: Database, config: WebConfig):
        self.db = db
        self.config = config
        self._pruned = 0.0

    # --- sign-in -------------------------------------------------------------------------------

    def retry_after(self, username: str, client: str) -> int | None:
        """Seconds until another attempt is allowed for this account name or this client, or None."""
        c = self.config
        row = self.db.as_login("""
            with account as (
                select at from access.access_log
                where username = %(u)s and event = 'masuk_gagal' and at > now() - make_interval(mins => %(w)s::int)
                  and at > coalesce((select max(at) from access.access_log
                                     where username = %(u)s and event = 'masuk'), '-infinity')
                order by at desc offset %(na)s::int - 1 limit 1),
            client as (
                select at from access.access_log
                where client = %(c)s and event = 'masuk_gagal' and at > now() - make_interval(mins => %(w)s::int)
                order by at desc offset %(nc)s::int - 1 limit 1)
            select extract(epoch from max(at) + make_interval(mins => %(w)s::int) - now()) as wait
            from (select at from account union all select at from client) as t
        """, {"u": username, "c": client, "w": c.window_minutes, "na": c.account_failures, "nc": c.client_failures})
        wait = row[0]["wait"] if row else None
        return max(1, math.ceil(float(wait))) if wait is not None and wait > 0 else None

    def authenticate(self, username: str, password: str) -> users.User | None:
        rows = self.db.as_login("select password_hash, role_name from access.web_user where username = %(u)s",
                                {"u": username})
        stored = rows[0] if rows else None
        with _SCRYPT_SLOTS:
            ok = users.verify(password, stored["password_hash"] if stored else None)
        if not ok or not users.valid_role(stored["role_name"]):
            return None
        return users.User(username, stored["role_name"])

    def start(self, who: users.User, client: str) -> str:
        """A new session for the user; returns the id for the cookie."""
        token = secrets.token_urlsafe(32)
        self.db.as_login("insert into access.web_session (id_hash, username, client) values (%(h)s, %(u)s, %(c)s)",
                         {"h": self.config.keyed("session", token), "u": who.username, "c": client})
        self.prune_now_and_then()
        return token

    # --- each request --------------------------------------------------------------------------

    def lookup(self, token: str | None) -> users.User | None:
        """The user of a live session, with the role their account has now; None when there is none."""
        if not token or len(token) > 100:
            return None
        id_hash = self.config.keyed("session", token)
        rows = self.db.as_login("""
            select u.username, u.role_name, s.last_seen < now() - interval '1 minute' as stale
            from access.web_session s join access.web_user u on u.username = s.username
            where s.id_hash = %(h)s
              and s.last_seen > now() - make_interval(mins => %(idle)s::int)
              and s.created_at > now() - make_interval(hours => %(hours)s::int)
        """, {"h": id_hash, "idle": self.config.idle_minutes, "hours": self.config.session_hours})
        if not rows or not users.valid_role(rows[0]["role_name"]):
            return None
        if rows[0]["stale"]:
            self.db.as_login("update access.web_session set last_seen = now() where id_hash = %(h)s", {"h": id_hash})
        return users.User(rows[0]["username"], rows[0]["role_name"])

    def end(self, token: str | None) -> None:
        if token and len(token) <= 100:
            self.db.as_login("delete from access.web_session where id_hash = %(h)s",
                             {"h": self.config.keyed("session", token)})

    # --- the access log ------------------------------------------------------------------------

    def log(self, event: str, client: str, who: users.User | None = None, username: str | None = None,
            path: str | None = None, rows: int | None = None, detail: str | None = None) -> None:
        self.db.as_login("""
            insert into access.access_log (event, username, role_name, client, path, rows, detail)
            values (%(e)s, %(u)s, %(r)s, %(c)s, %(p)s, %(n)s, %(d)s)
        """, {"e": event, "u": (who.username if who else username or "")[:64] or None,
              "r": who.role if who else None, "c": client[:64], "p": (path or "")[:500] or None, "n": rows,
              "d": (detail or "")[:500] or None})

    def prune(self) -> None:
        """Drop access-log rows past their retention and sessions past their lifetime."""
        c = self.config
        self.db.as_login("select access.prune_access_log(%(d)s::int)", {"d": c.access_log_days})
        self.db.as_login("""
            delete from access.web_session
            where last_seen < now() - make_interval(mins => %(idle)s::int)
               or created_at < now() - make_interval(hours => %(hours)s::int)
        """, {"idle": c.idle_minutes, "hours": c.session_hours})
        self._pruned = time.monotonic()

    def prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self.prune()
