"""Action responses are validated as strictly as stock Rasa does, without the per-call schema check."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_ext import action_validation


def action():
    action_validation.install()
    return RemoteAction("action_x", None)


def test_valid_response_passes():
    assert action()._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}],
                                             "responses": [{"response": "utter_greet"}]})


@pytest.mark.parametrize("bad", [{"events": "not a list"}, {"events": [{"event": "no_such_event"}]},
                                 {"responses": ["not an object"]}])
def test_invalid_response_is_still_refused(bad):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action()._validate_action_result(bad)
