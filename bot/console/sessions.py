"""Who is using the console: a compliance officer, by their staff key, and their sign-in.

The page exchanges the officer's key (``bot.copilot.agents``, role ``compliance``) once for a
session: a random id in an HttpOnly, SameSite=Strict cookie (Path=/console, Secure over HTTPS)
that lasts ``settings.console_session_minutes()`` from sign-in. So the key is typed once and is
then neither kept by the page nor readable by its scripts, and a stolen cookie dies soon.
Every request re-reads the officer: a key disabled (or moved to another role) stops its
sessions at once.

A cookie travels with any request the browser makes, so requests signed in by cookie also need
the session's CSRF token in ``X-CSRF-Token`` (the page holds it in memory; another site cannot
read it). SameSite=Strict already keeps the cookie off cross-site requests; the token is the
second lock, exports included. Scripts may instead send ``Authorization: Bearer <key>`` on
each request: no cookie, so no CSRF token.

Sessions live in this process's memory (the copilot runs one worker): a restart signs everyone
out. Several replicas would need sticky sessions or a shared store.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from bot import settings
from bot.copilot import agents

COOKIE = "anxin_console"
CSRF_HEADER = "x-csrf-token"
ROLE = "compliance"
MAX_SESSIONS = 1000


@dataclass(frozen=True)
class Session:
    id: str
    officer_id: str
    csrf_token: str
    expires_at: float  # time.time()

    def expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time()))


@dataclass(frozen=True)
class Outcome:
    """The officer a request is made by, or the HTTP status and message key that say why not
    (texts.yml ``errors``)."""

    officer: agents.Agent | None
    status: int = 200
    error: str | None = None
    session: Session | None = None


class Sessions:
    """The console's sign-ins in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Session] = {}

    def open(self, officer: agents.Agent) -> Session:
        now = time.time()
        session = Session(secrets.token_urlsafe(32), officer.agent_id, secrets.token_urlsafe(32),
                          now + 60 * settings.console_session_minutes())
        with self._lock:
            self._open = {k: s for k, s in self._open.items() if s.expires_at > now}
            if len(self._open) >= MAX_SESSIONS:  # the oldest sign-in makes room
                del self._open[min(self._open, key=lambda k: self._open[k].expires_at)]
            self._open[session.id] = session
        return session

    def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._open.get(session_id)
            if session is not None and session.expires_at <= time.time():
                del self._open[session_id]
                return None
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._open.pop(session_id or "", None)


def by_key(key: str | None) -> Outcome:
    """A staff key presented to the console: 401 unknown, 403 not a compliance officer's."""
    found = agents.authenticate(key, roles=agents.ROLES)
    if found.agent is None:
        return Outcome(None, 401, "missing_key" if not key else "bad_key")
    if found.agent.role != ROLE:
        return Outcome(None, 403, "not_officer")
    return Outcome(found.agent)


def by_session(sessions: Sessions, session_id: str | None, csrf_token: str | None, *,
               need_csrf: bool = True) -> Outcome:
    """A request signed in by cookie: the session, its CSRF token, and the officer as they are now."""
    session = sessions.find(session_id)
    if session is None:
        return Outcome(None, 401, "signed_out" if session_id else "missing_key")
    if need_csrf and not hmac.compare_digest((csrf_token or "").encode(), session.csrf_token.encode()):
        return Outcome(None, 403, "bad_csrf")
    officer = agents.get(session.officer_id)
    if officer is None or officer.disabled or officer.role != ROLE:
        sessions.close(session.id)
        return Outcome(None, 401, "signed_out")
    return Outcome(officer, session=session)
