"""The report's period: the last full calendar month unless told, whole UTC days, ISO weeks."""

from __future__ import annotations

from datetime import date

import pytest

from bot.report.period import Period, PeriodError, iso_week, period_from

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (None, None, Period(date(2026, 11, 1), date(2026, 11, 30))),
        ("2026-11-10", None, Period(date(2026, 11, 10), TODAY)),
        (None, "2026-10-20", Period(date(2026, 10, 1), date(2026, 10, 20))),
        ("2026-01-01", "2026-06-30", Period(date(2026, 1, 1), date(2026, 6, 30))),
        ("2026-03-05", "2026-03-05", Period(date(2026, 3, 5), date(2026, 3, 5))),
    ],
)
def test_the_period_is_what_a_lead_asked_for(
    since: str | None, until: str | None, expected: Period
) -> None:
    assert period_from(since, until, TODAY) == expected


def test_in_january_the_default_is_december_of_the_year_before() -> None:
    assert period_from(None, None, date(2027, 1, 15)) == Period(
        date(2026, 12, 1), date(2026, 12, 31)
    )


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2026-13-01", None, "--since must be a date like 2026-03-01 (got '2026-13-01')"),
        (None, "yesterday", "--until must be a date like 2026-03-01 (got 'yesterday')"),
        ("2026-11-20", "2026-11-01", "--since (2026-11-20) is after --until (2026-11-01)"),
        ("2027-01-01", None, "--since (2027-01-01) is after today (2026-12-01)"),
        ("1990-01-01", "2026-01-01", "longer than"),
    ],
)
def test_a_period_that_cannot_be_used_is_one_clear_line(
    since: str | None, until: str | None, message: str
) -> None:
    with pytest.raises(PeriodError) as caught:
        period_from(since, until, TODAY)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 11, 1), "2026-W44"),  # a Sunday
        (date(2026, 11, 2), "2026-W45"),  # the Monday after
        (date(2027, 1, 1), "2026-W53"),  # early January can be the year before's last week
        (date(2024, 12, 30), "2025-W01"),  # and late December the next year's first
    ],
)
def test_weeks_are_iso_8601_weeks(day: date, week: str) -> None:
    assert iso_week(day) == week


def test_weeks_cut_by_the_period_are_marked_partial() -> None:
    november = Period(date(2026, 11, 1), date(2026, 11, 30))

    assert november.weeks() == [f"2026-W{n}" for n in range(44, 50)]
    assert november.partial_weeks() == {"2026-W44", "2026-W49"}
    assert Period(date(2026, 11, 2), date(2026, 11, 8)).partial_weeks() == set()
