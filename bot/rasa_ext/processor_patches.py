"""The changes to Rasa's message processor that must be in force before the first message,
however the server was started: the compliance guard on everything sent
(``compliance_hook``), no turn ending with nothing said (``never_silent``) and step-up codes
checked and masked before a message is parsed, logged or stored (``step_up_door``).

One call for both, made by the launcher (``bot.rasa_ext.server``) and by every module Rasa
itself imports to load this project — the policy and NLU component of config.yml
(``safety_policy``, ``too_short``) and the stores of endpoints.yml (``stores``) — so a plain
``rasa run`` has them too. Each install is idempotent.
"""

from __future__ import annotations

from bot.rasa_ext import compliance_hook, never_silent, speed, step_up_door


def install() -> None:
    compliance_hook.install()
    never_silent.install()
    step_up_door.install()
    speed.install()  # endpoints.yml's selective domain needs its digest protocol (bot/rasa_ext/speed.py)
