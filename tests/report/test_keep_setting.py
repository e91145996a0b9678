"""CANISHARE_KEEP_UNANSWERED_DAYS: off unless set, and a bad value stops start-up naming it."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_unanswered_questions_are_not_kept_unless_the_setting_is_given() -> None:
    assert load_settings(environ={}, dotenv=None).keep_unanswered_days == 0


def test_the_setting_says_how_many_days_to_keep_them() -> None:
    settings = load_settings(environ={"CANISHARE_KEEP_UNANSWERED_DAYS": "30"}, dotenv=None)

    assert settings.keep_unanswered_days == 30


@pytest.mark.parametrize("value", ["thirty", "-1", "366", "2.5"])
def test_a_bad_value_is_one_line_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="CANISHARE_KEEP_UNANSWERED_DAYS") as caught:
        load_settings(environ={"CANISHARE_KEEP_UNANSWERED_DAYS": value}, dotenv=None)

    assert "\n" not in str(caught.value)
