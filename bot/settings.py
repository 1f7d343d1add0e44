"""Run-time settings, read from the environment with embedded defaults.

Everything defaults to files under one ignored state folder so a fresh clone runs with no
configuration; a bank deployment overrides the database URLs through the environment.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """Folder for SQLite files and other run-time state (``ANXIN_STATE_DIR``)."""
    path = Path(os.environ.get("ANXIN_STATE_DIR", PROJECT_ROOT / ".state"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracker_db_url() -> str:
    """SQLAlchemy URL of the Rasa tracker store (``ANXIN_TRACKER_DB_URL``).

    Default: SQLite in the state folder. PostgreSQL: ``postgresql://user:pw@host:5432/anxin``.
    """
    return os.environ.get("ANXIN_TRACKER_DB_URL") or f"sqlite:///{state_dir() / 'tracker.db'}"


def bank_db_url() -> str:
    """SQLAlchemy URL of the demo account store (``ANXIN_BANK_DB_URL``)."""
    return os.environ.get("ANXIN_BANK_DB_URL") or f"sqlite:///{state_dir() / 'bank.db'}"


def action_timeout_seconds() -> float:
    """How long the Rasa server waits for the action server before answering "busy"."""
    return float(os.environ.get("ANXIN_ACTION_TIMEOUT", "8"))


def max_message_chars() -> int:
    """Longest customer message accepted by the app channel (``ANXIN_MAX_MESSAGE_CHARS``)."""
    return int(os.environ.get("ANXIN_MAX_MESSAGE_CHARS", "2000"))


def audit_db_url() -> str:
    """SQLAlchemy URL of the compliance database: audit trail and risk profiles
    (``ANXIN_AUDIT_DB_URL``)."""
    return os.environ.get("ANXIN_AUDIT_DB_URL") or f"sqlite:///{state_dir() / 'compliance.db'}"


def db_auto_upgrade() -> bool:
    """Whether a server brings the bank and compliance schemas to the newest migration when it
    first uses them (``ANXIN_DB_AUTO_UPGRADE``, on unless set to 0). Off, it only checks and
    refuses an older database: the bank runs ``python -m bot.migrate upgrade`` as its own step."""
    return _flag("ANXIN_DB_AUTO_UPGRADE", "1")


def knowledge_index_dir() -> Path:
    """Where the FAISS index, its passages and the embedding cache are written
    (``ANXIN_KB_DIR``); a build artefact like the Rasa model, rebuilt from knowledge/."""
    return Path(os.environ.get("ANXIN_KB_DIR", PROJECT_ROOT / "models" / "knowledge"))


def emotion_model_path() -> Path:
    """The trained emotion head (``ANXIN_EMOTION_MODEL``), built by ``python -m bot.emotion.train``."""
    return Path(os.environ.get("ANXIN_EMOTION_MODEL", PROJECT_ROOT / "models" / "emotion" / "head.pkl"))


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def demo_mode() -> bool:
    """Demo mode (``ANXIN_DEMO_MODE``, off unless set; ``make run`` turns it on): demo customers,
    their seeded accounts and risk profiles, demo agents and the demo sign-in exist only then.
    With it off, a customer the bank's systems do not know has no account and no profile."""
    return _flag("ANXIN_DEMO_MODE")


def demo_token_minutes() -> int:
    """Lifetime of a token issued by the demo sign-in (``ANXIN_DEMO_TOKEN_MINUTES``)."""
    return int(os.environ.get("ANXIN_DEMO_TOKEN_MINUTES", "30"))


def daily_transfer_limit() -> Decimal:
    """Default daily transfer limit per customer, in the account's currency
    (``ANXIN_DAILY_TRANSFER_LIMIT``); an account may carry its own."""
    return Decimal(os.environ.get("ANXIN_DAILY_TRANSFER_LIMIT", "50000"))


def step_up_threshold() -> Decimal:
    """Transfers above this amount need a one-time code confirmed in the app
    (``ANXIN_STEP_UP_THRESHOLD``)."""
    return Decimal(os.environ.get("ANXIN_STEP_UP_THRESHOLD", "5000"))


def bank_timezone() -> ZoneInfo:
    """The bank's calendar for daily limits (``ANXIN_TIMEZONE``)."""
    return ZoneInfo(os.environ.get("ANXIN_TIMEZONE", "Asia/Shanghai"))


RATE_LIMIT_DEFAULTS = {"customer": "30/minute", "address": "300/minute", "agent": "120/minute",
                       "wechat": "20/minute"}


def rate_limit(kind: str) -> str:
    """A rate limit in the ``limits`` notation ("30/minute", "off" disables it), per signed-in
    customer (REST, socket.io), per client address, per copilot agent or per WeChat follower:
    ``ANXIN_RATE_LIMIT_CUSTOMER`` / ``_ADDRESS`` / ``_AGENT`` / ``_WECHAT``."""
    return os.environ.get(f"ANXIN_RATE_LIMIT_{kind.upper()}", RATE_LIMIT_DEFAULTS[kind])


AUDIT_KEY_MIN_BYTES = 16


def audit_key() -> bytes:
    """The key of the audit trail's HMAC chain and its anchors; never stored in the database.

    ``ANXIN_AUDIT_KEY`` (at least 16 bytes) if set. Else, in demo mode only, ``<state>/audit.key``:
    32 random bytes made once (mode 0600) and reused. Else RuntimeError: a production trail is
    neither written nor verified without its key."""
    return _secret_key("ANXIN_AUDIT_KEY", "audit.key",
                       "the audit trail is signed with it and is neither written nor verified without it",
                       "removing it orphans the demo trail")


def _secret_key(variable: str, file_name: str, why_needed: str, why_keep: str) -> bytes:
    """A signing key from the environment variable ``variable`` (at least 16 bytes) if set; else,
    in demo mode only, ``<state>/<file_name>``: 32 random bytes made once (mode 0600, atomically,
    so processes racing to make it agree on one) and reused; else RuntimeError saying
    ``why_needed``. Keys never go into a database."""
    import secrets  # only here: the rest of the settings need nothing but os

    configured = os.environ.get(variable, "")
    if configured:
        if len(configured.encode("utf-8")) < AUDIT_KEY_MIN_BYTES:
            raise RuntimeError(f"{variable} is too short: use at least {AUDIT_KEY_MIN_BYTES} bytes "
                               "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        return configured.encode("utf-8")
    if not demo_mode():
        raise RuntimeError(f"{variable} is not set: {why_needed} (only demo mode makes a local key file)")
    path = state_dir() / file_name
    if not path.exists():
        spare = path.with_name(f".{file_name}.{os.getpid()}.{secrets.token_hex(4)}")
        handle = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(handle, secrets.token_bytes(32))
            os.fsync(handle)
        finally:
            os.close(handle)
        try:
            os.link(spare, path)  # atomic and complete: when processes race, the first key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(spare)
    key = path.read_bytes()
    if len(key) != 32:
        raise RuntimeError(f"{path} is not a 32-byte key; restore it ({why_keep})")
    return key


def audit_anchors_path() -> Path:
    """The append-only file of signed audit checkpoints (``ANXIN_AUDIT_ANCHORS``), kept outside
    the database; several replicas must share it (or ship it to write-once storage)."""
    path = Path(os.environ.get("ANXIN_AUDIT_ANCHORS") or state_dir() / "audit_anchors.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def audit_anchor_every() -> int:
    """Write an anchor after every N audit records (``ANXIN_AUDIT_ANCHOR_EVERY``, default 1)."""
    every = int(os.environ.get("ANXIN_AUDIT_ANCHOR_EVERY", "1"))
    if every < 1:
        raise ValueError("ANXIN_AUDIT_ANCHOR_EVERY must be at least 1")
    return every


def simulation_reports_dir() -> Path:
    """Where the compliance console finds the compliance simulation's reports
    (``ANXIN_SIMULATION_REPORTS_DIR``, default ``bench/results``): it shows the newest
    ``compliance_simulation-*.txt`` there, as ``python -m bench.compliance_simulation`` writes them."""
    return Path(os.environ.get("ANXIN_SIMULATION_REPORTS_DIR") or PROJECT_ROOT / "bench" / "results")


def console_session_minutes() -> int:
    """How long a compliance console sign-in lasts (``ANXIN_CONSOLE_SESSION_MINUTES``, default 30):
    the officer's key is exchanged for a session cookie that expires then, however busy."""
    minutes = int(os.environ.get("ANXIN_CONSOLE_SESSION_MINUTES", "30"))
    if minutes < 1:
        raise ValueError("ANXIN_CONSOLE_SESSION_MINUTES must be at least 1")
    return minutes


def report_key() -> bytes:
    """The key that signs links to stored allocation reports (``bot.advisory.report_links``);
    never stored in the database. ``ANXIN_REPORT_KEY`` (at least 16 bytes) if set; else, in demo
    mode only, ``<state>/report.key`` (made once, like the audit key); else RuntimeError: no
    report link is made or opened without it. Every replica that serves links needs the same key."""
    return _secret_key("ANXIN_REPORT_KEY", "report.key",
                       "report links are signed with it and are neither made nor opened without it",
                       "removing it invalidates the demo's report links")


def report_link_hours() -> int:
    """How long a report link (and the stored report) lasts (``ANXIN_REPORT_LINK_HOURS``, default 72)."""
    hours = int(os.environ.get("ANXIN_REPORT_LINK_HOURS", "72"))
    if hours < 1:
        raise ValueError("ANXIN_REPORT_LINK_HOURS must be at least 1")
    return hours


def redis_url() -> str | None:
    """Redis shared by every replica (``ANXIN_REDIS_URL``, e.g. ``redis://host:6379/0``): Rasa's
    conversation locks, the WeChat channel's turn, choice and binding-step memory and its one
    access_token, and the rate-limit counters. Unset: all of these stay in each process, which
    is right for one Rasa process and wrong for several replicas."""
    return os.environ.get("ANXIN_REDIS_URL") or None


def redis_timeout_seconds() -> float:
    """How long a Redis call of ours may take before it counts as Redis being down
    (``ANXIN_REDIS_TIMEOUT``, default 1 s): a Redis that hangs then costs a customer a polite
    "busy" answer instead of a stuck server."""
    return float(os.environ.get("ANXIN_REDIS_TIMEOUT", "1"))


def tracker_cache_conversations() -> int:
    """How many conversations' events each Rasa process keeps in memory between turns
    (``ANXIN_TRACKER_CACHE``, default 2,000; 0 reads every event from the database each turn,
    as Rasa does). See bot/rasa_ext/tracker_cache.py."""
    return max(0, int(os.environ.get("ANXIN_TRACKER_CACHE", "2000")))


def action_turns_sent() -> int:
    """How many of the conversation's latest turns an action call carries
    (``ANXIN_ACTION_TURNS``, default 20; 0: the whole conversation, as Rasa sends it). Slots
    and the latest message are sent whole either way. The actions look back furthest for a
    hand-off's summary, the last ten intents (bot/handoff.py ``RECENT``): 20 is twice that.
    See bot/rasa_ext/speed.py."""
    return max(0, int(os.environ.get("ANXIN_ACTION_TURNS", "20")))


def turns_at_once() -> int:
    """How many turns a Rasa process works on at once; later ones wait in arrival order
    (``ANXIN_TURNS_AT_ONCE``, default 4; 0: all at once, as Rasa does). See
    bot/rasa_ext/turn_gate.py."""
    return max(0, int(os.environ.get("ANXIN_TURNS_AT_ONCE", "4")))


def public_url() -> str:
    """The address customers reach the Rasa server at, for links the bot sends (an allocation
    report): ``ANXIN_PUBLIC_URL`` (e.g. ``https://chat.bank.example``), else the Rasa server's own
    URL as the launcher passes it (``ANXIN_RASA_URL``), else ``http://127.0.0.1:5005``."""
    return (os.environ.get("ANXIN_PUBLIC_URL") or os.environ.get("ANXIN_RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
