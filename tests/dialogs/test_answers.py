"""Free-text answers, the way people type them, read with the real words from answers.yaml."""

from __future__ import annotations

import pytest

from bot.core.conversation import Conversation
from bot.dialogs.answers import AnswerParser, Parsed, PhraseMatcher
from bot.dialogs.flow import ALL_QUESTIONS


@pytest.fixture(scope="module")
def parser(conversation: Conversation) -> AnswerParser:
    return conversation.parser


def understood(parser: AnswerParser, question_id: str, text: str) -> str | None:
    spec = ALL_QUESTIONS[question_id]
    allowed = [*spec.answers, *(("skip",) if spec.optional else ())]
    return parser.answer(question_id, text, allowed).answer


@pytest.mark.parametrize(
    ("question_id", "typed", "answer"),
    [
        ("legal_duty", "yep", "yes"),
        ("legal_duty", "Yes!", "yes"),
        ("legal_duty", "yeah definitely", "yes"),
        ("legal_duty", "no way", "no"),
        ("legal_duty", "nope", "no"),
        ("legal_duty", "not that I know of", "no"),
        ("legitimate_purpose", "not sure", "unsure"),
        ("legitimate_purpose", "dunno", "unsure"),
        ("legitimate_purpose", "I don't know", "unsure"),
        ("legitimate_purpose", "Yes, definitely", "yes"),
        ("confidential", "I'm not sure", "unsure"),
        ("confidential", "unsure", "unsure"),
        ("risk_of_harm", "I think so", "yes"),
        ("public_interest", "no idea", "unsure"),
        ("seeking_consent_safe", "not safe", "no"),
        ("seeking_consent_safe", "it's safe to ask", "yes"),
        ("identifiable", "nah", "no"),
        ("identifiable", "ＹＥＳ", "yes"),
        ("identifiable", "Yés", "yes"),
        ("consent", "she said no", "refused"),
        ("consent", "mum agreed", "given"),
        ("consent", "haven't asked yet", "not_asked"),
        ("consent", "haven’t asked yet", "not_asked"),
        ("consent", "yep", "given"),
        ("consent", "they refused", "refused"),
        ("consent", "dad said yes", "given"),
        ("consent", "not yet", "not_asked"),
        ("consent", "No, I haven't asked", "not_asked"),
        ("consent", "not_asked", "not_asked"),
        ("consent", "Not asked", "not_asked"),
        ("person", "she's 14", "child_12_15"),
        ("person", "a toddler", "child_under_12"),
        ("person", "adult", "adult"),
        ("person", "rather not say", "skip"),
    ],
)
def test_free_text_answers_are_understood(
    parser: AnswerParser, question_id: str, typed: str, answer: str
) -> None:
    assert understood(parser, question_id, typed) == answer


@pytest.mark.parametrize(
    ("question_id", "typed"),
    [
        ("legal_duty", "yes and no"),
        ("legal_duty", "banana"),
        ("legal_duty", ""),
        ("legal_duty", "   "),
        ("consent", "no"),
        ("consent", "no way"),
        ("consent", "hmm"),
        ("identifiable", "🙂"),
    ],
)
def test_text_that_cannot_be_placed_is_not_guessed(
    parser: AnswerParser, question_id: str, typed: str
) -> None:
    assert understood(parser, question_id, typed) is None


@pytest.mark.parametrize(
    "typed", ["not sure", "I'm not sure", "not too sure", "no idea", "I don't know", "dunno"]
)
@pytest.mark.parametrize("question_id", ["immediate_danger", "legal_duty", "identifiable"])
def test_not_sure_at_a_yes_or_no_question_is_never_read_as_yes_or_no(
    parser: AnswerParser, question_id: str, typed: str
) -> None:
    assert understood(parser, question_id, typed) is None
    assert parser.common(typed).answer == "unsure"


def test_two_different_answers_in_one_message_are_ambiguous(parser: AnswerParser) -> None:
    assert parser.answer("legal_duty", "yes no", ["yes", "no"]) == Parsed(None, ambiguous=True)


def test_the_same_answer_twice_is_still_that_answer(parser: AnswerParser) -> None:
    assert parser.answer("legal_duty", "yes yes", ["yes", "no"]).answer == "yes"


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("back", "back"),
        ("go back", "back"),
        ("Start again", "restart"),
        ("help", "help"),
        ("why?", "why"),
        ("Why am I being asked this?", "why"),
        ("stop", "stop"),
        ("Stop!", "stop"),
        ("can I share?", "start"),
        ("I have a concern", "start"),
        ("ask my DSL", "escalate"),
        ("record it", "record"),
    ],
)
def test_commands_are_recognised_as_whole_messages(
    parser: AnswerParser, typed: str, command: str
) -> None:
    assert parser.command(typed) == command


@pytest.mark.parametrize(
    "typed", ["I want to go back to the school", "she asked for help with homework", "stop it"]
)
def test_commands_never_fire_mid_sentence(parser: AnswerParser, typed: str) -> None:
    assert parser.command(typed) is None


def test_longer_phrases_win_over_the_words_inside_them() -> None:
    matcher = PhraseMatcher({"yes": ["sure"], "unsure": ["not sure"]})

    assert matcher.parse("not sure").answer == "unsure"
    assert matcher.parse("sure").answer == "yes"


def test_a_phrase_for_an_answer_the_question_does_not_take_blocks_a_guess() -> None:
    matcher = PhraseMatcher({"yes": ["sure"], "unsure": ["not sure"]})

    assert matcher.parse("not sure", allowed=["yes", "no"]).answer is None
    assert matcher.parse("sure", allowed=["yes", "no"]).answer == "yes"
