"""Nothing personal reaches the report, in either format: not a case reference, a name, a
practitioner or lead id, an id of a record, or a word anyone typed — counts only."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bot.app import Core, open_store
from bot.records.store import NewRecord
from bot.service import Bot
from bot.settings import Settings
from tests.cli_runner import run_many
from tests.report.practice import Clock, Practitioner, day

# all fictional
CASES = ["CP-2026-7781", "EH-2026-0042", "MASH-44719", "S47-2026-0031"]
PEOPLE = ["U0TEACH777", "U0NURSE777", "U0LEAD0777", "Wilhelmina Quenby", "Oswin Tarrant"]
TEXTS = [
    "Quenby family disclosure at the breakfast club",
    "Tarrant household, the older brother",
    "Does Wilhelmina's step-father have parental responsibility?",
    "who do I ring about the Quenby case",
]


async def fill_the_store(core: Core, settings: Settings, clock: Clock) -> list[str]:
    """Records full of personal details, some made through the real dialog (names the
    personal-details check does not know slip into free text), some as an older version
    might have saved them; returns every id the store gave out."""
    keeping = dataclasses.replace(settings, keep_unanswered_days=30)
    bot = Bot(core.conversation, await open_store(keeping), keeping, clock=clock)
    teacher = Practitioner(bot, PEOPLE[0])
    nurse = Practitioner(bot, PEOPLE[1], channel="teams")
    ids: list[str] = []
    try:
        clock.at(day(3))
        saved = await teacher.record(
            "share_without_consent", CASES[0], what=TEXTS[0], reasons=TEXTS[1]
        )
        ids.append(saved["id"])
        clock.at(day(4))
        asked = await nurse.ask_for_advice(CASES[1], TEXTS[2])
        ids.append(asked["id"])
        clock.advance(minutes=20)
        await bot.claim(asked["id"], PEOPLE[2], "Oswin Tarrant")
        await bot.count_question("none", TEXTS[3])
        legacy = {
            "id": "R-LEGACY0001",
            "created_at": day(5).isoformat(),
            "practitioner": PEOPLE[1],
            "practitioner_name": PEOPLE[3],
            "case_reference": CASES[2],
            "outcome": "do_not_share",
            "shared": False,
            "what": f"{PEOPLE[3]}'s school file",
            "with_whom": PEOPLE[4],
            "reasons": f"{CASES[3]} is closed",
        }
        await bot.store.append([NewRecord("decision", legacy, ("slack:record",))], now=day(5))
        ids.append(legacy["id"])
        assert (await bot.store.unanswered_questions())[0][1]  # a text was kept for gaps
    finally:
        await bot.store.close()
    return ids


async def test_neither_format_holds_anything_personal(
    core: Core, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    db = Path(settings.db_url.removeprefix("sqlite:///"))
    ids = await fill_the_store(core, settings, clock)
    html = db.parent / "november.html"

    as_json, as_html = run_many(
        [
            (["report", "--since", "2026-11-01", "--until", "2026-11-30", "--format", "json"], db),
            (["report", "--since", "2026-11-01", "--until", "2026-11-30", "--out", str(html)], db),
        ]
    )

    assert as_json.returncode == 0 and as_html.returncode == 0, as_json.stderr + as_html.stderr
    report = json.loads(as_json.stdout)
    assert report["decisions"]["total"] == 2  # the report did read the records
    assert report["escalations"]["claimed"] == 1
    for output in (as_json.stdout, html.read_text(encoding="utf-8"), as_html.stderr):
        folded = output.casefold()
        for secret in [*CASES, *PEOPLE, *TEXTS, *ids, "Quenby", "Tarrant", "Wilhelmina"]:
            assert secret.casefold() not in folded, f"{secret!r} is in the report"
