"""The period a report covers: whole UTC days from `since` to `until`, both included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MAX_DAYS = 3660  # ten years: more than any retention period


class PeriodError(ValueError):
    """A period given on the command line that cannot be used; the message is one line."""


@dataclass(frozen=True, slots=True)
class Period:
    since: date
    until: date

    @property
    def start(self) -> datetime:
        """The first moment of the period (UTC)."""
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period (UTC)."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def holds(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def weeks(self) -> list[str]:
        """Every ISO week the period touches, in order ("2026-W09")."""
        seen: list[str] = []
        for day in self.each_day():
            week = iso_week(day)
            if not seen or seen[-1] != week:
                seen.append(week)
        return seen

    def partial_weeks(self) -> set[str]:
        """The weeks at either end that the period covers only part of."""
        partial = set()
        if self.since.isoweekday() != 1:
            partial.add(iso_week(self.since))
        if self.until.isoweekday() != 7:
            partial.add(iso_week(self.until))
        return partial

    def each_day(self) -> Iterator[date]:
        for offset in range(self.days):
            yield self.since + timedelta(days=offset)

    def label(self) -> str:
        """A readable period, e.g. "1 March 2026 to 31 March 2026"."""
        return f"{long_date(self.since)} to {long_date(self.until)}"


def iso_week(day: date) -> str:
    """ISO 8601 week of a day: "YYYY-Www" (weeks start on Monday; week 1 holds 4 January)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def last_full_month(today: date) -> Period:
    """The calendar month before the one `today` is in."""
    first_this_month = today.replace(day=1)
    last_day = first_this_month - timedelta(days=1)
    return Period(last_day.replace(day=1), last_day)


def parse_day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{option} must be a date like 2026-03-01 (got {text!r})") from None


def period_from(since: str | None, until: str | None, today: date) -> Period:
    """The period the options ask for: both given; only --since (to today); only --until
    (from the first of that month); neither (the last full calendar month)."""
    if since is None and until is None:
        return last_full_month(today)
    end = parse_day("--until", until) if until is not None else today
    start = parse_day("--since", since) if since is not None else end.replace(day=1)
    if start > end:
        ends = f"--until ({end.isoformat()})" if until is not None else f"today ({end.isoformat()})"
        raise PeriodError(
            f"--since ({start.isoformat()}) is after {ends}; "
            "the period must start on or before the day it ends"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"the period is longer than {MAX_DAYS} days; choose a shorter one")
    return Period(start, end)
