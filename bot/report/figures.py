"""The report's numbers, gathered from the store: counts only, never a case, a person or a
word anyone typed. Every function but `gather` is pure, so each count is tested from tables."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from bot.dialogs.flow import OUTCOMES
from bot.records.store import Store, stamp
from bot.report.period import Period, iso_week

UNANSWERED: Final = "none"
WEEK_FORMAT: Final = "ISO 8601 weeks (YYYY-Www), Monday to Sunday, UTC"
# how long an escalation waited for a lead, in minutes: (band id, up to and not including)
CLAIM_BANDS: Final = (
    ("under_15m", 15.0),
    ("15m_to_1h", 60.0),
    ("1h_to_4h", 240.0),
    ("4h_to_1d", 1440.0),
    ("over_1d", float("inf")),
)


@dataclass(frozen=True, slots=True)
class Week:
    week: str
    total: int = 0
    shared: int = 0
    partial: bool = False

    @property
    def not_shared(self) -> int:
        return self.total - self.shared


@dataclass(frozen=True, slots=True)
class Decisions:
    by_outcome: Mapping[str, int]
    shared: int
    by_week: tuple[Week, ...]

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def not_shared(self) -> int:
        return self.total - self.shared


@dataclass(frozen=True, slots=True)
class Escalations:
    claimed: int
    unclaimed: int
    median_minutes_to_claim: float | None
    time_to_claim: Mapping[str, int]

    @property
    def total(self) -> int:
        return self.claimed + self.unclaimed


@dataclass(frozen=True, slots=True)
class Deliveries:
    pending: int = 0
    failed: int = 0
    delivered: int = 0


@dataclass(frozen=True, slots=True)
class QuestionWeek:
    week: str
    asked: int = 0
    unanswered: int = 0
    partial: bool = False


@dataclass(frozen=True, slots=True)
class Questions:
    by_answer: tuple[tuple[str, int], ...]  # most asked first
    by_week: tuple[QuestionWeek, ...] = field(default=())

    @property
    def asked(self) -> int:
        return sum(n for _, n in self.by_answer)

    @property
    def unanswered(self) -> int:
        return sum(n for answer_id, n in self.by_answer if answer_id == UNANSWERED)


@dataclass(frozen=True, slots=True)
class Figures:
    period: Period
    generated_at: datetime
    decisions: Decisions
    escalations: Escalations
    deliveries: Deliveries
    questions: Questions

    def to_json(self) -> dict[str, Any]:
        """The `canishare report --format json` contract (design.md), with added keys only
        beside the contract's own."""
        d, e, q = self.decisions, self.escalations, self.questions
        return {
            "period": {
                "since": self.period.since.isoformat(),
                "until": self.period.until.isoformat(),
            },
            "decisions": {
                "total": d.total,
                "by_outcome": dict(d.by_outcome),
                "shared": d.shared,
                "not_shared": d.not_shared,
                "by_week": [
                    {
                        "week": w.week,
                        "total": w.total,
                        "shared": w.shared,
                        "not_shared": w.not_shared,
                        "partial": w.partial,
                    }
                    for w in d.by_week
                ],
            },
            "escalations": {
                "total": e.total,
                "claimed": e.claimed,
                "unclaimed": e.unclaimed,
                "median_minutes_to_claim": e.median_minutes_to_claim,
                "time_to_claim": [{"band": b, "count": e.time_to_claim[b]} for b, _ in CLAIM_BANDS],
            },
            "deliveries": {
                "pending": self.deliveries.pending,
                "failed": self.deliveries.failed,
                "delivered": self.deliveries.delivered,
            },
            "questions": {
                "asked": q.asked,
                "unanswered": q.unanswered,
                "top": [{"id": i, "count": n} for i, n in q.by_answer],
                "by_week": [
                    {
                        "week": w.week,
                        "asked": w.asked,
                        "unanswered": w.unanswered,
                        "partial": w.partial,
                    }
                    for w in q.by_week
                ],
            },
            "weeks": WEEK_FORMAT,
            "generated_at": stamp(self.generated_at),
        }


# ---------------------------------------------------------------------- pure counting
def moment(text: str | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (None when missing or unreadable)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def count_decisions(records: Iterable[Mapping[str, Any]], period: Period) -> Decisions:
    """Decision records saved in the period, by outcome and by ISO week."""
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    partial = period.partial_weeks()
    weeks = {w: [0, 0] for w in period.weeks()}
    shared = 0
    for record in records:
        when = moment(str(record.get("created_at") or ""))
        if when is None or not period.holds(when):
            continue
        outcome = str(record.get("outcome") or "unknown")
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
        was_shared = record.get("shared") is True
        shared += was_shared
        week = weeks[iso_week(when.date())]
        week[0] += 1
        week[1] += was_shared
    return Decisions(
        by_outcome,
        shared,
        tuple(Week(w, t, s, w in partial) for w, (t, s) in weeks.items()),
    )


def count_escalations(rows: Iterable[tuple[str, str | None]], period: Period) -> Escalations:
    """Escalations raised in the period: claimed (at any time since) or still waiting."""
    waits: list[float] = []
    unclaimed = 0
    for created_text, claimed_text in rows:
        created = moment(created_text)
        if created is None or not period.holds(created):
            continue
        claimed = moment(claimed_text)
        if claimed is None:
            unclaimed += 1
        else:
            waits.append(max(0.0, (claimed - created).total_seconds() / 60))
    bands = dict.fromkeys((b for b, _ in CLAIM_BANDS), 0)
    for minutes in waits:
        bands[next(b for b, limit in CLAIM_BANDS if minutes < limit)] += 1
    median = round(statistics.median(waits), 1) if waits else None
    return Escalations(len(waits), unclaimed, median, bands)


def count_deliveries(rows: Iterable[tuple[str, bool, int]]) -> Deliveries:
    """Deliveries by state: delivered; failed (given up, or the last try failed and it is
    being retried); pending (waiting for its first try)."""
    pending = failed = delivered = 0
    for status, erred, n in rows:
        if status == "delivered":
            delivered += n
        elif status == "failed" or erred:
            failed += n
        else:
            pending += n
    return Deliveries(pending, failed, delivered)


def count_questions(rows: Iterable[tuple[str, str, int]], period: Period) -> Questions:
    """Questions answered in the period, by answer id (most asked first) and by week."""
    by_answer: dict[str, int] = {}
    partial = period.partial_weeks()
    weeks = {w: [0, 0] for w in period.weeks()}
    for day_text, answer_id, asked in rows:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            continue
        if not period.since <= day <= period.until:
            continue
        by_answer[answer_id] = by_answer.get(answer_id, 0) + asked
        week = weeks[iso_week(day)]
        week[0] += asked
        week[1] += asked if answer_id == UNANSWERED else 0
    ranked = tuple(sorted(by_answer.items(), key=lambda item: (-item[1], item[0])))
    return Questions(
        ranked,
        tuple(QuestionWeek(w, a, u, w in partial) for w, (a, u) in weeks.items()),
    )


# ---------------------------------------------------------------------- from the store
async def gather(store: Store, period: Period, *, now: datetime) -> Figures:
    """Every number in the report for `period`, read from the store."""
    # stored times are ISO text; a day's margin each side, then the exact UTC test above
    since = (period.since - timedelta(days=1)).isoformat()
    before = (period.until + timedelta(days=2)).isoformat()
    decisions = await store.records_created("decision", since=since, before=before)
    escalations = await store.escalation_times(since=since, before=before)
    deliveries = await store.delivery_states(since=period.start, before=period.end)
    questions = await store.question_counts(period.since, period.until)
    return Figures(
        period,
        now,
        count_decisions(decisions, period),
        count_escalations(escalations, period),
        count_deliveries(deliveries),
        count_questions(questions, period),
    )
