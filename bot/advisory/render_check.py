"""Render check: write demo customers' allocation reports to ``results/reports/`` to look at.

    .venv-actions/bin/python -m bot.advisory.render_check [customer ...]

Uses the demo data (demo mode is turned on for this process) in a scratch state folder unless
``ANXIN_STATE_DIR`` is set, renders each customer's report in Chinese and English (HTML with
inline SVG charts, PDF), and prints the files written. ``results/`` is ignored by git.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot import settings

DEFAULT_CUSTOMERS = ("demo-c4", "demo-senior", "demo-c1", "demo-low-balance")
DEFAULT_FOLDER = settings.PROJECT_ROOT / "results" / "reports"


def write_reports(customers: tuple[str, ...] | list[str] = DEFAULT_CUSTOMERS, languages: tuple[str, ...] = ("zh", "en"),
                  folder: Path = DEFAULT_FOLDER) -> list[Path]:
    """Render each customer's report in each language to ``folder``; returns the paths written."""
    from bot.advisory import reports, valuation

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    created = datetime.now(timezone.utc).astimezone(settings.bank_timezone())
    for customer in customers:
        portfolio = valuation.portfolio(customer)
        for language in languages:
            rendered = reports.render(portfolio, reports.customer_name(customer), created,
                                      created + timedelta(hours=settings.report_link_hours()), language)
            for suffix, body in ((".html", rendered.html.encode("utf-8")), (".pdf", rendered.pdf)):
                path = folder / f"{customer}-{language}{suffix}"
                path.write_bytes(body)
                written.append(path)
    return written


def main(argv: list[str]) -> int:
    os.environ["ANXIN_DEMO_MODE"] = "1"
    os.environ.setdefault("ANXIN_STATE_DIR", tempfile.mkdtemp(prefix="anxin-render-check-"))
    for path in write_reports(tuple(argv) or DEFAULT_CUSTOMERS):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
