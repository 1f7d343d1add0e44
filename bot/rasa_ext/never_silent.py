"""Never leave a customer without an answer: a turn that would end with nothing said gets the
clarifying question (``utter_default``) before the bot listens again.

Why: the policies may predict ``action_listen`` as the first action after a message no rule
or story covers (TED is confident about "listen" in unfamiliar states), and the customer then
sees nothing at all — measured on the hard-conversation suite (4 of 521 turns). Wrapping
``MessageProcessor._run_action`` catches every such turn whatever the policies did: when the
action about to run is ``action_listen`` and nothing has been said since the customer's latest
message, ``utter_default`` runs first, through the same path (and the same compliance guard)
as any other action.

Installed with the compliance guard (``processor_patches``), by the launcher and by every
module Rasa imports to load this project, so a plain ``rasa run`` has it too.
"""

from __future__ import annotations

import functools
import logging

from rasa.core.actions.action import action_for_name_or_text
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

logger = logging.getLogger(__name__)
CLARIFY = "utter_default"
POLICY_NAME = "never_silent"


def _silent_since_the_customer_spoke(tracker) -> bool:
    """True when the latest customer message has had no bot message yet (a session start,
    with no customer message after it, is not a turn to answer)."""
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return False
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            return False
        if isinstance(event, UserUttered):
            return bool(event.text) or bool(event.intent_name)
    return False


def install() -> None:
    """Wrap ``_run_action`` once per process (idempotent)."""
    if getattr(MessageProcessor._run_action, "_anxin_never_silent", False):
        return
    original = MessageProcessor._run_action

    @functools.wraps(original)
    async def run_action(self, action, tracker, output_channel, nlg, prediction):
        if action.name() == ACTION_LISTEN_NAME and _silent_since_the_customer_spoke(tracker):
            logger.info("nothing said this turn; asking the customer to rephrase (%s)", CLARIFY)
            clarify = action_for_name_or_text(CLARIFY, self.domain, self.action_endpoint)
            await original(self, clarify, tracker, output_channel, nlg,
                           PolicyPrediction.for_action_name(self.domain, CLARIFY, POLICY_NAME))
        return await original(self, action, tracker, output_channel, nlg, prediction)

    run_action._anxin_never_silent = True
    MessageProcessor._run_action = run_action
