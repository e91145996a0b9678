"""The `canishare` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.knowledge.base import KnowledgeError
from bot.records.db import StoreUnavailable
from bot.records.store import FAILED, NO_DESTINATION, Delivery, Store
from bot.report.cli import add_gaps_parser, add_report_parser
from bot.settings import Settings, SettingsError, StartupError, load_settings

if TYPE_CHECKING:  # imported when used: every command starts quickly
    from bot.app import Core
    from bot.knowledge.search import Lookup

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="canishare",
        description="Can I share? — decide, in minutes, whether you can share safeguarding "
        "information, and keep the record.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("chat", help="chat with the bot in this terminal")
    ask = sub.add_parser("ask", help="answer one question (or one per line from stdin with '-')")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("text", nargs="+", help="the question, or '-' to read questions from stdin")
    decide = sub.add_parser("decide", help="run the decision dialog from a JSON file of facts")
    decide.add_argument(
        "--facts", required=True, type=Path, help="JSON file: {question id: answer}"
    )
    decide.add_argument("--json", action="store_true", help="end with the result as JSON")
    decide.add_argument(
        "--dry-run",
        action="store_true",
        help="run everything, including the record step, but save nothing",
    )
    sub.add_parser("serve", help="run the Slack and Teams HTTP server (or Slack Socket Mode)")
    records = sub.add_parser("records", help="export, check or tidy the decision records")
    rsub = records.add_subparsers(dest="records_command", metavar="ACTION", required=True)
    export = rsub.add_parser("export", help="export all decision records")
    export.add_argument("--format", choices=("csv", "json"), default="json")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    rsub.add_parser("status", help="show records not yet delivered, with their last error")
    rsub.add_parser(
        "retry",
        help="after fixing a delivery problem: send failed records again now, and give records "
        "saved with no channel set up the channel that is set up now",
    )
    rsub.add_parser("verify", help="check the tamper-evident chain of records")
    rsub.add_parser("purge", help="apply the retention period and idle limit now")
    knowledge = sub.add_parser("knowledge", help="check the knowledge base")
    ksub = knowledge.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    ksub.add_parser("check", help="validate every file; warn about entries due for review")
    add_gaps_parser(ksub)
    add_report_parser(sub)
    manifest = sub.add_parser("manifest", help="print the Slack manifest or build the Teams app")
    manifest.add_argument("platform", choices=("slack", "teams"))
    manifest.add_argument("--url", help="public base URL (default: CANISHARE_PUBLIC_URL)")
    manifest.add_argument("--output", type=Path, help="where to write the Teams zip")
    manifest.add_argument(
        "--bump",
        choices=("major", "minor", "patch"),
        help="Teams: raise the app version in manifest/teams/manifest.json first",
    )
    manifest.add_argument(
        "--schema", type=Path, help="Teams: also validate against this JSON schema file"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever goes wrong ends in one line on standard error naming the
    cause (exit status 2), never a traceback."""
    args = _parser().parse_args(argv)
    if args.command is None:
        args.command = "chat"
    try:
        settings = load_settings()
        return _run(args, settings)
    except (SettingsError, KnowledgeError, StoreUnavailable, StartupError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return _fail("the output was closed before everything was written (broken pipe)")
    except UnicodeDecodeError as exc:
        return _fail(f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})")
    except Exception as exc:
        return _fail(f"unexpected error: {type(exc).__name__}: {exc}")


def _fail(message: str) -> int:
    line = " ".join(message.split())
    with contextlib.suppress(OSError, ValueError):
        print(f"canishare: {line}", file=sys.stderr)
    return EXIT_USAGE


def _silence_stdout() -> None:
    """A closed pipe stays closed: point stdout at /dev/null so the interpreter's last flush
    does not fail a second time (the advice in Python's own signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "knowledge" and args.knowledge_command == "gaps":
        from bot.report.cli import gaps_cmd

        return asyncio.run(gaps_cmd(settings, args))
    if args.command == "knowledge":
        return knowledge_check(settings)
    if args.command == "report":
        from bot.report.cli import report_cmd

        return asyncio.run(report_cmd(settings, args))
    if args.command == "ask":
        return ask(settings, args.text, as_json=args.json)
    if args.command == "chat":
        return asyncio.run(chat(settings))
    if args.command == "decide":
        return asyncio.run(
            decide_cmd(settings, args.facts, as_json=args.json, dry_run=args.dry_run)
        )
    if args.command == "records":
        return asyncio.run(records_cmd(settings, args))
    if args.command == "serve":
        from bot.server import serve

        return serve(settings)
    if args.command == "manifest":
        from bot.manifests import manifest_cmd

        return manifest_cmd(
            settings,
            args.platform,
            url=args.url,
            output=args.output,
            bump=args.bump,
            schema=args.schema,
        )
    return EXIT_USAGE


def knowledge_check(settings: Settings) -> int:
    from bot.knowledge.base import REVIEW_AFTER_DAYS, _build, check_knowledge

    problems = check_knowledge(organisation_file=settings.org_file)
    for p in problems:
        print(f"error: {p}")
    if problems:
        print(f"{len(problems)} problem(s) found; the bot will not start until they are fixed.")
        return 1
    kb = _build(Path(__file__).parent / "knowledge", settings.org_file)
    stale = kb.stale(date.today())
    for e in stale:
        print(
            f"warning: {e.file}, entry {e.id}: last reviewed {e.last_reviewed}, "
            f"more than {REVIEW_AFTER_DAYS // 30} months ago — please review it"
        )
    for file, reviewed in kb.stale_files(date.today()):
        print(
            f"warning: {file}: last reviewed {reviewed}, "
            f"more than {REVIEW_AFTER_DAYS // 30} months ago — please review it"
        )
    myths = sum(1 for e in kb.entries.values() if e.kind == "myth")
    topics = sum(1 for e in kb.entries.values() if e.kind == "topic")
    print(
        f"ok: {myths} myths, {topics} topics, emergency guidance; version {kb.version}; "
        f"{len(stale)} due for review"
    )
    return 0


def ask(settings: Settings, text: list[str], *, as_json: bool) -> int:
    from bot.app import build_core
    from bot.knowledge.lookup import lookup_json

    core = build_core(settings)
    menu = core.conversation.words.message("none")["text"]
    from_stdin = text == ["-"]
    questions = sys.stdin if from_stdin else [" ".join(text)]
    answered = 0
    for line in questions:
        question = line.strip()
        if not question and from_stdin and not as_json:
            continue  # a blank line is no question: nothing to say, and never raw JSON
        result = core.knowledge.ask(question)
        if as_json:
            print(json.dumps(lookup_json(result, core.knowledge.kb, menu), ensure_ascii=False))
            sys.stdout.flush()
            continue
        if answered and from_stdin:
            print("\n" + "-" * 40 + "\n")
        print(answer_text(core, result))
        sys.stdout.flush()
        answered += 1
    return 0


def answer_text(core: Core, found: Lookup) -> str:
    """`ask` without --json: the answer presented as in a chat — a safety note first when
    the question might describe danger now, "Did you mean…" when the search is not sure, the
    offer to work through a decision after a case story."""
    from bot.channels.console import render

    replies = core.conversation.say.answer(found, in_dialog=False)
    words = core.conversation.words.channel
    return "\n\n".join(render(r, words, numbered=False) for r in replies)


async def chat(settings: Settings) -> int:
    from bot.app import build_bot, require_writable
    from bot.channels.console import ConsoleChat

    bot = await build_bot(settings)
    await require_writable(bot.store, settings)
    try:
        return await ConsoleChat(bot).run(read=_async_input_fallback)
    finally:
        await bot.store.close()


def _async_input_fallback(prompt: str) -> str:
    return input(prompt)


async def decide_cmd(
    settings: Settings, facts_file: Path, *, as_json: bool, dry_run: bool = False
) -> int:
    from bot.decide import DecideError, decide_with

    try:
        facts = json.loads(facts_file.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"canishare: cannot read {facts_file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"canishare: {facts_file} is not valid JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        run = await decide_with(settings, facts, print, dry_run=dry_run)
    except DecideError as exc:
        print(f"canishare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        print(json.dumps(run.result(), ensure_ascii=False))
    return 0


EXPORT_COLUMNS = (
    "id",
    "created_at",
    "practitioner",
    "channel",
    "case_reference",
    "outcome",
    "shared",
    "what",
    "with_whom",
    "purpose",
    "lawful_basis",
    "special_category",
    "reasons",
    "answers",
    "flow_version",
    "knowledge_version",
)


async def records_cmd(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_store

    store = await open_store(settings)
    try:
        if args.records_command == "export":
            rows = await store.records("decision")
            text = _export(rows, args.format)
            if args.output:
                args.output.write_text(text, encoding="utf-8")
                print(f"wrote {len(rows)} record(s) to {args.output}", file=sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        if args.records_command == "status":
            return records_status(await store.undelivered())
        if args.records_command == "retry":
            return await records_retry(store, settings)
        if args.records_command == "verify":
            problems = await store.verify()
            count = len(await store.records())
            for p in problems:
                print(f"TAMPERED: {p}")
            if problems:
                return 1
            print(f"ok: {count} record(s); the chain is intact")
            return 0
        if args.records_command == "purge":
            from bot.core.conversation import new_id

            now = datetime.now(UTC)
            idle = await store.purge_idle(before=now - timedelta(hours=settings.idle_hours))
            gone = await store.purge_records(
                before=now - timedelta(days=settings.retention_days), now=now, purge_id=new_id("P")
            )
            from bot.report.gaps import purge_kept_questions

            kept = await purge_kept_questions(store, settings, now=now)
            print(
                f"purged {idle} idle conversation(s), {gone} record(s) past retention and "
                f"{kept} kept unanswered question(s)"
            )
            return 0
    finally:
        await store.close()
    return EXIT_USAGE


def records_status(waiting: Sequence[Delivery]) -> int:
    """Print every record and escalation not delivered, and why; 1 when there are any."""
    if not waiting:
        print("All records and escalations have been delivered.")
        return 0
    failed = [d for d in waiting if d.status == FAILED]
    nowhere = [d for d in waiting if d.status == NO_DESTINATION]
    pending = [d for d in waiting if d not in failed and d not in nowhere]
    print(f"{len(waiting)} delivery(ies) not delivered:")
    for d in failed:
        print(
            f"  FAILED  {d.record_id} → {d.target}: {d.last_error or 'refused'} — not retried; "
            "fix this, then run 'canishare records retry'"
        )
    for d in nowhere:
        print(
            f"  NOT DELIVERED  {d.record_id} (saved {d.created_at}): nowhere to send it — "
            f"{d.last_error or 'no channel is set up'}"
        )
    for d in pending:
        print(
            f"  waiting  {d.record_id} → {d.target}: {d.attempts} attempt(s) since "
            f"{d.created_at}; last error: {d.last_error or 'none yet'}"
        )
    return 1


async def records_retry(store: Store, settings: Settings) -> int:
    """Queue failed deliveries again and give destination-less records a destination."""
    from bot.service import targets_for

    now = datetime.now(UTC)
    failed = await store.retry_failed(now=now)
    given = await store.give_destinations(
        lambda kind, record: targets_for(kind, str(record.get("channel", "")), settings),
        now=now,
    )
    due = await store.retry_pending_now(now=now)
    still = sum(1 for d in await store.undelivered() if d.status == NO_DESTINATION)
    print(
        f"{failed} failed delivery(ies) queued again; {given} record(s) with no destination "
        f"queued for the channel now set up; {due} waiting delivery(ies) made due now. "
        "A running 'canishare serve' sends them within seconds."
    )
    if still:
        print(
            f"{still} record(s) still have nowhere to go: set CANISHARE_RECORD_CHANNEL / "
            "CANISHARE_LEADS_CHANNEL (Slack) or the CANISHARE_TEAMS_…_CONVERSATION settings, "
            "then run 'canishare records retry' again."
        )
    return 0


def _export(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = dict(row)
        flat["answers"] = "; ".join(f"{a['q']}={a['a']}" for a in row.get("answers", []))
        writer.writerow(flat)
    return buf.getvalue()
