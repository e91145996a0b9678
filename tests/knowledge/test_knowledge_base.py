"""The knowledge base loads, holds every required id, and refuses broken files clearly."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bot.knowledge.base import KNOWLEDGE_DIR, KnowledgeError, check_knowledge, load_knowledge

DESIGN = Path(__file__).resolve().parents[3] / "shared" / "design.md"
REQUIRED_MYTHS = [
    "myth.gdpr-barrier",
    "myth.consent-always-needed",
    "myth.no-sharing-between-agencies",
    "myth.confidentiality-prevents-sharing",
    "myth.it-systems-barrier",
    "myth.agreement-required",
    "myth.punished-for-sharing",
    "myth.all-information-confidential",
    "myth.proof-of-harm-required",
    "myth.someone-else-will-share",
    "myth.no-need-to-tell-family",
    "myth.gut-instinct",
    "myth.early-help-consent",
]
REQUIRED_TOPICS = [
    "topic.golden-rules",
    "topic.lawful-basis",
    "topic.special-category-data",
    "topic.public-interest",
    "topic.consent-child",
    "topic.consent-adult-capacity",
    "topic.when-not-to-seek-consent",
    "topic.seek-advice",
    "topic.record-keeping",
    "topic.share-appropriately",
    "topic.statutory-duty",
    "topic.confidential-information",
    "topic.anonymised-information",
    "topic.protect-identities",
    "topic.low-level-concerns",
    "topic.informing-the-person",
]


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A writable copy of the knowledge directory to break on purpose."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_every_id_the_design_names_exists(kb) -> None:  # type: ignore[no-untyped-def]
    for entry_id in REQUIRED_MYTHS + REQUIRED_TOPICS:
        assert entry_id in kb.entries, entry_id


def test_design_and_this_test_list_the_same_ids() -> None:
    if not DESIGN.exists():
        pytest.skip("shared/design.md is not beside the project")
    named = set(re.findall(r"`((?:myth|topic)\.[a-z-]+)`", DESIGN.read_text(encoding="utf-8")))
    assert named == set(REQUIRED_MYTHS + REQUIRED_TOPICS)


def test_every_entry_is_complete_and_reviewable(kb) -> None:  # type: ignore[no-untyped-def]
    for entry in kb.entries.values():
        assert entry.answer and entry.explanation and entry.sources, entry.id
        assert entry.last_reviewed <= date.today(), entry.id
        if entry.kind == "emergency":
            continue
        assert len(entry.phrasings) >= 6, entry.id
        assert entry.related, entry.id
        assert all(rel in kb.entries for rel in entry.related), entry.id


def test_myths_say_they_are_false_and_topics_carry_no_verdict(kb) -> None:  # type: ignore[no-untyped-def]
    for entry in kb.entries.values():
        if entry.kind == "myth":
            assert entry.verdict is False, entry.id
        else:
            assert entry.verdict is None, entry.id


def test_lawful_bases_list_public_task_first_and_consent_last(kb) -> None:  # type: ignore[no-untyped-def]
    points = " ".join(kb.entries["topic.lawful-basis"].points).lower()
    assert points.index("public task") < points.index("consent")
    assert points.rindex("consent") > points.index("legal obligation")


def test_golden_rules_are_seven(kb) -> None:  # type: ignore[no-untyped-def]
    assert len(kb.entries["topic.golden-rules"].points) == 7


def test_organisation_contacts_are_fictional_by_default(kb) -> None:  # type: ignore[no-untyped-def]
    assert "example" in kb.organisation.lower()
    assert "01632 960" in kb.contacts["childrens_front_door"].detail


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_a_missing_field_is_named_with_file_and_entry(broken_copy: Path) -> None:
    path = broken_copy / "entries" / "myths" / "gdpr-barrier.yaml"
    _edit(path, lambda d: d.pop("answer"))

    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(broken_copy)

    message = str(caught.value)
    assert "gdpr-barrier.yaml" in message
    assert "myth.gdpr-barrier" in message
    assert "missing field 'answer'" in message


def test_a_duplicate_id_is_refused(broken_copy: Path) -> None:
    src = broken_copy / "entries" / "myths" / "gdpr-barrier.yaml"
    shutil.copy(src, broken_copy / "entries" / "myths" / "gdpr-barrier-copy.yaml")

    problems = check_knowledge(broken_copy)

    assert any("duplicate id" in str(p) and "myth.gdpr-barrier" in str(p) for p in problems)


def test_a_dangling_related_id_is_refused(broken_copy: Path) -> None:
    path = broken_copy / "entries" / "topics" / "seek-advice.yaml"
    _edit(path, lambda d: d["related"].append("topic.does-not-exist"))

    problems = check_knowledge(broken_copy)

    assert any("related id 'topic.does-not-exist' does not exist" in str(p) for p in problems)


@pytest.mark.parametrize("bad", ["21/11/2026", "not a date", str(date.today() + timedelta(days=3))])
def test_a_bad_review_date_is_refused(broken_copy: Path, bad: str) -> None:
    path = broken_copy / "entries" / "topics" / "seek-advice.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"last_reviewed: .*", f"last_reviewed: '{bad}'", text), encoding="utf-8")

    problems = check_knowledge(broken_copy)

    assert any("topic.seek-advice" in str(p) and "last_reviewed" in str(p) for p in problems)


def test_broken_yaml_names_the_file_and_line(broken_copy: Path) -> None:
    path = broken_copy / "entries" / "myths" / "gut-instinct.yaml"
    path.write_text("id: myth.gut-instinct\ntitle: [unclosed\n", encoding="utf-8")

    problems = check_knowledge(broken_copy)

    assert any("gut-instinct.yaml" in str(p) and "not valid YAML" in str(p) for p in problems)


def test_missing_dialog_words_stop_start_up(broken_copy: Path) -> None:
    path = broken_copy / "dialog" / "questions.yaml"
    _edit(path, lambda d: d["questions"]["consent"].pop("why"))

    problems = check_knowledge(broken_copy)

    assert any("questions.consent.why" in str(p) for p in problems)


def test_stale_entries_are_found(kb) -> None:  # type: ignore[no-untyped-def]
    later = date.today() + timedelta(days=400)
    assert len(kb.stale(later)) == len(kb.entries)
    assert kb.stale(date.today()) == []
