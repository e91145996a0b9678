"""The monthly summary for the safeguarding leads' channel (Slack and Teams), through the
outbox: once per month however many replicas run, because the month's store key is taken in
the same transaction that appends the summary. Counts only, like the report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from bot.records.store import NewRecord, Store
from bot.report.figures import Figures, gather, moment
from bot.report.period import Period, last_full_month
from bot.report.words import ReportWords, report_words
from bot.settings import Settings

KIND: Final = "summary"


def summary_targets(settings: Settings) -> tuple[str, ...]:
    """Every leads channel that is set up: the summary goes to Slack and Teams alike."""
    targets = []
    if settings.slack_enabled and settings.leads_channel:
        targets.append("slack:summary")
    if settings.teams_leads_conversation:
        targets.append("teams:summary")
    return tuple(targets)


def month_key(period: Period) -> str:
    return f"summary:{period.since:%Y-%m}"


def summary_body(figures: Figures, *, now: datetime) -> dict[str, Any]:
    """The summary record: a title, a line of text and a few lines of counts to post, and
    the report's numbers as JSON."""
    w = report_words()
    period = figures.period
    month = f"{period.since:%B %Y}"
    return {
        "id": f"S-{period.since:%Y-%m}",
        "created_at": now.isoformat(),
        "month": f"{period.since:%Y-%m}",
        "title": w("summary.title", month=month),
        "text": w("summary.text", month=month),
        "items": summary_lines(figures, w),
        "figures": figures.to_json(),
    }


def summary_lines(figures: Figures, w: ReportWords) -> list[str]:
    d, e, q, o = figures.decisions, figures.escalations, figures.questions, figures.deliveries
    median = (
        w("figures.minutes", minutes=f"{e.median_minutes_to_claim:g}")
        if e.median_minutes_to_claim is not None
        else w("figures.median_none")
    )
    return [
        w("summary.decisions", total=d.total, shared=d.shared, not_shared=d.not_shared),
        w(
            "summary.escalations",
            total=e.total,
            claimed=e.claimed,
            unclaimed=e.unclaimed,
            median=median,
        ),
        w("summary.questions", asked=q.asked, unanswered=q.unanswered),
        w("summary.deliveries", pending=o.pending, failed=o.failed),
        w("summary.more", since=figures.period.since, until=figures.period.until),
    ]


async def post_monthly_summary(store: Store, settings: Settings, *, now: datetime) -> bool:
    """Queue last month's summary for the leads channels, unless it was queued before, no
    leads channel is set up (it is queued once one is), or the bot was not running then.
    True when this call queued it."""
    targets = summary_targets(settings)
    if not targets:
        return False
    period = last_full_month(now.date())
    installed = moment(await store.installed_at())
    if installed is None or installed >= period.end:
        return False  # set up after the month ended: nothing to summarise
    key = month_key(period)
    if await store.kv_get(key) is not None:
        return False  # the usual case: a cheap look before gathering any numbers
    figures = await gather(store, period, now=now)
    record = NewRecord(KIND, summary_body(figures, now=now), targets)
    return await store.append_once(key, [record], now=now)


def posted_text(summary: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """(title, text, lines) of a summary record, for a channel's sender."""
    items = [str(i) for i in summary.get("items") or []]
    return str(summary.get("title", "")), str(summary.get("text", "")), items
