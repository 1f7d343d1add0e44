"""Entry point of the Rasa server: Rasa's own CLI with Anxin's server-side hooks installed:
the "service busy" fallback, action-response validation with a schema compiled once, the
compliance guard on every outgoing message, and masking of
personal numbers in logs.

Use it exactly like ``rasa``: ``python -m bot.rasa_ext.server run --enable-api ...``.
"""

from __future__ import annotations

import sys

from bot.compliance.masking import install_log_masking
from bot.rasa_ext import action_fallback, action_validation, compliance_hook


def main() -> None:
    action_fallback.install()
    action_validation.install()
    compliance_hook.install()
    install_log_masking()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
