"""Small helpers shared by the actions."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.identity.party import WECHAT_CHANNEL, Party, resolve
from bot.language import DEFAULT_LANGUAGE


def language_of(tracker: Tracker) -> str:
    """The language of the conversation now (set every turn by action_sense_message)."""
    return tracker.get_slot("language") or DEFAULT_LANGUAGE


def joined(tracker: Tracker, items) -> str:
    """A list written the way the customer's language writes lists."""
    return ("、" if language_of(tracker) == "zh" else ", ").join(items)


def party_of(tracker: Tracker) -> Party:
    """Whom this conversation acts for, from what its channel vouched for (bot.identity.party)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return resolve(tracker.sender_id, event.get("input_channel"), event.get("metadata"))
    return resolve(tracker.sender_id, None, None)


def refuse_unidentified(dispatcher: CollectingDispatcher, party: Party) -> bool:
    """Say why nothing personal can be done for an unidentified party; True when it said so.
    A WeChat follower is asked to bind first; anyone else to sign in through the app."""
    if party.identified:
        return False
    dispatcher.utter_message(response="utter_binding_prompt" if party.channel == WECHAT_CHANNEL
                             else "utter_sign_in_needed")
    return True
