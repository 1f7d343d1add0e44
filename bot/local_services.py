"""PostgreSQL and Redis as child processes on 127.0.0.1, for the local replicated topology
(``make cluster``, ``bot.cluster``) and the tests' throwaway PostgreSQL (``tests/postgres.py``).

Nothing of the machine's own PostgreSQL or Redis is used or touched: each server keeps its data
in a folder of its own (``initdb`` there the first time, reused after), listens on 127.0.0.1 on
the port it is given and keeps its unix socket in its folder. The binaries come from Debian's
``postgresql`` and ``redis-server`` packages (``make postgresql``, ``make redis``).

PostgreSQL refuses to run as root. As root (this machine and CI run as root) initdb, pg_ctl and
psql run as the ``postgres`` user that Debian's package creates, through ``runuser`` (util-linux,
always there; sudo is not installed here), and the folder is handed to that user. Standard
library only: it runs from either virtual environment.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


class Unavailable(RuntimeError):
    """The server is not installed, or would not start; the message says why."""


def postgres_binaries() -> Path:
    """The newest of Debian's PostgreSQL server folders (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise Unavailable("PostgreSQL is not installed: `make postgresql` installs Debian's postgresql package")


class Postgres:
    """One PostgreSQL cluster in ``folder`` (data, log and socket), trust authentication for the
    ``postgres`` superuser on 127.0.0.1:``port``. ``durable=False`` turns fsync off (tests)."""

    def __init__(self, folder: Path, port: int, durable: bool = True) -> None:
        self.bin = postgres_binaries()
        self.folder, self.port, self.durable = Path(folder), port, durable
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """The server's URL without a database (append ``/<name>``)."""
        return f"postgresql://postgres@{HOST}:{self.port}"

    def _run(self, *command: str, timeout: float = 120) -> str:
        done = subprocess.run([*self.as_owner, str(self.bin / command[0]), *command[1:]], capture_output=True,
                              text=True, timeout=timeout, start_new_session=True)  # Ctrl-C is ours to handle
        if done.returncode:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise Unavailable(f"{' '.join(command[:2])} failed: {done.stdout}{done.stderr}{log}")
        return done.stdout

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def start(self) -> Postgres:
        """initdb the first time, then start and wait until it accepts connections."""
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                      "--locale=C", *([] if self.durable else ["--no-sync"]))
        options = f"-p {self.port} -k {self.folder} -c listen_addresses={HOST}" + ("" if self.durable else " -F")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        return self

    def restart(self) -> None:
        """Stop (fast: open connections are cut) and start again, as an operator or a failover would."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists (names are ours: letters, digits, _)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a database name: {name!r}")
        psql = ["psql", "-h", str(self.folder), "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                "-v", "ON_ERROR_STOP=1", "-tAc"]
        if self._run(*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip() != "1":
            self._run(*psql, f"CREATE DATABASE {name}")


class Redis:
    """One redis-server on 127.0.0.1:``port``, a child process; nothing is persisted (locks,
    de-duplication memory, rate-limit counters and the WeChat token may all be lost)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = Path(folder), port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = 20) -> Redis:
        binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
        if binary is None:
            raise Unavailable("redis-server is not installed: `make redis` installs Debian's redis-server package")
        if self.ping():
            raise Unavailable(f"port {self.port} already answers PING: another Redis is running there")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", HOST, "--dir", str(self.folder), "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise Unavailable(f"redis-server did not start; see {self.folder / 'redis.log'}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
