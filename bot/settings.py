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
    """Once a customer's transfers of the day, with the one being confirmed, come to more than
    this, a one-time code confirmed in the app is needed (``ANXIN_STEP_UP_THRESHOLD``)."""
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


def wechat_timestamp_window() -> int:
    """How far (seconds) a WeChat callback's timestamp may be from the server's clock
    (``ANXIN_WECHAT_TIMESTAMP_WINDOW``, default 300): older or later callbacks are refused, and
    those within it are remembered so a copy is refused too (bot/channels/wechat_replay.py)."""
    seconds = int(os.environ.get("ANXIN_WECHAT_TIMESTAMP_WINDOW", "300"))
    if seconds < 1:
        raise ValueError("ANXIN_WECHAT_TIMESTAMP_WINDOW must be at least 1")
    return seconds


def binding_code_limits() -> tuple[str, str]:
    """How many WeChat binding codes may be asked for, in the ``limits`` notation: per mobile
    number (``ANXIN_BINDING_CODES_PER_PHONE``, default ``3/hour``; every number typed counts,
    registered or not) and per follower (``ANXIN_BINDING_CODES_PER_FOLLOWER``, default ``5/hour``)."""
    return (os.environ.get("ANXIN_BINDING_CODES_PER_PHONE", "3/hour"),
            os.environ.get("ANXIN_BINDING_CODES_PER_FOLLOWER", "5/hour"))


def binding_lockout() -> tuple[int, int]:
    """(wrong codes, seconds): that many wrong WeChat binding codes within that time, counted per
    follower and per mobile number, lock that follower (or that number) out of binding for that time
    (``ANXIN_BINDING_MAX_FAILURES``, default 5; ``ANXIN_BINDING_LOCKOUT_SECONDS``, default 3600)."""
    failures = int(os.environ.get("ANXIN_BINDING_MAX_FAILURES", "5"))
    seconds = int(os.environ.get("ANXIN_BINDING_LOCKOUT_SECONDS", "3600"))
    if failures < 1 or seconds < 1:
        raise ValueError("ANXIN_BINDING_MAX_FAILURES and ANXIN_BINDING_LOCKOUT_SECONDS must be at least 1")
    return failures, seconds


def trusted_proxies() -> tuple:
    """Addresses of the reverse proxies in front of a server (``ANXIN_TRUSTED_PROXIES``: IPs or
    networks, comma-separated, e.g. ``10.0.0.5,10.1.0.0/16``; default none). Only a request
    arriving from one of them has its ``X-Forwarded-For`` read (``bot.ratelimit.client_address``)."""
    import ipaddress  # only here: the rest of the settings need nothing but os

    given = [part.strip() for part in os.environ.get("ANXIN_TRUSTED_PROXIES", "").split(",") if part.strip()]
    return tuple(ipaddress.ip_network(part, strict=False) for part in given)


def metrics_token() -> str:
    """The token ``/metrics`` requires (``ANXIN_METRICS_TOKEN``, sent as ``Authorization: Bearer``);
    unset: ``/metrics`` answers 403 to everyone. ``bot.servers`` makes one per start when unset."""
    return os.environ.get("ANXIN_METRICS_TOKEN", "")


def api_token() -> str:
    """The Rasa HTTP API's token: ``ANXIN_API_TOKEN``, else the first line of the file named by
    ``ANXIN_API_TOKEN_FILE`` (a mounted secret). Never on a command line, where ``ps`` shows it."""
    token = os.environ.get("ANXIN_API_TOKEN", "").strip()
    path = os.environ.get("ANXIN_API_TOKEN_FILE", "").strip()
    if not token and path:
        token = (Path(path).read_text(encoding="utf-8").splitlines() or [""])[0].strip()
    return token


def max_body_bytes() -> int:
    """Largest request body the Rasa server accepts, on every route (``ANXIN_MAX_BODY_BYTES``,
    default 256 KiB); larger gets 413 before it is read."""
    return int(os.environ.get("ANXIN_MAX_BODY_BYTES", str(256 * 1024)))


def max_metadata_bytes() -> int:
    """Largest ``metadata`` object a customer message may carry, as JSON (``ANXIN_MAX_METADATA_BYTES``,
    default 4096); larger gets 413 and nothing is stored."""
    return int(os.environ.get("ANXIN_MAX_METADATA_BYTES", "4096"))


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


def action_secret() -> bytes:
    """The key the Rasa server signs every action-server call with and the action server checks
    (``ANXIN_ACTION_SECRET``, at least 16 bytes; ``bot.service_auth``). Required by both servers in
    every mode: a call neither signed nor checked would let anyone who reaches the action server
    act as any customer. ``make run`` / ``make cluster`` (``bot.servers``) make one per start in
    demo mode and hand it to both processes through the environment, never on a command line."""
    configured = os.environ.get("ANXIN_ACTION_SECRET", "")
    if len(configured.encode("utf-8")) < AUDIT_KEY_MIN_BYTES:
        raise RuntimeError(
            "ANXIN_ACTION_SECRET is " + ("too short" if configured else "not set")
            + f": the Rasa server and the action server need the same secret of at least {AUDIT_KEY_MIN_BYTES} "
            "bytes (e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
    return configured.encode("utf-8")


def report_link_hours() -> int:
    """How long a report link (and the stored report) lasts (``ANXIN_REPORT_LINK_HOURS``, default 72)."""
    hours = int(os.environ.get("ANXIN_REPORT_LINK_HOURS", "72"))
    if hours < 1:
        raise ValueError("ANXIN_REPORT_LINK_HOURS must be at least 1")
    return hours


def _positive(variable: str, default: str) -> int:
    value = int(os.environ.get(variable, default))
    if value < 1:
        raise ValueError(f"{variable} must be at least 1")
    return value


def agent_report_link_minutes() -> int:
    """How long a report link made by an agent on the copilot lasts
    (``ANXIN_AGENT_REPORT_LINK_MINUTES``, default 60): long enough for the call, not for days."""
    return _positive("ANXIN_AGENT_REPORT_LINK_MINUTES", "60")


def handoff_team() -> str:
    """The team whose queue the bot's handoffs go to (``ANXIN_HANDOFF_TEAM``, default ``service``);
    also the team of agents and handoffs stored before agents had teams (``bot.copilot.scope``)."""
    return os.environ.get("ANXIN_HANDOFF_TEAM", "").strip() or "service"


def handling_hours() -> int:
    """How long a claimed or assigned handoff lets its agent see the customer unless released
    first (``ANXIN_HANDLING_HOURS``, default 8: one shift)."""
    return _positive("ANXIN_HANDLING_HOURS", "8")


def break_glass_minutes() -> int:
    """How long an agent's break-glass access to one customer lasts (``ANXIN_BREAK_GLASS_MINUTES``,
    default 30); each opening is audited with its reason."""
    return _positive("ANXIN_BREAK_GLASS_MINUTES", "30")


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
