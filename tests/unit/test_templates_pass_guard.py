"""Every text the bot can send from its data files passes the compliance guard."""

from pathlib import Path

import pytest
import yaml

from bot.compliance import guard, risk_profile
from bot.compliance.outgoing import Outgoing

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def variations():
    for name, items in DOMAIN["responses"].items():
        for n, variation in enumerate(items):
            titles = [b["title"] for b in variation.get("buttons", [])]
            yield pytest.param("\n".join([variation["text"], *titles]), id=f"{name}-{n}")


@pytest.mark.parametrize("text", variations())
def test_every_response_template_passes_the_guard(text):
    assert guard.check_message(text) == []


@pytest.mark.parametrize("name", DOMAIN["responses"])
def test_every_part_of_every_response_template_passes_the_guard(name):
    """Buttons' payloads, custom JSON, images: everything a template sends, as the channel gets it."""
    for variation in DOMAIN["responses"][name]:
        assert guard.check_message(Outgoing.of(variation)) == [], variation


def test_every_questionnaire_text_passes_the_guard():
    for question in risk_profile.questionnaire()["questions"]:
        for language in ("zh", "en"):
            texts = [question["text"][language]] + [o["label"][language] for o in question["options"]]
            for text in texts:
                assert guard.check_message(text) == [], text


def test_the_guard_would_catch_a_bad_template():
    """The test above can fail: a forbidden phrase slipped into a template is caught."""
    assert guard.check_message(DOMAIN["responses"]["utter_greet"][1]["text"] + "保证收益")
