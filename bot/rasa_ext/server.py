"""Entry point of the Rasa server: Rasa's own CLI with Anxin's server-side hooks installed.

Use it exactly like ``rasa``: ``python -m bot.rasa_ext.server run --enable-api ...``.
"""

from __future__ import annotations

import sys

from bot.rasa_ext import action_fallback


def main() -> None:
    action_fallback.install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
