"""Rasa custom actions. Thin: each reads the tracker, calls ``bot``, and utters domain responses.

Importing the package (rasa-sdk does, at start) masks personal numbers in this process's logs.
"""

from bot.compliance.masking import install_log_masking

install_log_masking()
