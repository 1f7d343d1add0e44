"""SafetyPolicy: the safety protocol first when the sensing flagged the message, and only then."""

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.safety_policy import ACTION, SafetyPolicy

DOMAIN = Domain.load("domain.yml")


def policy(tmp_path) -> SafetyPolicy:
    return SafetyPolicy.create(SafetyPolicy.get_default_config(), LocalModelStorage(tmp_path),
                               Resource("safety"), ExecutionContext(GraphSchema({}), "test"))


def predicted(tmp_path, events) -> str | None:
    tracker = DialogueStateTracker.from_events("c1", events, slots=DOMAIN.slots)
    prediction = policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    if prediction.max_confidence == 0:
        return None
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def test_a_flagged_message_gets_the_protocol_first_even_inside_a_form(tmp_path):
    events = [ActionExecuted(ACTION_LISTEN_NAME), ActiveLoop("transfer_form"), UserUttered("我不想活了"),
              SlotSet("safety_alert", "crisis")]
    assert predicted(tmp_path, events) == ACTION


def test_after_the_protocol_the_bot_listens(tmp_path):
    events = [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("x"), SlotSet("safety_alert", "fraud"),
              ActionExecuted(ACTION)]
    assert predicted(tmp_path, events) == ACTION_LISTEN_NAME


def test_without_a_flag_it_abstains(tmp_path):
    assert predicted(tmp_path, [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("查余额")]) is None
    flagged_then_answered = [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("x"), SlotSet("safety_alert", "crisis"),
                             ActionExecuted("utter_greet")]
    assert predicted(tmp_path, flagged_then_answered) is None


def test_it_outranks_the_form_happy_path_in_the_ensemble(tmp_path):
    """RulePolicy predicts the active form as a 'no user' prediction, which overrules every
    other kind; the safety prediction is of that kind and has the higher priority."""
    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
    from rasa.core.policies.policy import PolicyPrediction

    events = [ActionExecuted(ACTION_LISTEN_NAME), ActiveLoop("transfer_form"), UserUttered("我不想活了"),
              SlotSet("safety_alert", "crisis")]
    tracker = DialogueStateTracker.from_events("c1", events, slots=DOMAIN.slots)
    safety = policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    form = [0.0] * DOMAIN.num_actions
    form[DOMAIN.index_for_action("transfer_form")] = 1.0
    loop = PolicyPrediction(form, "RulePolicy", policy_priority=6, is_no_user_prediction=True)
    best = DefaultPolicyPredictionEnsemble._pick_best_policy([loop, safety])
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == ACTION
