"""The console's draft verdict is the guard's own check (``guard.check_message``) run under the
draft's rules: the draft's words and warning decide, not the live ones."""

from __future__ import annotations

import pytest

from bot.compliance import guard, rulebook
from bot.compliance.outgoing import Outgoing
from bot.console import drafts


def test_the_judge_uses_the_drafts_words_and_warning_not_the_live_ones():
    source = (rulebook.DEFAULT_RULES.read_text(encoding="utf-8")
              .replace("zh: 理财非存款、产品有风险、投资须谨慎", "zh: 理财有风险，投资需谨慎，非存款", 1)
              .replace("  guarantees:\n", "  guarantees:\n    - 包赚\n", 1))
    draft, problems = rulebook.load(source.encode())
    assert problems == []
    assert [v.rule for v in drafts.judge(draft, Outgoing("这个包赚"))] == ["guarantees"]
    assert guard.check_message("这个包赚") == []
    old_warning = rulebook.current().mandatory_warning["zh"] + "。安心平衡混合基金"
    assert [v.rule for v in drafts.judge(draft, Outgoing(old_warning))] == ["missing_warning"]
    assert drafts.judge(draft, Outgoing("理财有风险，投资需谨慎，非存款。安心平衡混合基金")) == []


@pytest.mark.parametrize("where", ["card", "quick_reply", ""])
def test_unknown_places_are_refused(where):
    with pytest.raises(drafts.DraftError, match='"where" must be one of text, button'):
        drafts.message("你好", where)


@pytest.mark.parametrize("level", ["C6", "R3", "c3"])
def test_unknown_levels_are_refused(level):
    with pytest.raises(drafts.DraftError, match='"level" must be one of C1'):
        drafts.profile(level)
    assert drafts.profile(None) is None and drafts.profile("C3").is_valid()
