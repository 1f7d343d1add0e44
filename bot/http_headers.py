"""Browser security headers on every response of every Anxin server (the Rasa server with its
channels and pages, the copilot with the compliance console): ``install(app)``.

A bank's pages must not be framed by another site (clickjacking: ``frame-ancestors 'none'``,
``X-Frame-Options: DENY``), must not leak their address, which may hold a token, to other sites
(``Referrer-Policy: no-referrer``), must not have a response sniffed into a script
(``X-Content-Type-Options: nosniff``), and may run only their own scripts: the Content-Security-
Policy allows scripts from the server itself and, by hash, exactly the inline scripts of our own
pages (the web chat page, the copilot page), read from the files when the server starts, so an
injected inline script does not run. A response that sets its own policy keeps it (the
allocation report pages send a stricter one).

Works with the Rasa server's Sanic 21 and the actions environment's Sanic 25.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

BOT = Path(__file__).resolve().parent
# Our pages with an inline <script>; its hash goes into the policy.
PAGES_WITH_INLINE_SCRIPTS = (BOT / "channels" / "static" / "chat.html", BOT / "copilot" / "static" / "copilot.html")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def script_hashes(pages: Iterable[Path] = PAGES_WITH_INLINE_SCRIPTS) -> list[str]:
    """CSP source expressions ('sha256-...') of the inline scripts of ``pages``."""
    found = []
    for page in pages:
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            continue
        for script in _INLINE_SCRIPT.findall(text):
            digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
            found.append(f"'sha256-{digest}'")
    return found


def policy(hashes: Iterable[str] = ()) -> str:
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *hashes]),
        "style-src 'self' 'unsafe-inline'",  # style attributes of our pages; styles cannot run code
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def headers() -> dict[str, str]:
    """The headers every response gets (unless it already sets one of them)."""
    return {"Content-Security-Policy": policy(script_hashes()), "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def install(app) -> None:
    """Add the headers to every response of the Sanic ``app``."""
    fixed = headers()

    async def add_security_headers(_request, response) -> None:
        if response is None:
            return
        for name, value in fixed.items():
            if name not in response.headers:
                response.headers[name] = value

    app.register_middleware(add_security_headers, "response")
