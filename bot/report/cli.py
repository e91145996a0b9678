"""`canishare report` and `canishare knowledge gaps`."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from bot.records.store import Store
from bot.report.period import Period, PeriodError, period_from
from bot.settings import Settings

EXIT_USAGE: Final = 2
REPORT_HELP: Final = (
    "The monitoring report for safeguarding leads, in counts only (no case references, "
    "names, practitioner ids or free text): decisions by outcome and by ISO week, requests "
    "for advice and how fast leads claimed them, deliveries waiting or failing, and the "
    "questions people asked. Without --since and --until it covers the last full calendar "
    "month (the month before this one, UTC). With only --since it runs to today; with only "
    "--until it starts on the first of that month. Dates are whole UTC days, both included."
)


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="the monitoring report for safeguarding leads (counts only)",
        description=REPORT_HELP,
    )
    report.add_argument("--since", metavar="YYYY-MM-DD", help="first day (default: see above)")
    report.add_argument("--until", metavar="YYYY-MM-DD", help="last day (default: see above)")
    report.add_argument(
        "--format",
        choices=("html", "json"),
        help="html: one self-contained page with charts; json: the numbers "
        "(default: from the --out file's extension, else html)",
    )
    report.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="write here (default: standard output; HTML asked for at a terminal is saved as "
        "canishare-report-SINCE-to-UNTIL.html instead)",
    )


async def report_cmd(settings: Settings, args: argparse.Namespace) -> int:
    from bot.report.figures import gather

    now = datetime.now(UTC)
    try:
        period = period_from(args.since, args.until, now.date())
    except PeriodError as exc:
        return _usage(str(exc))
    fmt = args.format or _format_for(args.out)
    out: Path | None = args.out
    if out is None and fmt == "html" and sys.stdout.isatty():
        out = Path(f"canishare-report-{period.since}-to-{period.until}.html")
    if out is not None and not out.parent.is_dir():
        return _usage(f"cannot write {out}: the folder {out.parent} does not exist")
    store = await _open(settings)
    if store is None:
        return EXIT_USAGE
    try:
        figures = await gather(store, period, now=now)
    finally:
        await store.close()
    if fmt == "json":
        text = json.dumps(figures.to_json(), ensure_ascii=False, indent=2) + "\n"
    else:
        from bot.report.page import render_html

        text = render_html(figures, _answer_titles(settings))
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _usage(f"cannot write {out}: {exc.strerror}")
    print(f"wrote the {fmt.upper()} report for {period.label()} to {out}", file=sys.stderr)
    return 0


def _format_for(out: Path | None) -> str:
    return "json" if out is not None and out.suffix.lower() == ".json" else "html"


def _answer_titles(settings: Settings) -> dict[str, str]:
    from bot.knowledge import load_knowledge
    from bot.report.page import answer_titles

    return answer_titles(load_knowledge(organisation_file=settings.org_file))


async def _open(settings: Settings) -> Store | None:
    """The store, or None after saying in one line why it cannot be opened."""
    from bot.app import open_store

    try:
        return await open_store(settings)
    except Exception as exc:  # a command-line boundary: one line, never a traceback
        _usage(f"cannot open the store named by CANISHARE_DB_URL ({type(exc).__name__}: {exc})")
        return None


def _usage(message: str) -> int:
    print(f"canishare: {message}", file=sys.stderr)
    return EXIT_USAGE


# ---------------------------------------------------------------------- knowledge gaps
GAPS_HELP: Final = (
    "List the questions the bot could not answer, scrubbed of personal details, for the "
    "knowledge maintainers. They are kept only when CANISHARE_KEEP_UNANSWERED_DAYS is set "
    "(off by default), and deleted after that many days."
)
RECENT_DAYS: Final = 30


def add_gaps_parser(ksub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gaps = ksub.add_parser(
        "gaps", help="list questions the bot could not answer (if kept)", description=GAPS_HELP
    )
    gaps.add_argument("--json", action="store_true", help="print them as JSON")


async def gaps_cmd(settings: Settings, args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    recent = Period(today - timedelta(days=RECENT_DAYS - 1), today)
    store = await _open(settings)
    if store is None:
        return EXIT_USAGE
    try:
        counts = await store.question_counts(recent.since, recent.until)
        kept = await store.unanswered_questions() if settings.keep_unanswered_days else []
    finally:
        await store.close()
    unanswered = sum(n for _, answer_id, n in counts if answer_id == "none")
    grouped = _grouped(kept)
    if args.json:
        print(
            json.dumps(
                {
                    "keep_days": settings.keep_unanswered_days,
                    "unanswered_last_30_days": unanswered,
                    "questions": [
                        {"text": text, "count": n, "last_asked": last} for text, n, last in grouped
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"In the last {RECENT_DAYS} days the bot could not answer {unanswered} question(s).")
    if not settings.keep_unanswered_days:
        print(
            "Their words are not kept. To keep them for the knowledge maintainers, scrubbed of "
            "personal details, set CANISHARE_KEEP_UNANSWERED_DAYS to the number of days to keep "
            "them (for example 30)."
        )
        return 0
    if not grouped:
        print(f"None is kept at the moment (they are kept {settings.keep_unanswered_days} days).")
        return 0
    print(
        f"Kept for {settings.keep_unanswered_days} days, personal details removed; "
        "most asked first:"
    )
    for text, n, last in grouped:
        print(f"  {n:>4} ×  {text}   (last asked {last})")
    return 0


def _grouped(kept: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    """(text, times, last day asked), most asked first, then the newest."""
    times = Counter(text for _, text in kept)
    last: dict[str, str] = {}
    for day, text in kept:
        last[text] = max(day, last.get(text, day))
    rows = sorted((text, n, last[text]) for text, n in times.items())
    rows.sort(key=lambda row: row[2], reverse=True)
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows
