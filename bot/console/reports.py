"""The latest compliance simulation report, as ``python -m bench.compliance_simulation`` wrote it.

The bench prints its report and the run is kept as ``compliance_simulation-*.txt`` in
``settings.simulation_reports_dir()``. "Latest" is the run's own time, read from the report's
first line ("Compliance simulation (...) — 2026-11-24 05:58 UTC; ..."), because file names
are chosen by hand and a fresh clone gives every file the same modification time; a file
without that line counts by its modification time.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from bot import settings

PATTERN = "compliance_simulation-*.txt"
MAX_BYTES = 256 * 1024
RUN_TIME = re.compile(r"— (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def _run_time(path: Path) -> datetime:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline(4096)
    except OSError:
        first = ""
    found = RUN_TIME.search(first)
    if found:
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def latest() -> dict | None:
    """The newest report: its file name, run time and text (at most ``MAX_BYTES``); None if none."""
    folder = settings.simulation_reports_dir()
    reports = [p for p in folder.glob(PATTERN) if p.is_file()]
    if not reports:
        return None
    runs = {p: _run_time(p) for p in reports}
    newest = max(reports, key=lambda p: (runs[p], p.name))
    raw = newest.read_bytes()
    return {"name": newest.name, "folder": str(folder), "run_at": runs[newest].isoformat(),
            "text": raw[:MAX_BYTES].decode("utf-8", errors="replace"), "truncated": len(raw) > MAX_BYTES,
            "reports": len(reports)}
