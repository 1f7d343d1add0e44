"""Fixtures shared by the Rasa-side tests: the project's domain, its stories and rules as
conversations (what the speed changes are checked against Rasa's own results on), and Rasa's
own code for those checks' oracle."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

ROOT = Path(__file__).resolve().parents[2]


def _own(owner: type, name: str):
    current = getattr(owner, name)  # RulePolicy's is Policy's until patched
    return getattr(current, "original", current)  # taken before any test installs a patch


# What bot/rasa_ext patches that an oracle's computation passes through.
RASA_OWN = [(owner, name, _own(owner, name)) for owner, name in (
    (DialogueStateTracker, "applied_events"), (Domain, "states_for_tracker_history"),
    (RulePolicy, "_prediction_states"))]


@contextlib.contextmanager
def rasa_s_own() -> Iterator[None]:
    """Rasa's own code inside, whatever earlier tests installed: an oracle that went through
    one of the patches (e.g. Rasa's states over our applied events) would grade them by themselves."""
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in RASA_OWN]
    for owner, name, own in RASA_OWN:
        setattr(owner, name, own)
    try:
        yield
    finally:
        for owner, name, current in saved:
            if current is None:
                delattr(owner, name)
            else:
                setattr(owner, name, current)


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="session")
def conversations(domain) -> list[list]:
    """The events of every story and rule of data/, as conversations."""
    steps = []
    for path in sorted((ROOT / "data").glob("*/*.yml")):
        if path.parent.name in ("stories", "rules"):
            steps += YAMLStoryReader(domain).read_from_file(str(path))
    trackers = TrainingDataGenerator(StoryGraph(steps), domain, augmentation_factor=0).generate()
    return [list(tracker.events) for tracker in trackers if len(tracker.events) > 3]
