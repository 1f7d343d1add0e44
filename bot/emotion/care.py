"""From one message's emotion to what the dialogue should do about it.

Kept apart from the classifier so the rule is plain and testable:
- every customer message gets a label and an anxiety score;
- angry or distressed messages in a row are counted; two in a row mean a person takes over
  (``care_mode`` = "handoff"), and the count starts again after the handoff;
- a message the model is confident carries a feeling (anxious, distressed, angry: its most
  probable label, at ``empathy_at``) means "support": an opener that fits (calm words, or an
  apology), facts, and the offer of a person. Selling is held back on the ``emotion`` label,
  at a lower threshold (bot.compliance.suitability reads it), so an unsure reading holds back
  a product pitch but never brings a patronising "I can hear you're worried";
- button clicks and other "/intent" payloads, and messages too short to understand ("a", "7"),
  carry no feeling: the slots keep their values and care_mode is cleared, so a click never
  triggers a calm-support or handoff rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogue.message_shape import too_short
from bot.emotion import classifier

ESCALATING = frozenset({"angry", "distressed"})
SUPPORT = frozenset({"anxious", "angry", "distressed"})
HANDOFF_AFTER = 2
TREND_LENGTH = 10


@dataclass(frozen=True)
class CareState:
    emotion: str | None = None
    anxiety: float = 0.0
    distress_turns: int = 0
    trend: tuple[str, ...] = field(default_factory=tuple)
    care_mode: str | None = None
    in_crisis: bool = False  # the model's crisis head flagged this message (bot.safety.detect; not a slot)

    @classmethod
    def from_slots(cls, slots: dict) -> CareState:
        return cls(slots.get("emotion"), float(slots.get("anxiety") or 0.0),
                   int(slots.get("distress_turns") or 0), tuple(slots.get("emotion_trend") or ()),
                   slots.get("care_mode"))

    def as_slots(self) -> dict:
        return {"emotion": self.emotion, "anxiety": self.anxiety, "distress_turns": float(self.distress_turns),
                "emotion_trend": list(self.trend), "care_mode": self.care_mode}


def next_state(previous: CareState, text: str | None) -> CareState:
    if not text or text.startswith("/") or too_short(text):  # "a", "7", an emoji: nothing to read
        return CareState(previous.emotion, previous.anxiety, previous.distress_turns, previous.trend, None)
    model = classifier.shared()
    sensed = model.classify(text)
    turns = previous.distress_turns + 1 if sensed.label in ESCALATING else 0
    if turns >= HANDOFF_AFTER:
        mode = "handoff"
    elif sensed.label in SUPPORT and model.opener_due(sensed):
        mode = "support"
    else:
        mode = None
    anxiety = round(sensed.anxiety, 2)
    return CareState(sensed.label, anxiety, turns, (previous.trend + (sensed.label,))[-TREND_LENGTH:], mode,
                     model.in_crisis(sensed))


# Slots to set once a person has been called: the count starts again.
AFTER_HANDOFF = {"distress_turns": 0.0, "care_mode": None}
