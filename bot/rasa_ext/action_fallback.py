"""Answer "service busy" instead of staying silent when the action server fails.

Stock Rasa logs a failed custom action and sends the customer nothing. For a bank that is
the worst outcome: the customer cannot tell a slow answer from a lost one. ``install()``
wraps ``RemoteAction.run`` so that a connection error, an HTTP error or a time-out (settings:
``ANXIN_ACTION_TIMEOUT``) becomes the ``utter_service_busy`` response, in the language of
the customer's message, rendered by the server's own NLG from domain.yml.

When the per-turn sensing action run by ``action_extract_slots`` fails, the language slot
is set here instead (the same ``bot.language`` rule), so the answers that need no action
server (greetings, card-loss steps, the apology itself) still follow the customer's language;
no apology is sent for it, so a customer gets one apology, not two.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.actions import action as rasa_action
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.exceptions import RasaException

from bot import metrics, settings
from bot.language import detect_language

logger = logging.getLogger(__name__)

BUSY_RESPONSE = "utter_service_busy"
# Where "busy" alone would mislead: a transfer's outcome is reported at the next turn.
BUSY_RESPONSES = {"action_execute_transfer": "utter_transfer_unconfirmed"}
LANGUAGE_SLOT = "language"
# Actions run by action_extract_slots for custom slot mappings: on failure the language
# is set locally and no apology is sent (the predicted action may still answer).
SLOT_MAPPING_ACTIONS = frozenset({"action_sense_message"})

_original_run = RemoteAction.run


def _language_events(tracker: Any) -> list[Event]:
    """Set the language slot from the latest message when it changed."""
    previous = tracker.get_slot(LANGUAGE_SLOT)
    language = detect_language((tracker.latest_message.text if tracker.latest_message else None), previous)
    return [SlotSet(LANGUAGE_SLOT, language)] if language != previous else []


async def _busy_reply(tracker: Any, nlg: Any, output_channel: Any, action: str = "") -> list[Event]:
    events = _language_events(tracker)
    view = tracker.copy()
    for event in events:
        view.update(event)
    message = await nlg.generate(BUSY_RESPONSES.get(action, BUSY_RESPONSE), view, output_channel.name())
    if message:
        events.append(rasa_action.create_bot_utterance(message))
    return events


async def _run_with_fallback(self: RemoteAction, output_channel: Any, nlg: Any,
                             tracker: Any, domain: Any) -> list[Event]:
    try:
        return await asyncio.wait_for(_original_run(self, output_channel, nlg, tracker, domain),
                                      timeout=settings.action_timeout_seconds())
    except ActionExecutionRejection:
        raise  # a form rejecting input is normal dialogue, not a failure
    except (RasaException, asyncio.TimeoutError) as error:
        kind = "timeout" if isinstance(error, asyncio.TimeoutError) else "error"
        metrics.ACTION_FAILURES.labels(self.name(), kind).inc()
        if self.name() in SLOT_MAPPING_ACTIONS:
            logger.warning("Action server failed on '%s' (%r); language set locally.", self.name(), error)
            return _language_events(tracker)
        logger.error("Action server failed on '%s' (%r); answering 'service busy'.", self.name(), error)
        return await _busy_reply(tracker, nlg, output_channel, self.name())


def install() -> None:
    """Wrap ``RemoteAction.run`` once; safe to call more than once."""
    if RemoteAction.run is not _run_with_fallback:
        RemoteAction.run = _run_with_fallback  # type: ignore[method-assign]

