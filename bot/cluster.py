"""The replicated topology on one machine (``make cluster``): PostgreSQL and Redis, N Rasa
replicas behind HAProxy, action servers and the agent copilot, all on 127.0.0.1.

The same design as deploy/compose.yml, without containers, so it can be run and tested here:

- PostgreSQL (``bot.local_services``, data in ``<state>/postgres``, port 55433) holds the tracker
  store and the project's own tables, in three databases as in compose (``anxin_tracker``,
  ``anxin_bank``, ``anxin_audit``); the schemas are migrated once (``Servers.migrate``) before
  any server starts;
- Redis (port 56379, nothing persisted) holds Rasa's conversation locks, the WeChat channel's
  turn, choice and binding-step memory and its one access_token, and the rate-limit counters;
- HAProxy (``deploy/haproxy/local-cluster.cfg``, port 5600) balances over the Rasa replicas
  (5601..), using a replica only while its ``/health/ready`` answers;
- each Rasa replica calls an action server of its own (5651..): the call stays on a direct
  link, with no second hop through HAProxy and no action endpoint on the balancer's port,
  where customers could reach it; an action server that fails makes only its replica answer
  "service busy" (the action servers share everything else through PostgreSQL, so pairing
  them loses nothing). Fewer action servers than replicas (``--action-servers``) are shared
  round robin;
- the copilot (5671.., ``--copilots``) reaches the Rasa servers through HAProxy.

Every process gets the same state folder (``<state>``, default ``.state/cluster``), so the audit
trail's anchors file and, in demo mode, the audit key file are shared; outside demo mode
``ANXIN_AUDIT_KEY`` must be set, the same for all. Logs: ``<state>/logs/<process>.log``.
Standard library only, like ``bot.servers``, whose ``Servers`` it extends.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.local_services import Postgres, Redis
from bot.servers import HOST, MODEL, ROOT, Servers, _healthy, demo_mode_on, rasa_ready_at, serve_until_stopped

DEFAULT_STATE = ROOT / ".state" / "cluster"
HAPROXY_TEMPLATE = ROOT / "deploy" / "haproxy" / "local-cluster.cfg"
DATABASES = {"ANXIN_TRACKER_DB_URL": "anxin_tracker", "ANXIN_BANK_DB_URL": "anxin_bank",
             "ANXIN_AUDIT_DB_URL": "anxin_audit"}


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise FileNotFoundError("haproxy is not installed: `make haproxy` installs Debian's haproxy package")
    return found


@dataclass
class Cluster(Servers):
    """``rasa_port`` is HAProxy's (so ``rasa_url``, which the copilot is given, is the balancer);
    replica i listens on ``rasa_port + i``, action server i on ``action_port + i - 1``, copilot i
    on ``copilot_port + i - 1``."""

    rasa_port: int = 5600
    action_port: int = 5651
    copilot_port: int = 5671
    replicas: int = 2
    action_servers: int | None = None  # default: one per Rasa replica
    copilots: int = 1
    state: Path = DEFAULT_STATE
    postgres_port: int = 55433
    redis_port: int = 56379
    durable: bool = True  # PostgreSQL fsync (tests turn it off)
    postgres: Postgres | None = field(default=None, repr=False)
    redis: Redis | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.replicas < 1 or self.copilots < 0 or (self.action_servers is not None and self.action_servers < 1):
            raise ValueError("a cluster needs at least one Rasa replica and one action server")
        self.action_servers = self.action_servers or self.replicas
        self.state = Path(self.state)

    # -- where things are -------------------------------------------------------------------

    def replica_url(self, index: int) -> str:
        return f"http://{HOST}:{self.rasa_port + index}"

    @property
    def replica_urls(self) -> list[str]:
        return [self.replica_url(i) for i in range(1, self.replicas + 1)]

    def action_server_url(self, index: int) -> str:
        return f"http://{HOST}:{self.action_port + index - 1}"

    def copilot_url_of(self, index: int) -> str:
        return f"http://{HOST}:{self.copilot_port + index - 1}"

    def database_url(self, variable: str) -> str:
        assert self.postgres is not None
        return f"{self.postgres.url}/{DATABASES[variable]}"

    # -- start and stop ---------------------------------------------------------------------

    def _start_backing_services(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.redis = Redis(self.state / "redis", self.redis_port).start()
        self.postgres = Postgres(self.state / "postgres", self.postgres_port, durable=self.durable).start()
        for name in DATABASES.values():
            self.postgres.create_database(name)
        self.environment.update({variable: self.database_url(variable) for variable in DATABASES})
        self.environment.update(ANXIN_REDIS_URL=self.redis.url, ANXIN_STATE_DIR=str(self.state))
        # HAProxy (on this host) adds X-Forwarded-For: the per-address limits count the client it names
        self.environment.setdefault("ANXIN_TRUSTED_PROXIES", HOST)

    def _haproxy_config(self) -> Path:
        servers = "\n".join(f"    server rasa-{i} {HOST}:{self.rasa_port + i} cookie rasa-{i}"
                            for i in range(1, self.replicas + 1))
        text = HAPROXY_TEMPLATE.read_text(encoding="utf-8")
        text = text.replace("@PORT@", str(self.rasa_port)).replace("@RASA_SERVERS@", servers)
        path = self.state / "haproxy.cfg"
        path.write_text(text, encoding="utf-8")
        return path

    def start_replica(self, index: int) -> None:
        """Start Rasa replica ``index`` (again, after it was stopped or killed)."""
        action_server = (index - 1) % (self.action_servers or 1) + 1
        self.start_rasa(f"rasa-{index}", self.rasa_port + index, action_port=self.action_port + action_server - 1)

    def wait_replica(self, index: int, timeout: float = 240) -> None:
        self.wait(lambda: rasa_ready_at(self.replica_url(index)), f"rasa-{index}", timeout)

    def start(self, timeout: float = 300) -> Cluster:
        """Start everything and return when all answer (the balancer with every replica ready);
        raises, having stopped what it started, if anything fails."""
        if not MODEL.exists():
            raise FileNotFoundError(f"{MODEL} is missing: run `make train` (or `make run`) first")
        began = time.monotonic()
        try:
            haproxy = haproxy_binary()
            self._start_backing_services()
            self.migrate()
            for i in range(1, (self.action_servers or 1) + 1):
                self.start_actions(f"actions-{i}", self.action_port + i - 1)
            for i in range(1, self.replicas + 1):
                self.start_replica(i)
            for i in range(1, self.copilots + 1):
                self.start_copilot(f"copilot-{i}", self.copilot_port + i - 1)
            self._spawn("haproxy", [haproxy, "-db", "-f", str(self._haproxy_config())])
            for i in range(1, (self.action_servers or 1) + 1):
                self.wait(lambda i=i: _healthy(self.action_server_url(i)), f"actions-{i}", timeout)
            for i in range(1, self.replicas + 1):
                self.wait_replica(i, timeout)
            for i in range(1, self.copilots + 1):
                self.wait(lambda i=i: _healthy(self.copilot_url_of(i)), f"copilot-{i}", timeout)
            self.wait(self.rasa_ready, "haproxy", 30)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """The balancer first, then the servers (newest first), then Redis and PostgreSQL."""
        try:
            for name in reversed(list(self.processes)):
                self.stop_one(name)
        finally:
            for service in (self.redis, self.postgres):
                if service is not None:
                    service.stop()


def banner(cluster: Cluster) -> str:
    demo = demo_mode_on()
    lines = [f"Anxin cluster is up in {cluster.started_in:.1f} s: {cluster.replicas} Rasa replicas behind HAProxy, "
             f"{cluster.action_servers} action servers, {cluster.copilots} copilot(s).",
             "  DEMO MODE: demo customers, accounts and risk profiles; demo sign-in on the web chat page." if demo
             else "  Demo mode off: customers sign in with the bank app's token only.",
             f"  Web chat:   {cluster.rasa_url}/webhooks/rest/chat",
             f"  REST:       POST {cluster.rasa_url}/webhooks/rest/webhook "
             '{"message": "查余额"} with Authorization: Bearer <customer token>']
    if demo:
        lines.append(f"  Demo token: POST {cluster.rasa_url}/webhooks/rest/demo/sign-in " '{"customer_id": "demo-c3"}')
    lines += [f"  socket.io:  {cluster.rasa_url}/socket.io",
              f"  WeChat:     {cluster.rasa_url}/webhooks/wechat/webhook "
              f"({'configured' if os.environ.get('WECHAT_TOKEN') else 'off: set WECHAT_TOKEN'})",
              "  Replicas:   " + ", ".join(f"rasa-{i} {url}" for i, url in enumerate(cluster.replica_urls, 1)),
              "  Actions:    " + ", ".join(cluster.action_server_url(i) + "/webhook"
                                           for i in range(1, (cluster.action_servers or 1) + 1))]
    for i in range(1, cluster.copilots + 1):
        lines.append(f"  Copilot:    {cluster.copilot_url_of(i)}/copilot")
    if cluster.copilots and cluster.demo_agent_keys:
        lines.append("  Agent keys: " + ", ".join(f"{a} {k}" for a, k in cluster.demo_agent_keys.items()))
    lines += [f"  PostgreSQL: {cluster.postgres.url if cluster.postgres else '?'} "
              f"(databases {', '.join(DATABASES.values())})",
              f"  Redis:      {cluster.redis.url if cluster.redis else '?'}",
              f"  HTTP API token: {cluster.token}",
              f"  Logs:       {cluster.logs}",
              "Press Ctrl-C to stop."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Anxin's replicated topology on 127.0.0.1.")
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS") or 2),
                        help="Rasa server replicas behind HAProxy (default 2)")
    parser.add_argument("--action-servers", type=int, default=None,
                        help="action servers (default: one per Rasa replica)")
    parser.add_argument("--copilots", type=int, default=1, help="copilot replicas (default 1)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="state folder (default .state/cluster)")
    args = parser.parse_args()
    cluster = Cluster(replicas=args.replicas, action_servers=args.action_servers, copilots=args.copilots,
                      state=args.state)
    print(f"Starting PostgreSQL (:{cluster.postgres_port}), Redis (:{cluster.redis_port}), "
          f"{cluster.action_servers} action servers, {cluster.replicas} Rasa replicas, "
          f"{cluster.copilots} copilot(s) and HAProxy (:{cluster.rasa_port})...", flush=True)
    try:
        cluster.start()
    except KeyboardInterrupt:
        print("Stopped.")
        return
    print(banner(cluster), flush=True)
    serve_until_stopped(cluster)


if __name__ == "__main__":
    main()
