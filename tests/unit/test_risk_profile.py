import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import settings
from bot.compliance import risk_profile
from bot.migrations import SchemaError

SLOTS = [q["slot"] for q in risk_profile.questionnaire()["questions"]]


def answers(*numbers):
    return dict(zip(SLOTS, numbers, strict=True))


@pytest.mark.parametrize("numbers, total, level", [
    ((1, 1, 1, 2, 1, 1), 4, "C1"),    # 3+0+0+1+0+0
    ((1, 2, 2, 2, 2, 2), 11, "C2"),   # 3+2+1+1+2+2
    ((2, 2, 2, 2, 2, 2), 12, "C3"),   # 4+2+1+1+2+2
    ((1, 2, 3, 3, 2, 3), 16, "C3"),   # 3+2+3+3+2+3
    ((2, 3, 3, 3, 3, 3), 19, "C4"),   # 4+3+3+3+3+3
    ((2, 4, 4, 4, 4, 4), 24, "C5"),
])
def test_scores_map_to_levels(numbers, total, level):
    assert risk_profile.score(answers(*numbers))[:2] == (level, total)


def test_highest_answers_give_c5_and_lowest_c1():
    assert risk_profile.score(answers(2, 4, 4, 4, 4, 4))[0] == "C5"
    assert risk_profile.score(answers(4, 1, 1, 2, 1, 1))[0] == "C1"


def test_no_loss_accepted_forces_c1_whatever_the_rest():
    level, total, _ = risk_profile.score(answers(2, 4, 4, 1, 4, 4))
    assert level == "C1" and total > 16


def test_senior_flag_comes_from_the_age_band():
    assert risk_profile.score(answers(4, 2, 2, 2, 2, 2))[2] is True
    assert risk_profile.score(answers(2, 2, 2, 2, 2, 2))[2] is False


@pytest.mark.parametrize("text, expected", [("2", 2), ("B", 2), ("b.", 2), ("31–50 岁", 2), ("Over 5 years", None),
                                            ("9", None), ("", None), (None, None), ("随便", None)])
def test_answers_by_number_letter_or_label(text, expected):
    assert risk_profile.answer_index("ra_age_band", text) == expected


def test_assessment_is_valid_for_twelve_months_and_history_is_kept():
    old = risk_profile.save("c", "C4", assessed_at=datetime.now(timezone.utc) - timedelta(days=366))
    assert not old.is_valid()
    assert risk_profile.current("c").level == "C4" and not risk_profile.current("c").is_valid()
    risk_profile.save("c", "C2")
    assert risk_profile.current("c").level == "C2" and risk_profile.current("c").is_valid()


def test_unknown_customers_have_no_assessment_and_demo_ones_do():
    assert risk_profile.current("nobody") is None
    assert risk_profile.current("demo-c3").level == "C3"
    assert not risk_profile.current("demo-expired").is_valid()
    assert risk_profile.current("demo-senior").senior


def test_every_option_has_a_chinese_and_an_english_label():
    for question in risk_profile.questionnaire()["questions"]:
        for option in question["options"]:
            assert set(option["label"]) == {"zh", "en"} and all(option["label"].values()), option


def test_assessments_cannot_be_changed_or_removed_in_the_database():
    risk_profile.save("c-ro", "C2")
    path = settings.audit_db_url().removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("UPDATE risk_profiles SET level = 'C5' WHERE customer_id = 'c-ro'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("DELETE FROM risk_profiles WHERE customer_id = 'c-ro'")
    assert risk_profile.current("c-ro").level == "C2"


def test_assessments_cannot_be_changed_or_removed_through_the_orm():
    risk_profile.save("c-orm", "C2")
    with risk_profile._session() as session:
        row = session.scalars(select(risk_profile.RiskProfileRow)).one()
        row.level = "C5"
        with pytest.raises(PermissionError, match="append-only"):
            session.commit()
        session.rollback()
        session.delete(row)
        with pytest.raises(PermissionError, match="append-only"):
            session.commit()
    assert risk_profile.current("c-orm").level == "C2"


def test_an_old_risk_profiles_table_without_its_guards_is_refused(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(isolated_state / "compliance.db") as connection:
        connection.execute("CREATE TABLE risk_profiles (id INTEGER PRIMARY KEY, customer_id VARCHAR(128) NOT NULL, "
                           "level VARCHAR(2) NOT NULL, score INTEGER, senior BOOLEAN NOT NULL, answers TEXT NOT NULL, "
                           "assessed_at DATETIME NOT NULL)")
    with pytest.raises(SchemaError, match="risk_profiles .* lacks the triggers") as refused:
        risk_profile.current("c-old")
    assert str(isolated_state / "compliance.db") in str(refused.value)
