"""Start, watch and stop the Anxin servers: the Rasa server, the action server and the agent
copilot.

Used by ``make run``, the end-to-end tests and the benchmarks, so all three start the
servers the same way; ``bot.cluster`` (``make cluster``) starts several of each from here too.
Standard library only: it runs from either virtual environment.
All bind 127.0.0.1; logs go to ``<state>/logs``. Secrets reach the servers in their environment,
never on their command lines (which ``ps`` shows to every user of the machine); the servers and
this launcher create files readable by their owner only (umask 077: state and logs 0600, folders
0700).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
ACTIONS_PYTHON = ROOT / ".venv-actions" / "bin" / "python"
MODEL = ROOT / "models" / "anxin.tar.gz"
HOST = "127.0.0.1"
# credentials.yml reads the WeChat settings from the environment; unset, the channel is off.
# So do the app channels' customer-token keys.
CREDENTIAL_DEFAULTS = {"WECHAT_TOKEN": "", "WECHAT_APP_ID": "", "WECHAT_APP_SECRET": "",
                       "WECHAT_ENCODING_AES_KEY": "", "WECHAT_API_BASE": "https://api.weixin.qq.com",
                       "ANXIN_APP_JWT_SECRET": "", "ANXIN_APP_JWT_PUBLIC_KEY": ""}


def demo_mode_on() -> bool:
    """Same reading of ``ANXIN_DEMO_MODE`` as bot.settings (this module is standard library only)."""
    return os.environ.get("ANXIN_DEMO_MODE", "0").strip().lower() in ("1", "true", "yes", "on")


def _demo_agent_keys() -> dict[str, str]:
    """The demo agents' copilot keys: ANXIN_DEMO_AGENT_KEYS ("demo-agent:<key>,demo-supervisor:<key>")
    when set, else two random ones."""
    pairs = (p.strip().split(":", 1) for p in os.environ.get("ANXIN_DEMO_AGENT_KEYS", "").split(",") if ":" in p)
    given = {agent: key for agent, key in pairs}
    return {agent: given.get(agent) or secrets.token_urlsafe(32)
            for agent in ("demo-agent", "demo-supervisor", "demo-compliance")}


def _state_dir() -> Path:
    return Path(os.environ.get("ANXIN_STATE_DIR", ROOT / ".state"))


PRIVATE_UMASK = 0o077  # files the servers make: 0600, folders: 0700


def private_folder(folder: Path) -> None:
    """Make ``folder`` (0700) if needed and take away group and other access from it and from the
    files directly in it (state made by an older version was world-readable); sub-folders
    (PostgreSQL's, Redis's) keep the modes their own servers give them."""
    folder.mkdir(parents=True, exist_ok=True)
    # A sub-folder owned by another user (the cluster's PostgreSQL data, run as ``postgres`` when
    # the launcher is root) must stay reachable by that user: then the folder is 0711, others may
    # pass through it to what they own but not list it, and the files in it stay 0600.
    me = os.geteuid()
    foreign = any(entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid != me
                  for entry in folder.iterdir())
    os.chmod(folder, 0o711 if foreign else 0o700)
    for entry in folder.iterdir():
        try:
            if entry.is_file() and not entry.is_symlink():
                os.chmod(entry, entry.stat().st_mode & 0o700)
        except OSError:
            pass


def _get_json(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.loads(reply.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _healthy(base_url: str) -> bool:
    """The action server and the copilot both answer ``/health`` with {"status": "ok"} when ready."""
    return (_get_json(f"{base_url}/health") or {}).get("status") == "ok"


def rasa_ready_at(base_url: str) -> bool:
    """A model loaded and the compliance guard in place with valid rules (``/health/ready``)."""
    return (_get_json(f"{base_url}/health/ready") or {}).get("status") == "ready"


@dataclass
class Servers:
    """The running servers; ``stop()`` ends exactly the processes it started."""

    rasa_port: int = 5005
    action_port: int = 5055
    copilot_port: int = 5077
    token: str = field(default_factory=lambda: os.environ.get("ANXIN_API_TOKEN") or secrets.token_hex(16))
    # The token /metrics requires (Authorization: Bearer), ANXIN_METRICS_TOKEN or new every start.
    metrics_token: str = field(default_factory=lambda: os.environ.get("ANXIN_METRICS_TOKEN") or secrets.token_hex(16))
    # Demo mode only: the two demo agents' copilot keys ({agent id: key}), new every start (or
    # ANXIN_DEMO_AGENT_KEYS as given); the copilot creates those agents. Otherwise agents are
    # added with `python -m bot.copilot.agents add`.
    demo_agent_keys: dict[str, str] = field(default_factory=lambda: _demo_agent_keys() if demo_mode_on() else {})
    # The key customer tokens are signed with (HS256). In demo mode with no key configured, a
    # random one per start, so the demo sign-in can issue tokens; otherwise only what is configured.
    app_jwt_secret: str = field(default_factory=lambda: os.environ.get("ANXIN_APP_JWT_SECRET") or (
        secrets.token_hex(32) if demo_mode_on() and not os.environ.get("ANXIN_APP_JWT_PUBLIC_KEY") else ""))
    # The secret the Rasa server signs its action-server calls with (bot/service_auth.py):
    # ANXIN_ACTION_SECRET, else in demo mode a new one every start (made by _env); otherwise
    # none, and both servers refuse to start until it is configured.
    action_secret: str = field(default_factory=lambda: os.environ.get("ANXIN_ACTION_SECRET", ""))
    # Settings for these servers only, over the environment (e.g. a second set with demo mode off).
    environment: dict[str, str] = field(default_factory=dict)
    # The package (or module) of custom actions the action server loads; tests load a broken one.
    actions_package: str = "actions"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    started_in: float = 0.0

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{HOST}:{self.action_port}"

    @property
    def copilot_url(self) -> str:
        return f"http://{HOST}:{self.copilot_port}"

    def _env(self) -> dict[str, str]:
        # The servers share the machine: one encoder thread in the action server and the copilot,
        # and OpenMP threads that sleep when idle instead of spinning on the Rasa server's core.
        env = {"ANXIN_ENCODER_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", **CREDENTIAL_DEFAULTS, **os.environ}
        env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", SANIC_HOST=HOST,
                   ANXIN_ACTION_URL=f"{self.action_url}/webhook", HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", ANXIN_API_TOKEN=self.token,
                   ANXIN_METRICS_TOKEN=self.metrics_token,
                   ANXIN_DEMO_AGENT_KEYS=",".join(f"{a}:{k}" for a, k in self.demo_agent_keys.items()),
                   ANXIN_RASA_URL=self.rasa_url,
                   ANXIN_APP_JWT_SECRET=self.app_jwt_secret, ANXIN_ACTION_SECRET=self.action_secret)
        env.update(self.environment)
        demo = env.get("ANXIN_DEMO_MODE", "0").strip().lower() in ("1", "true", "yes", "on")
        if demo and not env["ANXIN_ACTION_SECRET"]:
            env["ANXIN_ACTION_SECRET"] = secrets.token_hex(32)  # demo: one per start, for all its servers
        self.action_secret = env["ANXIN_ACTION_SECRET"]
        return env

    @property
    def logs(self) -> Path:
        return Path(self.environment.get("ANXIN_STATE_DIR") or _state_dir()) / "logs"

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``command`` as server ``name`` (its log: ``<logs>/<name>.log``); ``env`` adds
        settings for this process only."""
        private_folder(self.logs.parent)
        private_folder(self.logs)
        log = os.fdopen(os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        os.chmod(log.fileno(), 0o600)  # a log made by an older launcher was world-readable
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env={**self._env(), **(env or {})}, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True, umask=PRIVATE_UMASK)
        log.close()  # the child has its own copy

    def migrate(self) -> None:
        """Bring the bank and compliance schemas up to date (or only check them, see
        ``ANXIN_DB_AUTO_UPGRADE``) once, before the servers start: a database that is refused
        stops the start with its message instead of failing a customer's first turn."""
        private_folder(Path(self.environment.get("ANXIN_STATE_DIR") or _state_dir()))
        done = subprocess.run([str(ACTIONS_PYTHON), "-m", "bot.migrate", "ensure"], cwd=ROOT, env=self._env(),
                              capture_output=True, text=True, timeout=300, umask=PRIVATE_UMASK)
        if done.returncode:
            raise RuntimeError(f"schema migrations failed: {(done.stderr or done.stdout).strip()}")

    def start_actions(self, name: str = "actions", port: int | None = None) -> None:
        self._spawn(name, [str(ACTIONS_PYTHON), "-m", "bot.action_server", "--actions", self.actions_package,
                           "--port", str(port or self.action_port)])

    def start_rasa(self, name: str = "rasa", port: int | None = None, action_port: int | None = None) -> None:
        """A Rasa server on ``port`` (default ``rasa_port``) calling the action server on
        ``action_port`` (default ``action_port``)."""
        env = {"ANXIN_ACTION_URL": f"http://{HOST}:{action_port}/webhook"} if action_port else None
        # the API token goes in the environment (ANXIN_API_TOKEN, see _env), never in argv
        self._spawn(name, [str(RASA_PYTHON), "-m", "bot.rasa_ext.server", "run", "--enable-api",
                           "--interface", HOST, "--port", str(port or self.rasa_port),
                           "--model", str(MODEL), "--endpoints", "endpoints.yml",
                           "--credentials", "credentials.yml"], env)

    def start_copilot(self, name: str = "copilot", port: int | None = None) -> None:
        self._spawn(name, [str(ACTIONS_PYTHON), "-m", "bot.copilot.service", "--port", str(port or self.copilot_port)])

    def copilot_ready(self) -> bool:
        return _healthy(self.copilot_url)

    def actions_ready(self) -> bool:
        return _healthy(self.action_url)

    def rasa_ready(self) -> bool:
        return rasa_ready_at(self.rasa_url)

    def wait(self, ready, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} server exited with code {process.returncode}; "
                                   f"see {self.logs / (name + '.log')}")
            time.sleep(0.25)
        raise TimeoutError(f"{name} server not ready after {timeout:.0f} s")

    def start(self, timeout: float = 180) -> Servers:
        """Start the servers and return when all answer; raises if one fails."""
        if not MODEL.exists():
            raise FileNotFoundError(f"{MODEL} is missing: run `make train` (or `make run`) first")
        began = time.monotonic()
        self.migrate()
        self.start_actions()
        self.start_rasa()
        self.start_copilot()
        try:
            self.wait(self.actions_ready, "actions", timeout)
            self.wait(self.rasa_ready, "rasa", timeout)
            self.wait(self.copilot_ready, "copilot", timeout)
        except Exception:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop_one(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_one(name)

    def __enter__(self) -> Servers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Anxin Rasa server, action server and agent copilot.")
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("ANXIN_RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ANXIN_ACTION_PORT", 5055)))
    parser.add_argument("--copilot-port", type=int, default=int(os.environ.get("ANXIN_COPILOT_PORT", 5077)))
    args = parser.parse_args()
    servers = Servers(rasa_port=args.rasa_port, action_port=args.action_port, copilot_port=args.copilot_port)
    print(f"Starting the action server (:{args.action_port}), the Rasa server (:{args.rasa_port}) "
          f"and the agent copilot (:{args.copilot_port})...", flush=True)
    servers.start()
    demo = demo_mode_on()
    print(f"Anxin is up in {servers.started_in:.1f} s.\n"
          + ("  DEMO MODE: demo customers, accounts and risk profiles; demo sign-in on the web chat page.\n"
             if demo else "  Demo mode off: customers sign in with the bank app's token only.\n")
          + f"  Web chat:   {servers.rasa_url}/webhooks/rest/chat\n"
          f"  REST:       POST {servers.rasa_url}/webhooks/rest/webhook "
          '{"message": "查余额"} with Authorization: Bearer <customer token>\n'
          + (f"  Demo token: POST {servers.rasa_url}/webhooks/rest/demo/sign-in "
             '{"customer_id": "demo-c3"}\n' if demo else "")
          + f"  socket.io:  {servers.rasa_url}/socket.io (auth {{\"token\": ...}}; events user_uttered / bot_uttered)\n"
          f"  WeChat:     {servers.rasa_url}/webhooks/wechat/webhook "
          f"({'configured' if os.environ.get('WECHAT_TOKEN') else 'off: set WECHAT_TOKEN'})\n"
          + (f"  Copilot:    {servers.copilot_url}/copilot  (agent keys: "
             + ", ".join(f"{a} {k}" for a, k in servers.demo_agent_keys.items() if a != "demo-compliance") + ")\n"
             if servers.demo_agent_keys
             else f"  Copilot:    {servers.copilot_url}/copilot  (add agents: python -m bot.copilot.agents add "
             '<agent_id> --name "..." --role agent|supervisor)\n')
          + (f"  Compliance: {servers.copilot_url}/console  (officer key: demo-compliance "
             f"{servers.demo_agent_keys['demo-compliance']})\n" if "demo-compliance" in servers.demo_agent_keys
             else f"  Compliance: {servers.copilot_url}/console  (add officers: python -m bot.copilot.agents add "
             '<officer_id> --name "..." --role compliance)\n')
          + f"  HTTP API token: {servers.token}  (header Authorization: Bearer <token>)\n"
          f"  Metrics token:  {servers.metrics_token}  (GET /metrics with Authorization: Bearer <token>)\n"
          f"  Logs:       {_state_dir() / 'logs'}\n"
          "Press Ctrl-C to stop.", flush=True)
    serve_until_stopped(servers)


def serve_until_stopped(servers: Servers) -> None:
    """Wait for Ctrl-C, SIGTERM or a server exiting, then stop everything ``servers`` started."""
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"]:
            for name, process in servers.processes.items():
                if process.poll() is not None:
                    print(f"{name} server exited with code {process.returncode}; stopping.", file=sys.stderr)
                    stop["now"] = True
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        print("Stopped.")


if __name__ == "__main__":
    main()
