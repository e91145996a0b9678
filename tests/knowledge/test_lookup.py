"""Questions typed the way staff type them reach the right answer; emergencies always win."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.lookup import Knowledge

EVAL = Path(__file__).resolve().parents[1] / "eval"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.build(load_knowledge())


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("is GDPR a barrier?", "myth.gdpr-barrier"),
        ("do i need consent to share?", "myth.consent-always-needed"),
        ("do we need an information sharing agreement first?", "myth.agreement-required"),
        ("ISA needed b4 I share with the youth club??", "myth.agreement-required"),
        ("what are the seven golden rules", "topic.golden-rules"),
        ("which lawful basis should a school use", "topic.lawful-basis"),
        ("whose consent do I need for a 13 year old", "topic.consent-child"),
        ("should i tell my DSL first", "topic.seek-advice"),
        ("what should I write down about my decision", "topic.record-keeping"),
        ("concent always needed??", "myth.consent-always-needed"),
        ("is everything a pupil tells me confidential", "myth.all-information-confidential"),
        ("do i need proof of abuse before referring", "myth.proof-of-harm-required"),
        ("can the ico fine me for sharing", "myth.punished-for-sharing"),
    ],
)
def test_realistic_phrasings_reach_the_right_entry(
    knowledge: Knowledge, question: str, expected: str
) -> None:
    result = knowledge.ask(question)

    assert result.entry is not None and result.entry.id == expected


@pytest.mark.parametrize(
    "question",
    [
        "is consent needed? she says he has a knife and is outside the house now",
        "GDPR question: a pupil said she is going to kill herself tonight",
        "someone is in immediate danger",
        "the toddler has been left home alone",
        "can i share?? dad turned up drunk and is about to drive off with the kids",
    ],
)
def test_emergency_wording_always_wins(knowledge: Knowledge, question: str) -> None:
    result = knowledge.ask(question)

    assert result.kind == "emergency"
    assert result.entry is not None and "999" in result.entry.answer


@pytest.mark.parametrize(
    "question",
    [
        "how do I share my screen in teams",
        "what's for lunch in the canteen",
        "can you recommend a good film",
        "how do i book a meeting room",
        "",
    ],
)
def test_questions_outside_safeguarding_sharing_get_none(
    knowledge: Knowledge, question: str
) -> None:
    result = knowledge.ask(question)

    assert result.kind == "none"
    assert result.entry is None


def test_eval_sets_hold_enough_realistic_phrasings() -> None:
    items = [
        item
        for name in ("dev", "heldout")
        for item in yaml.safe_load((EVAL / f"{name}.yaml").read_text())["items"]
    ]
    kinds = {i["expect"] for i in items}
    assert len(items) >= 120
    assert {"none", "emergency"} <= kinds


def test_every_emergency_phrasing_in_the_tuning_sets_is_caught(knowledge: Knowledge) -> None:
    # the held-out set is reported by benchmarks/search_eval.py, never tuned against
    for path in sorted(EVAL.glob("dev*.yaml")):
        for item in yaml.safe_load(path.read_text())["items"]:
            if item["expect"] == "emergency":
                assert knowledge.ask(item["text"]).kind == "emergency", item["text"]


def _ask(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ask_json_follows_the_contract() -> None:
    done = _ask("--json", "is", "gdpr", "a", "barrier?")

    out = json.loads(done.stdout)
    assert done.returncode == 0
    assert set(out) == {
        "kind",
        "id",
        "title",
        "verdict",
        "answer",
        "sources",
        "score",
        "alternatives",
    }
    assert out["kind"] == "myth" and out["id"] == "myth.gdpr-barrier"
    assert out["verdict"] is False
    assert out["sources"] and all({"title", "section"} <= set(s) for s in out["sources"])
    assert 0 < out["score"] <= 1


def test_ask_json_reads_one_question_per_line_from_stdin_in_order() -> None:
    done = _ask("--json", "-", stdin="what are the golden rules\nwho won the match\n")

    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["topic", "none"]
    assert lines[0]["id"] == "topic.golden-rules"
    assert lines[1]["id"] is None and lines[1]["answer"]


def test_ask_without_json_shows_the_answer_with_sources() -> None:
    done = _ask("do", "we", "need", "an", "ISA?")

    assert done.returncode == 0
    assert "Sources:" in done.stdout


@pytest.mark.parametrize(
    "message",
    [
        "mum rang the office sobbing, says her partner has the baby and wont give him back",
        "lad says hes been told to carry a parcel across town tonight or theyll hurt his mum",
    ],
)
def test_an_emergency_described_without_emergency_words_is_still_caught(
    knowledge: Knowledge, message: str
) -> None:
    assert knowledge.ask(message).kind == "emergency"


@pytest.mark.parametrize(
    "message",
    [
        "she self-harmed two years ago and is doing well now, can I tell her new school?",
        "do i need consent to share a historic disclosure with social care",
    ],
)
def test_past_harm_is_not_mistaken_for_an_emergency(knowledge: Knowledge, message: str) -> None:
    assert knowledge.ask(message).kind != "emergency"
