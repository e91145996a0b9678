"""Teams activities as neutral inbound turns: pure translation, tested from payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botbuilder.schema import Activity

from bot.channels.teams.channel import (
    base_conversation_id,
    conversation_key,
    event_id_of,
    inbound_for,
    is_personal,
)
from tests.channels.teams.conftest import GENERAL, PERSONAL, TENANT, payload

NOW = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
USER = "0b4f7a2e-9c1d-4e5f-8a6b-7c8d9e0f1a2b"


def activity(name: str, **changes: Any) -> Activity:
    return Activity().deserialize({**payload(name), **changes})


def test_typed_text_in_a_personal_chat_is_a_private_text_turn() -> None:
    inbound = inbound_for(activity("personal_message", text="  can I share \n"), NOW)

    assert inbound.text == "can I share"
    assert inbound.private is True
    assert inbound.forms is True
    assert inbound.channel == "teams"
    assert inbound.user == USER
    assert inbound.user_name == "Sam Practitioner"
    assert inbound.conversation == f"teams:{TENANT}:{PERSONAL}"


def test_a_card_submit_is_a_choice_of_question_and_answer() -> None:
    inbound = inbound_for(activity("personal_card_submit"), NOW)

    assert inbound.choice == ("immediate_danger", "no")
    assert inbound.text is None and inbound.form is None


def test_a_record_form_submit_carries_the_inputs_by_field_id() -> None:
    value = {"q": "record", "a": "submit", "case_reference": "CP-1", "what": "Concerns"}

    inbound = inbound_for(activity("personal_card_submit", value=value), NOW)

    assert inbound.form == {"case_reference": "CP-1", "what": "Concerns"}
    assert inbound.choice is None


def test_a_channel_mention_is_a_shared_turn_without_the_mention() -> None:
    mention = activity("channel_mention")

    inbound = inbound_for(mention, NOW)

    assert inbound.text == "is consent always needed?"
    assert inbound.private is False
    assert inbound.conversation == f"teams:{TENANT}:{GENERAL}"


@pytest.mark.parametrize(
    ("conversation_id", "base"),
    [
        (f"{GENERAL};messageid=1763632953987", GENERAL),
        (GENERAL, GENERAL),
        (PERSONAL, PERSONAL),
    ],
)
def test_a_channel_thread_belongs_to_its_channel(conversation_id: str, base: str) -> None:
    assert base_conversation_id(conversation_id) == base


def test_a_personal_chat_and_a_channel_never_share_dialog_state() -> None:
    personal = conversation_key(activity("personal_message"))
    channel = conversation_key(activity("channel_mention"))

    assert personal != channel
    assert is_personal(activity("personal_message"))
    assert not is_personal(activity("channel_mention"))


def test_the_event_id_is_unique_per_conversation_and_activity() -> None:
    assert event_id_of(activity("personal_message")) == f"teams:{PERSONAL}:1763631667123"
    assert event_id_of(activity("personal_message", id=None)) is None


@pytest.mark.parametrize("typed", ["myth", "Myths"])
def test_the_myth_command_on_its_own_asks_for_the_list_of_myths(typed: str) -> None:
    inbound = inbound_for(activity("personal_message", text=typed), NOW)

    assert inbound.choice == ("menu", "myths")


def test_a_myth_question_is_read_as_a_question() -> None:
    inbound = inbound_for(activity("personal_message", text="myth: is GDPR a barrier?"), NOW)

    assert inbound.text == "myth: is GDPR a barrier?"
