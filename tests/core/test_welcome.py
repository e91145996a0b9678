"""What a person sees on opening the chat: the welcome, or — after a restart, with a dialog
found in the store — an offer to carry on or start again (issue 11)."""

from __future__ import annotations

from datetime import timedelta

from bot.core.conversation import Conversation
from bot.core.replies import ReplyKind
from bot.dialogs.state import DialogState
from tests.transcript import START, Chat

FACTS = {"immediate_danger": "no", "legal_duty": "no", "legitimate_purpose": "unsure"}


def offered(replies: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(c.q, c.a) for r in replies for c in r.choices}


def test_a_new_conversation_is_welcomed_with_the_menu(conversation: Conversation) -> None:
    replies = conversation.welcome(DialogState(), START)

    assert replies[0].title.startswith("Can I share?")
    assert replies[-1].kind == ReplyKind.MENU


def test_a_decision_in_progress_is_offered_to_carry_on_or_start_again(
    chat: Chat, conversation: Conversation
) -> None:
    chat.reach("legitimate_purpose", FACTS)

    [reply] = conversation.welcome(chat.state, chat.now)

    assert "decision in progress" in reply.text
    assert offered([reply]) == {("dialog", "resume"), ("dialog", "restart")}


def test_carry_on_shows_the_question_that_was_waiting(
    chat: Chat, conversation: Conversation
) -> None:
    chat.reach("legitimate_purpose", FACTS)
    conversation.welcome(chat.state, chat.now)

    said = chat.click("dialog", "resume")

    assert said.question == "legitimate_purpose"
    assert len(chat.state.answers) == 2


def test_start_again_from_the_welcome_clears_the_answers(
    chat: Chat, conversation: Conversation
) -> None:
    chat.reach("legitimate_purpose", FACTS)

    said = chat.click("dialog", "restart")

    assert said.question == "immediate_danger"
    assert chat.state.answers == ()


def test_a_record_being_written_is_offered_to_carry_on(
    chat: Chat, conversation: Conversation
) -> None:
    chat.decide(FACTS)
    chat.click("record", "start")

    [reply] = conversation.welcome(chat.state, chat.now)

    assert "writing up the record" in reply.text


def test_a_request_being_written_is_offered_to_carry_on(
    chat: Chat, conversation: Conversation
) -> None:
    chat.decide(FACTS)
    chat.click("escalate", "start")

    [reply] = conversation.welcome(chat.state, chat.now)

    assert "request to your safeguarding lead" in reply.text


def test_a_finished_decision_is_named_in_the_welcome(
    chat: Chat, conversation: Conversation
) -> None:
    chat.decide(FACTS)

    [reply] = conversation.welcome(chat.state, chat.now)

    assert conversation.words.outcome("seek_advice")["title"] in reply.text


def test_a_dialog_left_too_long_is_not_offered(chat: Chat, conversation: Conversation) -> None:
    chat.reach("legitimate_purpose", FACTS)

    replies = conversation.welcome(chat.state, chat.now + timedelta(hours=25))

    assert replies[-1].kind == ReplyKind.MENU
    assert ("dialog", "resume") not in offered(replies)


def test_a_greeting_gets_the_menu_not_an_apology(chat: Chat) -> None:
    said = chat.send("hi")

    assert said.replies[-1].kind == ReplyKind.MENU
    assert "can't help" not in said.text
