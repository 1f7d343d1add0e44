"""A throwaway PostgreSQL cluster for tests (fixtures ``postgres`` and ``pg_database`` in
tests/conftest.py), so PostgreSQL is tested for real, in both virtual environments.

``initdb`` into a fresh folder under /tmp, trust authentication for the ``postgres`` superuser,
fsync off, listening on 127.0.0.1:55432 with the unix socket in the same folder: nothing of the
machine's own PostgreSQL is used or touched. The server binaries come from Debian's
``postgresql`` package (``make postgresql``), found in /usr/lib/postgresql/<version>/bin.

PostgreSQL refuses to run as root. As root (this machine and CI run as root) initdb and pg_ctl
run as the ``postgres`` user that Debian's package creates, through ``runuser`` (util-linux,
always there; sudo is not installed here), and the folder is handed to that user; as anyone
else they run as that user directly. ``stop`` stops exactly this cluster (``pg_ctl stop`` on its
own data folder) and removes the folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PORT = 55432


class Unavailable(RuntimeError):
    """PostgreSQL is not installed, or the cluster would not start; the message says why."""


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise Unavailable("PostgreSQL is not installed: `make postgresql` installs Debian's postgresql package")


class Cluster:
    def __init__(self) -> None:
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="anxin-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{PORT}"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_owner, str(self.bin / command[0]), *command[1:]],
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise Unavailable(f"{' '.join(command)} failed: {done.stdout}{done.stderr}{log}")

    def start(self) -> Cluster:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {PORT} -k {self.folder} -c listen_addresses=127.0.0.1 -F", "start")
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
