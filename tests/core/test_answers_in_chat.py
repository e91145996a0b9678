"""Questions answered from the knowledge base: short answers with "More", how an answer is
presented (safety note, "Did you mean…", the offer to work through a decision), and the Asked
effect the leads' report counts — in a DM, mid-dialog and in a shared channel."""

from __future__ import annotations

from bot.core.conversation import Conversation
from bot.core.effects import Asked
from bot.core.replies import Inbound, ReplyKind
from bot.knowledge.search import Lookup, Match
from tests.transcript import Chat

GDPR = "Is GDPR a barrier to sharing information with the police?"


def asked(said_effects: list[object]) -> list[Asked]:
    return [e for e in said_effects if isinstance(e, Asked)]


def lookup(conversation: Conversation, entry_id: str, **flags: bool) -> Lookup:
    """A lookup result as the knowledge base gives it, with the presentation flags set."""
    entry = conversation.knowledge.kb.entries[entry_id]
    alternatives = (Match("topic.lawful-basis", 0.6), Match("myth.consent-always-needed", 0.5))
    return Lookup(entry.kind, entry, 0.7, alternatives, **flags)


# ---------------------------------------------------------------- short answers and "More"


def test_an_answer_is_the_one_line_answer_with_the_explanation_behind_more(
    chat: Chat, conversation: Conversation
) -> None:
    said = chat.send(GDPR)

    reply = said.replies[0]
    entry = conversation.knowledge.kb.entries["myth.gdpr-barrier"]
    assert reply.text == entry.answer
    assert reply.more == entry.explanation
    assert reply.sources == entry.sources


def test_a_click_on_more_gives_the_full_explanation_as_its_own_reply(
    chat: Chat, conversation: Conversation
) -> None:
    said = chat.click("more", "myth.gdpr-barrier")

    [reply] = said.replies
    assert reply.text == conversation.knowledge.kb.entries["myth.gdpr-barrier"].explanation
    assert reply.sources


def test_a_click_on_more_mid_dialog_answers_then_resumes(chat: Chat) -> None:
    chat.start()

    said = chat.click("more", "myth.gdpr-barrier")

    assert said.replies[0].entry_id == "myth.gdpr-barrier"
    assert said.question == "immediate_danger"


def test_a_click_on_more_for_an_unknown_entry_is_asked_again(chat: Chat) -> None:
    said = chat.click("more", "myth.nothing-like-this")

    assert said.replies[0].text.startswith("Sorry")


# ---------------------------------------------------------------- how answers are presented


def test_a_message_that_might_describe_danger_gets_a_safety_note_first(
    conversation: Conversation,
) -> None:
    found = lookup(conversation, "myth.gdpr-barrier", safety_note=True)

    replies = conversation.say.answer(found, in_dialog=False)

    assert "call 999" in replies[0].text
    assert replies[1].entry_id == "myth.gdpr-barrier"


def test_a_lookup_that_is_not_confident_offers_choices_never_an_answer(
    conversation: Conversation,
) -> None:
    found = lookup(conversation, "myth.gdpr-barrier", confident=False)

    [reply] = conversation.say.answer(found, in_dialog=False)

    assert "not sure I've understood" in reply.text
    assert [(c.q, c.a) for c in reply.choices] == [
        ("entry", "myth.gdpr-barrier"),
        ("entry", "topic.lawful-basis"),
        ("entry", "myth.consent-always-needed"),
    ]
    assert not reply.entry_id


def test_a_case_story_gets_the_short_answer_and_an_offer_to_decide(
    conversation: Conversation,
) -> None:
    found = lookup(conversation, "topic.when-not-to-seek-consent", case_story=True)

    answer, offer = conversation.say.answer(found, in_dialog=False)

    assert answer.entry_id == "topic.when-not-to-seek-consent"
    assert ("menu", "start") not in {(c.q, c.a) for c in answer.choices}
    assert "work through the decision" in offer.text
    assert [(c.q, c.a) for c in offer.choices] == [("menu", "start")]


def test_a_case_story_mid_dialog_does_not_offer_a_second_decision(
    conversation: Conversation,
) -> None:
    found = lookup(conversation, "topic.when-not-to-seek-consent", case_story=True)

    replies = conversation.say.answer(found, in_dialog=True)

    assert len(replies) == 1


def test_nothing_found_says_so_and_offers_the_alternatives(conversation: Conversation) -> None:
    found = Lookup("none", None, 0.2, (Match("topic.lawful-basis", 0.2),))

    replies = conversation.say.answer(found, in_dialog=False)

    assert replies[0].title.startswith("I can only help with")
    assert ("entry", "topic.lawful-basis") in {(c.q, c.a) for r in replies for c in r.choices}
    assert replies[-1].kind == ReplyKind.MENU


def test_a_weak_match_mid_dialog_is_offered_as_a_choice_not_answered(
    chat: Chat, conversation: Conversation
) -> None:
    text = "who else should know about it?"
    found = conversation.knowledge.ask(text)
    assert found.entry is not None and not found.confident, "a weak match is needed here"
    chat.start()

    said = chat.send(text)

    assert ("entry", found.entry.id) in {(c.q, c.a) for c in said.choices}
    assert not said.of_kind(ReplyKind.ANSWER)
    assert said.question == "immediate_danger"


# ---------------------------------------------------------------- the Asked effect


def test_a_question_in_a_dm_is_counted_by_the_entry_that_answered_it(chat: Chat) -> None:
    said = chat.send(GDPR)

    assert asked(said.effects) == [Asked("myth.gdpr-barrier")]


def test_a_question_mid_dialog_is_counted_too(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    said = chat.send("is consent always needed?")

    assert asked(said.effects) == [Asked("myth.consent-always-needed")]


def test_a_question_in_a_shared_channel_is_counted_too(conversation: Conversation) -> None:
    chat = Chat(conversation)

    turn = conversation.step(
        chat.state, Inbound("slack:C1", "U1", "slack", chat.now, text=GDPR, private=False)
    )

    assert asked(turn.effects) == [Asked("myth.gdpr-barrier")]
    assert turn.replies[0].entry_id == "myth.gdpr-barrier"


def test_danger_typed_as_a_question_is_counted_as_emergency(chat: Chat) -> None:
    said = chat.send("he has a knife")

    assert asked(said.effects) == [Asked("emergency")]


def test_an_unanswered_question_is_counted_with_its_words(chat: Chat) -> None:
    said = chat.send("what time does the canteen open")

    assert asked(said.effects) == [Asked("none", "what time does the canteen open")]


def test_an_answered_question_carries_no_words(chat: Chat) -> None:
    # the words of unanswered questions go to the store, which keeps them only when the
    # deployment opts in, and then scrubbed (tests/report/test_counting_questions.py)
    said = chat.send("is gdpr a barrier to sharing?")

    [effect] = asked(said.effects)
    assert effect.answer_id == "myth.gdpr-barrier"
    assert effect.text == ""


def test_answers_to_the_decision_questions_are_not_counted(chat: Chat) -> None:
    chat.start()

    said = chat.send("no")

    assert asked(said.effects) == []


def test_a_click_in_a_shared_channel_on_more_answers_there(conversation: Conversation) -> None:
    chat = Chat(conversation)
    inbound = Inbound(
        "slack:C1", "U1", "slack", chat.now, choice=("more", "myth.gdpr-barrier"), private=False
    )

    turn = conversation.step(chat.state, inbound)

    entry = conversation.knowledge.kb.entries["myth.gdpr-barrier"]
    assert turn.replies[0].text == entry.explanation
    assert "shared channel" in turn.replies[-1].text
