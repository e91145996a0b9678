"""The dialog words are checked at start-up: a missing "because" line, an undated dialog file
or a basis a public authority cannot use stops the bot with a message naming the file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.base import KNOWLEDGE_DIR, KnowledgeError, check_knowledge, load_knowledge

DIALOG = "dialog"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def edit(folder: Path, stem: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / DIALOG / f"{stem}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def problems(folder: Path) -> list[str]:
    return [str(p) for p in check_knowledge(folder)]


def test_the_dialog_words_as_shipped_have_no_problems() -> None:
    assert check_knowledge() == []


def test_every_dialog_file_carries_a_review_date() -> None:
    kb = load_knowledge()

    assert {Path(f).stem for f in kb.files_reviewed} == {
        p.stem for p in (KNOWLEDGE_DIR / DIALOG).glob("*.yaml")
    }


def test_a_missing_because_line_for_an_answer_that_decides_stops_start_up(copy: Path) -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["outcomes"]["share_without_consent"]["because"]["person=young_person_16_17"]

    edit(copy, "outcomes", drop)

    assert any(
        "outcomes.share_without_consent.because.person=young_person_16_17: missing" in p
        for p in problems(copy)
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [(None, "missing field 'last_reviewed'"), ("2999-01-01", "is in the future")],
)
def test_a_dialog_file_without_a_good_review_date_stops_start_up(
    copy: Path, value: str | None, problem: str
) -> None:
    def date(data: dict[str, Any]) -> None:
        if value is None:
            del data["last_reviewed"]
        else:
            data["last_reviewed"] = value

    edit(copy, "record", date)

    assert any("record.yaml" in p and problem in p for p in problems(copy))


def test_a_dialog_file_not_reviewed_for_a_year_is_reported_stale(copy: Path) -> None:
    edit(copy, "messages", lambda data: data.update(last_reviewed="2024-01-01"))

    stale = load_knowledge(copy).stale_files(date.today())

    assert [Path(f).name for f, _ in stale] == ["messages.yaml"]


def test_suggesting_legitimate_interests_to_a_public_authority_stops_start_up(copy: Path) -> None:
    def suggest(data: dict[str, Any]) -> None:
        basis = data["outcomes"]["share"]["lawful_basis"]
        basis["public_authority"] = "recognised_legitimate_interests"

    edit(copy, "outcomes", suggest)

    assert any(
        "outcomes.share.lawful_basis.public_authority: public authorities cannot use" in p
        for p in problems(copy)
    )


def test_an_also_line_must_name_a_question_and_answer(copy: Path) -> None:
    edit(copy, "outcomes", lambda d: d["outcomes"]["share"].update(also={"risk=maybe": "x"}))

    assert any(
        "outcomes.share.also.risk=maybe: is not question=answer" in p for p in problems(copy)
    )


def test_a_channel_word_that_is_missing_stops_start_up(copy: Path) -> None:
    edit(copy, "messages", lambda d: d["channels"].pop("superseded"))

    found = problems(copy)

    assert any("messages" in p and "channels.superseded" in p for p in found), found
    with pytest.raises(KnowledgeError, match=r"channels\.superseded"):
        load_knowledge(copy)


def test_a_channel_word_with_the_wrong_placeholder_stops_start_up(copy: Path) -> None:
    edit(copy, "messages", lambda d: d["channels"].update(answered="You answered: {answer}"))

    found = problems(copy)

    assert any("channels.answered" in p and "{label}" in p for p in found), found


def test_a_message_with_the_wrong_placeholder_stops_start_up(copy: Path) -> None:
    edit(copy, "messages", lambda d: d.update(verdict_myth="Myth: {name}"))

    found = problems(copy)

    assert any("verdict_myth" in p and "{title}" in p for p in found), found


def test_a_bare_no_in_the_answer_words_stops_start_up_with_a_message(copy: Path) -> None:
    # YAML reads a bare no as false: "nae" would be read as the word "false"
    path = copy / DIALOG / "answers.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('nae: "no",', "nae: no,"), encoding="utf-8")

    found = problems(copy)

    assert any("read_as.nae" in p and "quotes" in p for p in found), found
