"""Fixtures shared by the Rasa-side tests: the project's domain, and its stories and rules as
conversations (what the speed changes are checked against Rasa's own results on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

ROOT = Path(__file__).resolve().parents[2]


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
