"""The bot in a team: general answers when @mentioned, never a case; welcome on install."""

from __future__ import annotations

import json

from tests.channels.teams.conftest import GENERAL, LEADS, PERSONAL_KEY, RECORD, Teams


async def test_a_mention_in_a_channel_gets_a_short_answer_and_an_offer_to_go_private(
    teams: Teams,
) -> None:
    replies = await teams.send(teams.mention("is consent always needed?"))

    assert len(replies) == 1
    reply = replies[0]
    assert reply.conversation_id.startswith(GENERAL + ";messageid=")
    assert "consent" in reply.text.lower()
    assert teams.bot.conversation.words.text("offer_dm") in reply.text
    assert reply.choices == [{"q": "menu", "a": "start"}]  # no app id: no chat link to offer


async def test_a_channel_mention_never_touches_the_personal_dialog(teams: Teams) -> None:
    await teams.click("menu", "start")
    before = await teams.bot.store.load_state(PERSONAL_KEY)

    await teams.send(teams.mention("can I share"))
    await teams.send(teams.mention("yes"))

    assert await teams.bot.store.load_state(PERSONAL_KEY) == before


async def test_no_case_is_discussed_in_a_channel_even_when_asked_to_start(teams: Teams) -> None:
    replies = await teams.send(teams.mention("can I share"))

    text = replies[0].text
    assert teams.bot.conversation.words.text("no_case_here") in text
    assert not any(c["q"] == "immediate_danger" for c in replies[0].choices)


async def test_the_mention_is_stripped_before_the_question_is_read(teams: Teams) -> None:
    replies = await teams.send(teams.mention("is GDPR a barrier to sharing?"))

    assert "GDPR" in replies[0].text


async def test_adding_the_bot_to_a_team_welcomes_and_remembers_the_secure_channels(
    teams: Teams,
) -> None:
    replies = await teams.send(teams.team_install())

    posts = teams.connector.to(GENERAL)
    assert replies == []  # a new message, not a reply to the membership event
    assert len([p for p in posts if p.kind == "send"]) == 1
    assert teams.bot.conversation.words.message("welcome")["title"] in posts[-1].text
    for channel in (RECORD, LEADS):
        raw = await teams.bot.store.kv_get(f"teams:ref:{channel}")
        assert raw is not None
        reference = json.loads(raw)
        assert reference["conversation"]["id"] == channel
        assert reference["serviceUrl"] == teams.connector.url
        assert reference.get("activityId") is None
    assert await teams.bot.store.kv_get(f"teams:ref:{GENERAL}") is None  # not needed: not kept


async def test_a_mention_in_the_record_channel_keeps_its_reference(teams: Teams) -> None:
    await teams.send(teams.mention("what are the golden rules?", channel=RECORD))

    raw = await teams.bot.store.kv_get(f"teams:ref:{RECORD}")

    assert raw is not None and json.loads(raw)["conversation"]["id"] == RECORD


async def test_a_mention_in_any_other_channel_keeps_nothing_about_it(teams: Teams) -> None:
    await teams.send(teams.mention("what are the golden rules?", channel=GENERAL))

    assert await teams.bot.store.kv_get(f"teams:ref:{GENERAL}") is None


async def test_a_mention_too_long_to_read_is_refused_as_in_a_personal_chat(teams: Teams) -> None:
    question = "is consent always needed when a teacher is worried about a child? "
    long_mention = teams.mention((question * 420)[:27_000])
    in_personal_chat = await teams.say(question * 70)

    [reply] = await teams.send(long_mention)

    refusal = teams.bot.conversation.words.text("too_long", max=4000)
    assert refusal in reply.text and refusal in in_personal_chat.text
    assert "consent" not in reply.text.lower()  # not read, so not answered
