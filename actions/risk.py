"""The risk assessment in the chat: ask six questions, score them to C1..C5, store the result."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, party_of, refuse_unidentified
from actions.knowledge import answer_question_instead
from bot.compliance import audit, risk_profile

QUESTION_SLOTS = tuple(q["slot"] for q in risk_profile.questionnaire()["questions"])


class _AskQuestion(Action):
    """Ask one questionnaire question, with its options as buttons (payload: the option number)."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if refuse_unidentified(dispatcher, party_of(tracker)):  # an assessment belongs to a customer
            return [ActiveLoop(None), SlotSet("requested_slot", None)]
        language = language_of(tracker)
        question = risk_profile.question(self.slot)
        buttons = [{"title": f"{n}. {option['label'][language]}", "payload": f'/choose_option{{"option": "{n}"}}'}
                   for n, option in enumerate(question["options"], start=1)]
        dispatcher.utter_message(text=question["text"][language], buttons=buttons)
        return []


# One ask action per question, as Rasa calls action_ask_<slot> for the form's requested slot.
for _slot in QUESTION_SLOTS:
    globals()[f"ActionAsk_{_slot}"] = type(f"ActionAsk_{_slot}", (_AskQuestion,), {"slot": _slot})


class ValidateRiskAssessmentForm(FormValidationAction):
    """Accept an option number, a letter or the option's label; otherwise ask again.
    One ``validate_<slot>`` method per question is added below."""

    def name(self) -> str:
        return "validate_risk_assessment_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if refuse_unidentified(dispatcher, party_of(tracker)):  # an assessment belongs to a customer
            return [ActiveLoop(None), SlotSet("requested_slot", None)]
        return await super().run(dispatcher, tracker, domain)


def _option_validator(slot: str):
    async def validate(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        if answer_question_instead(dispatcher, tracker, slot):  # "what does R3 mean?" is no answer
            return {slot: None}
        number = risk_profile.answer_index(slot, None if slot_value is None else str(slot_value))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_option",
                                     count=len(risk_profile.question(slot)["options"]))
            return {slot: None}
        return {slot: str(number)}

    return validate


for _slot in QUESTION_SLOTS:
    setattr(ValidateRiskAssessmentForm, f"validate_{_slot}", _option_validator(_slot))


class ActionCompleteRiskAssessment(Action):
    """Score the answers, store the level with today's date, audit it and tell the customer."""

    def name(self) -> str:
        return "action_complete_risk_assessment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        if not party.identified:  # the form was refused and said why
            return [SlotSet(slot, None) for slot in QUESTION_SLOTS]
        answers = {slot: risk_profile.answer_index(slot, tracker.get_slot(slot)) for slot in QUESTION_SLOTS}
        if None in answers.values():  # cannot happen after validation; never score a guess
            dispatcher.utter_message(response="utter_risk_assessment_cancelled")
            return [SlotSet(slot, None) for slot in QUESTION_SLOTS]
        level, total, senior = risk_profile.score(answers)
        if party.shadow:  # the copilot's rehearsal never changes the customer's level on file
            date = datetime.now(timezone.utc).date().isoformat()
        else:
            date = risk_profile.save(party.customer_id, level, score_total=total, senior=senior,
                                     answers=answers).date
            audit.record(party.customer_id, "assessment", c_level=level, detail=f"score {total}")
        dispatcher.utter_message(response="utter_risk_result", level=level, date=date,
                                 level_name=risk_profile.level_name(level, language_of(tracker)))
        return [SlotSet(slot, None) for slot in QUESTION_SLOTS]


class ActionCancelRiskAssessment(Action):
    def name(self) -> str:
        return "action_cancel_risk_assessment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_risk_assessment_cancelled")
        return [SlotSet(slot, None) for slot in QUESTION_SLOTS]


class ActionShowRiskProfile(Action):
    """Show the level in force, its date and whether it is still valid."""

    def name(self) -> str:
        return "action_show_risk_profile"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        if refuse_unidentified(dispatcher, party):
            return []
        profile = risk_profile.current(party.customer_id)
        if profile is None:
            dispatcher.utter_message(response="utter_no_risk_profile")
        elif not profile.is_valid():
            dispatcher.utter_message(response="utter_show_risk_profile_expired", level=profile.level,
                                     date=profile.date)
        else:
            dispatcher.utter_message(response="utter_show_risk_profile", level=profile.level, date=profile.date,
                                     valid_until=profile.valid_until,
                                     level_name=risk_profile.level_name(profile.level, language_of(tracker)))
        return []
