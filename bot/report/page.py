"""The HTML report: one self-contained page (inline CSS and SVG charts, no scripts, nothing
fetched), readable offline, printable and accessible. Imports matplotlib (through `charts`),
so only the `report` command loads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bot.knowledge.base import KnowledgeBase
from bot.report import charts
from bot.report.figures import CLAIM_BANDS, UNANSWERED, Figures
from bot.report.period import long_date
from bot.report.words import ReportWords, report_words

TOP_ANSWERS: Final = 12  # answers drawn in the questions chart (the table lists them all)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a data table: a heading cell, then the values."""

    heading: str
    values: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    heading: str
    shows: str
    chart: Markup | None
    table: Table


def render_html(figures: Figures, titles: Mapping[str, str]) -> str:
    """The whole page. `titles` names each answer id (from the knowledge base)."""
    words = report_words()
    env = Environment(
        loader=PackageLoader("bot.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        words=words,
        lang="en-GB",
        title=words("title"),
        period=words("period", period=figures.period.label()),
        period_label=figures.period.label(),
        generated=words(
            "generated",
            when=f"{long_date(figures.generated_at.date())} at {figures.generated_at:%H:%M} UTC",
        ),
        glance=_glance(figures, words),
        sections=[
            _decisions_by_week(figures, words),
            _decisions_by_outcome(figures, words),
            _escalations(figures, words),
            _questions(figures, words, titles),
            _questions_by_week(figures, words),
            _deliveries(figures, words),
        ],
        empty=_is_empty(figures),
    )


def answer_titles(kb: KnowledgeBase) -> dict[str, str]:
    """A readable name for each answer id; a myth is named as one, so nobody reads the myth
    ("Consent is always needed to share") as the bot's advice."""
    return {
        entry_id: f"Myth: {entry.title}" if entry.kind == "myth" else entry.title
        for entry_id, entry in kb.entries.items()
    }


def answer_title(answer_id: str, titles: Mapping[str, str], words: ReportWords) -> str:
    names: Mapping[str, str] = words.raw["answer_names"]
    return names.get(answer_id) or titles.get(answer_id) or answer_id


# ---------------------------------------------------------------------- sections
def _glance(f: Figures, w: ReportWords) -> list[tuple[str, str]]:
    e = f.escalations
    median = (
        w("figures.minutes", minutes=_number(e.median_minutes_to_claim))
        if e.median_minutes_to_claim is not None
        else w("figures.median_none")
    )
    return [
        (w("figures.decisions"), str(f.decisions.total)),
        (w("figures.shared"), str(f.decisions.shared)),
        (w("figures.not_shared"), str(f.decisions.not_shared)),
        (w("figures.escalations"), str(e.total)),
        (w("figures.claimed"), str(e.claimed)),
        (w("figures.unclaimed"), str(e.unclaimed)),
        (w("figures.median"), median),
        (w("figures.questions"), str(f.questions.asked)),
        (w("figures.unanswered"), str(f.questions.unanswered)),
        (w("figures.pending"), str(f.deliveries.pending)),
        (w("figures.failed"), str(f.deliveries.failed)),
    ]


def _decisions_by_week(f: Figures, w: ReportWords) -> Section:
    key = "sections.decisions_by_week"
    weeks = f.decisions.by_week
    busiest = max(weeks, key=lambda x: x.total, default=None)
    summary = (
        f"{f.decisions.total} decision(s) over {len(weeks)} week(s): {f.decisions.shared} "
        f"shared and {f.decisions.not_shared} not shared."
    )
    if busiest is not None and busiest.total:
        summary += f" The busiest week was {busiest.week} with {busiest.total}."
    chart = charts.stacked_weeks(
        [x.week for x in weeks],
        [x.shared for x in weeks],
        [x.not_shared for x in weeks],
        labels=(w("table.shared"), w("table.not_shared")),
        empty=w("empty_period"),
        chart_id="chart-decisions-week",
        title=w(f"{key}.chart_title"),
        description=w(f"{key}.alt", summary=summary),
    )
    rows = tuple(
        Row(_week_label(x.week, x.partial, w), (x.shared, x.not_shared, x.total)) for x in weeks
    )
    table = Table(
        w(f"{key}.chart_title"),
        (w("table.week"), w("table.shared"), w("table.not_shared"), w("table.total")),
        (
            *rows,
            Row(w("table.total"), (f.decisions.shared, f.decisions.not_shared, f.decisions.total)),
        ),
    )
    return Section(
        "decisions-by-week", w(f"{key}.heading"), w(f"{key}.shows"), Markup(chart), table
    )


def _decisions_by_outcome(f: Figures, w: ReportWords) -> Section:
    key = "sections.decisions_by_outcome"
    items = list(f.decisions.by_outcome.items())
    labels = [w.outcome(o) for o, _ in items]
    parts = ", ".join(f"{label}: {n}" for label, (_, n) in zip(labels, items, strict=True))
    chart = charts.horizontal_bars(
        labels,
        [n for _, n in items],
        empty=w("empty_period"),
        chart_id="chart-decisions-outcome",
        title=w(f"{key}.chart_title"),
        description=w(f"{key}.alt", summary=parts + "."),
    )
    table = Table(
        w(f"{key}.chart_title"),
        (w("table.outcome"), w("table.count")),
        tuple(Row(label, (n,)) for label, (_, n) in zip(labels, items, strict=True)),
    )
    return Section(
        "decisions-by-outcome", w(f"{key}.heading"), w(f"{key}.shows"), Markup(chart), table
    )


def _escalations(f: Figures, w: ReportWords) -> Section:
    key = "sections.escalations"
    e = f.escalations
    labels = [w(f"claim_bands.{band}") for band, _ in CLAIM_BANDS] + [w("figures.unclaimed")]
    values = [e.time_to_claim[band] for band, _ in CLAIM_BANDS] + [e.unclaimed]
    median = (
        f"the median time to claim was {_number(e.median_minutes_to_claim)} minutes"
        if e.median_minutes_to_claim is not None
        else "none was claimed"
    )
    summary = f"{e.total} request(s): {e.claimed} claimed, {e.unclaimed} not yet claimed; {median}."
    chart = charts.horizontal_bars(
        labels,
        values,
        marked=[False] * len(CLAIM_BANDS) + [True],
        empty=w("empty_period"),
        chart_id="chart-escalations",
        title=w(f"{key}.chart_title"),
        description=w(f"{key}.alt", summary=summary),
    )
    table = Table(
        w(f"{key}.chart_title"),
        (w("table.wait"), w("table.count")),
        tuple(Row(label, (n,)) for label, n in zip(labels, values, strict=True)),
    )
    return Section("escalations", w(f"{key}.heading"), w(f"{key}.shows"), Markup(chart), table)


def _questions(f: Figures, w: ReportWords, titles: Mapping[str, str]) -> Section:
    key = "sections.questions"
    top = f.questions.by_answer[:TOP_ANSWERS]
    labels = [answer_title(i, titles, w) for i, _ in top]
    summary = f"{f.questions.asked} question(s), {f.questions.unanswered} not answered."
    if top:
        summary += (
            " Most given: "
            + ", ".join(f"{label} ({n})" for label, (_, n) in zip(labels[:5], top[:5], strict=True))
            + "."
        )
    chart = charts.horizontal_bars(
        labels,
        [n for _, n in top],
        marked=[i == UNANSWERED for i, _ in top],
        empty=w("empty_period"),
        chart_id="chart-questions",
        title=w(f"{key}.chart_title", count=TOP_ANSWERS),
        description=w(f"{key}.alt", summary=summary),
    )
    rows = tuple(Row(answer_title(i, titles, w), (i, n)) for i, n in f.questions.by_answer)
    table = Table(
        w(f"{key}.table_caption"),
        (w("table.answer"), w("table.answer_id"), w("table.count")),
        (*rows, Row(w("table.total"), ("", f.questions.asked))),
    )
    return Section("questions", w(f"{key}.heading"), w(f"{key}.shows"), Markup(chart), table)


def _questions_by_week(f: Figures, w: ReportWords) -> Section:
    key = "sections.questions_by_week"
    weeks = f.questions.by_week
    summary = (
        f"{f.questions.asked} question(s) over {len(weeks)} week(s); "
        f"{f.questions.unanswered} could not be answered."
    )
    chart = charts.stacked_weeks(
        [x.week for x in weeks],
        [x.asked - x.unanswered for x in weeks],
        [x.unanswered for x in weeks],
        labels=(w("table.answered"), w("table.unanswered")),
        empty=w("empty_period"),
        chart_id="chart-questions-week",
        title=w(f"{key}.chart_title"),
        description=w(f"{key}.alt", summary=summary),
    )
    table = Table(
        w(f"{key}.chart_title"),
        (w("table.week"), w("table.asked"), w("table.unanswered")),
        tuple(Row(_week_label(x.week, x.partial, w), (x.asked, x.unanswered)) for x in weeks),
    )
    return Section(
        "questions-by-week", w(f"{key}.heading"), w(f"{key}.shows"), Markup(chart), table
    )


def _deliveries(f: Figures, w: ReportWords) -> Section:
    key = "sections.deliveries"
    d = f.deliveries
    table = Table(
        w(f"{key}.heading"),
        (w("table.state"), w("table.count")),
        (
            Row(w("figures.pending"), (d.pending,)),
            Row(w("figures.failed"), (d.failed,)),
            Row(w("figures.delivered"), (d.delivered,)),
        ),
    )
    return Section("deliveries", w(f"{key}.heading"), w(f"{key}.shows"), None, table)


# ---------------------------------------------------------------------- small helpers
def _week_label(week: str, partial: bool, w: ReportWords) -> str:
    return f"{week} ({w('table.part')})" if partial else week


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value != int(value) else str(int(value))


def _is_empty(f: Figures) -> bool:
    return not (f.decisions.total or f.escalations.total or f.questions.asked)
