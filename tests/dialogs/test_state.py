"""The dialog state is a small JSON value: readable, round-trips, and never trusts what it reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.dialogs.state import (
    CONFIRM,
    IDLE,
    MAX_TEXT,
    OUTCOME,
    DialogState,
    ask_step,
    record_step,
    valid_step,
)

MID_DIALOG = DialogState(
    step=ask_step("consent"),
    answers=(("immediate_danger", "no"), ("legal_duty", "no"), ("person", "skip")),
    started_at="2026-11-14T09:30:00+00:00",
    last_active="2026-11-14T09:35:00+00:00",
)


def test_a_state_round_trips_through_json() -> None:
    recording = MID_DIALOG.with_(
        step=record_step("what"),
        outcome="share",
        decided_by="consent=given",
        record={"case_reference": "CP-2026-0412"},
    )

    for state in (DialogState(), MID_DIALOG, recording):
        assert DialogState.from_json(state.to_json()) == state


def test_the_saved_json_is_readable_with_string_steps_and_answer_ids() -> None:
    data = json.loads(MID_DIALOG.to_json())

    assert data["step"] == "q:consent"
    assert data["answers"] == [["immediate_danger", "no"], ["legal_duty", "no"], ["person", "skip"]]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "not json",
        "[]",
        "null",
        '{"v": 1, "step": 5, "answers": []}',
        "{}",
        '{"v": 99, "step": "idle", "answers": []}',
        '{"v": 1, "step": "q:favourite_colour", "answers": []}',
        '{"v": 1, "step": "q:consent", "answers": [["consent", "maybe"]]}',
        '{"v": 1, "step": "q:consent", "answers": [["shoe_size", "9"]]}',
        '{"v": 1, "step": "q:consent", "answers": "yes"}',
        '{"v": 1, "step": "outcome", "answers": [], "record": ["a"]}',
    ],
)
def test_anything_unreadable_becomes_a_fresh_state(raw: str | None) -> None:
    assert DialogState.from_json(raw) == DialogState()


def test_stored_texts_are_capped_in_length() -> None:
    huge = MID_DIALOG.with_(record={"reasons": "x" * (MAX_TEXT + 50)})

    assert len(DialogState.from_json(huge.to_json()).record["reasons"]) == MAX_TEXT


@pytest.mark.parametrize(
    ("step", "valid"),
    [
        (IDLE, True),
        (OUTCOME, True),
        (CONFIRM, True),
        ("esc:reference", True),
        ("esc:question", True),
        ("q:immediate_danger", True),
        ("q:person", True),
        ("rec:case_reference", True),
        ("rec:reasons", True),
        ("q:unknown", False),
        ("rec:name", False),
        ("", False),
        ("outcome:share", False),
    ],
)
def test_only_known_steps_are_valid(step: str, valid: bool) -> None:
    assert valid_step(step) is valid


def test_idle_time_is_measured_from_the_last_turn() -> None:
    state = DialogState(last_active="2026-11-14T09:00:00+00:00")

    assert state.idle_for_hours(datetime(2026, 11, 15, 9, 0, tzinfo=UTC)) == 24.0
    assert DialogState().idle_for_hours(datetime(2026, 11, 15, tzinfo=UTC)) == 0.0
