"""A throwaway PostgreSQL cluster for tests (fixtures ``postgres`` and ``pg_database`` in
tests/conftest.py), so PostgreSQL is tested for real, in both virtual environments.

``bot.local_services.Postgres`` (the same server ``make cluster`` runs) in a fresh folder under
/tmp, fsync off, listening on 127.0.0.1:55432: nothing of the machine's own PostgreSQL is used or
touched (as root it runs as Debian's ``postgres`` user; see there). ``stop`` stops exactly this
cluster and removes the folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bot.local_services import Postgres, Unavailable, postgres_binaries

PORT = 55432
__all__ = ["PORT", "Cluster", "Unavailable", "binaries"]
binaries = postgres_binaries


class Cluster(Postgres):
    def __init__(self, port: int = PORT) -> None:
        postgres_binaries()  # Unavailable before a folder is made
        super().__init__(Path(tempfile.mkdtemp(prefix="anxin-pg-")), port, durable=False)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
