"""How each count in the report is made, from tables of stored values."""

from __future__ import annotations

from datetime import date

from bot.report.figures import count_decisions, count_deliveries, count_escalations, count_questions
from bot.report.period import Period

WEEK = Period(date(2026, 11, 2), date(2026, 11, 8))


def test_a_decision_counts_in_the_utc_day_it_was_saved() -> None:
    records = [
        {"created_at": "2026-11-01T23:59:59+00:00", "outcome": "share", "shared": True},
        {"created_at": "2026-11-02T00:30:00+01:00", "outcome": "share", "shared": True},  # 23:30Z
        {"created_at": "2026-11-02T00:00:00+00:00", "outcome": "share", "shared": True},
        {"created_at": "2026-11-08T23:59:59Z", "outcome": "do_not_share", "shared": False},
        {"created_at": "2026-11-09T00:00:00+00:00", "outcome": "share", "shared": True},
    ]

    decisions = count_decisions(records, WEEK)

    assert (decisions.total, decisions.shared, decisions.not_shared) == (2, 1, 1)


def test_a_record_from_an_older_flow_still_counts_under_its_own_outcome() -> None:
    records = [
        {"created_at": "2026-11-03T10:00:00+00:00", "outcome": "refer", "shared": False},
        {"created_at": "2026-11-03T10:00:00+00:00", "shared": False},
        {"created_at": "not a time", "outcome": "share", "shared": True},
    ]

    decisions = count_decisions(records, WEEK)

    assert decisions.by_outcome["refer"] == 1
    assert decisions.by_outcome["unknown"] == 1
    assert decisions.total == 2


def test_an_escalation_claimed_after_the_period_still_counts_as_claimed() -> None:
    rows = [
        ("2026-11-08T23:00:00+00:00", "2026-11-09T01:00:00.000000Z"),
        ("2026-11-03T09:00:00+00:00", None),
        ("2026-11-03T09:00:00+00:00", "2026-11-03T08:59:00.000000Z"),  # replica clocks differ
        ("2026-10-30T09:00:00+00:00", None),  # before the period
    ]

    escalations = count_escalations(rows, WEEK)

    assert (escalations.total, escalations.claimed, escalations.unclaimed) == (3, 2, 1)
    assert escalations.median_minutes_to_claim == 60.0  # waits of 0 and 120 minutes
    assert escalations.time_to_claim["under_15m"] == 1
    assert escalations.time_to_claim["1h_to_4h"] == 1


def test_a_delivery_that_failed_counts_as_failed_until_it_is_delivered() -> None:
    rows = [
        ("pending", False, 2),  # not tried yet
        ("pending", True, 3),  # tried, refused, being retried
        ("failed", True, 1),  # given up (a permanent failure)
        ("delivered", False, 7),
    ]

    deliveries = count_deliveries(rows)

    assert (deliveries.pending, deliveries.failed, deliveries.delivered) == (2, 4, 7)


def test_questions_are_ranked_by_how_often_each_answer_was_given() -> None:
    rows = [
        ("2026-11-02", "myth.gdpr-barrier", 3),
        ("2026-11-03", "none", 2),
        ("2026-11-03", "myth.gdpr-barrier", 1),
        ("2026-11-04", "emergency", 2),
        ("2026-11-09", "none", 50),  # after the period
    ]

    questions = count_questions(rows, WEEK)

    assert questions.by_answer == (("myth.gdpr-barrier", 4), ("emergency", 2), ("none", 2))
    assert (questions.asked, questions.unanswered) == (8, 2)
    assert [(w.week, w.asked, w.unanswered) for w in questions.by_week] == [("2026-W45", 8, 2)]
