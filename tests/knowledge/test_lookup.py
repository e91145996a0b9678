"""Questions typed the way staff type them reach the right answer; danger now always wins; danger
denied or in the past does not; harm is never "I can only help with…"; a shaky match says so.

The rules are design.md's "Understanding what people type". The figures on whole evaluation sets
are in docs/benchmarks.md (benchmarks/search_eval.py); these tests hold each rule with a few
phrasings of the team's own and the issue's examples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.app import Core
from bot.knowledge.classify import LinearTextModel, Settings, prune, train
from bot.knowledge.lookup import Knowledge, intent_blocks, intent_examples
from bot.knowledge.search import SearchIndex


@pytest.fixture(scope="module")
def knowledge(core: Core) -> Knowledge:
    return core.knowledge


# ---------------------------------------------------------------------- the right answer
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
        ("what do i do if a child discloses abuse", "topic.seek-advice"),
        ("what should I write down about my decision", "topic.record-keeping"),
        ("concent always needed??", "myth.consent-always-needed"),
        ("is everything a pupil tells me confidential", "myth.all-information-confidential"),
        ("do i need proof of abuse before referring", "myth.proof-of-harm-required"),
        ("can the ico fine me for sharing", "myth.punished-for-sharing"),
        (
            "a teacher at our school has been accused of hitting a pupil",
            "topic.allegations-against-staff",
        ),
        ("who do i report fgm to as a nurse", "topic.fgm-reporting"),
    ],
)
def test_realistic_phrasings_reach_the_right_entry(
    knowledge: Knowledge, question: str, expected: str
) -> None:
    result = knowledge.ask(question)

    assert result.entry is not None and result.entry.id == expected


def test_the_answer_to_a_low_level_worry_does_not_start_with_yes(knowledge: Knowledge) -> None:
    result = knowledge.ask("do i need consent if its just a low level worry")

    assert result.entry is not None
    assert not result.entry.answer.lower().startswith("yes")


def test_alternatives_are_the_next_best_answers_best_first(knowledge: Knowledge) -> None:
    result = knowledge.ask("can i share without consent if a child is at risk")

    scores = [m.score for m in result.alternatives]
    assert result.alternatives and scores == sorted(scores, reverse=True)
    assert result.entry is not None and result.entry.id not in {m.id for m in result.alternatives}


# ---------------------------------------------------------------------- danger now
@pytest.mark.parametrize(
    "message",
    [
        "is consent needed? she says he has a knife and is outside the house now",
        "GDPR question: a pupil said she is going to kill herself tonight",
        "someone is in immediate danger",
        "the toddler has been left home alone",
        "can i share?? dad turned up drunk and is about to drive off with the kids",
        # the examples: danger now, said without the words "danger" or "emergency"
        "little boy in reception has burns on both hands, says mummy put them on the cooker "
        "this morning",
        "mum's ex is in the car park right now banging on her car window and the kids are in "
        "the back",
        "mum rang the office sobbing, says her partner has the baby and wont give him back",
        "lad says hes been told to carry a parcel across town tonight or theyll hurt his mum",
    ],
)
def test_danger_now_is_routed_to_the_emergency_guidance(knowledge: Knowledge, message: str) -> None:
    result = knowledge.ask(message)

    assert result.kind == "emergency"
    assert result.entry is not None and "999" in result.entry.answer


@pytest.mark.parametrize(
    "message",
    [
        # the example: danger denied, then a sharing question
        "hes not in danger right now hes in maths, can i tell social services without asking "
        "mum first",
        "no immediate risk but mum has been drinking again, should i tell the health visitor",
        "not an emergency - can i pass a worry about a dad to the school nurse?",
    ],
)
def test_danger_that_is_denied_gets_its_answer_not_the_emergency_route(
    knowledge: Knowledge, message: str
) -> None:
    result = knowledge.ask(message)

    assert result.kind in ("myth", "topic")
    assert not result.safety_note, "danger was denied: no safety note either"


@pytest.mark.parametrize(
    "message",
    [
        "she self-harmed two years ago and is doing well now, can I tell her new school?",
        "do i need consent to share a historic disclosure with social care",
        "a girl told me last year her uncle touched her when she was little, she's safe now and "
        "he's in prison. does her new school need to know?",
        "her ex threatened to kill her back in 2022, he moved abroad, can we give her new "
        "landlord her tenancy history",
        # a season, a match, a session: as past as a term
        "a mum grabbed her girl's arm hard and shouted in her face at a match last season. this "
        "season the girl is quieter and flinches when mum shouts from the side. should I tell "
        "someone?",
    ],
)
def test_past_harm_is_not_mistaken_for_an_emergency(knowledge: Knowledge, message: str) -> None:
    result = knowledge.ask(message)

    assert result.kind in ("myth", "topic")


def test_danger_in_a_typed_answer_to_a_question_needs_no_doubt(knowledge: Knowledge) -> None:
    beyond = knowledge.assess("no, but her stepdad is outside the gate right now with a knife")
    an_answer = knowledge.assess("yes he has bruises on his back")

    assert beyond.beyond_doubt
    assert not an_answer.beyond_doubt


@pytest.mark.parametrize("message", ["mum and the baby", "he just walked out of the meeting"])
def test_a_few_words_with_no_sign_of_danger_are_not_an_emergency(
    knowledge: Knowledge, message: str
) -> None:
    result = knowledge.ask(message)

    assert result.kind != "emergency"


@pytest.mark.parametrize(
    "message",
    [
        "dad slapped him at pick-up last tues, police came and dad was arrested. can i tell "
        "the childminder what happened?",
        "she took an overdose on saturday, she's out of hospital now and the crisis team are "
        "seeing her, can i let her college know",
    ],
)
def test_harm_that_is_over_on_a_named_day_gets_its_answer(
    knowledge: Knowledge, message: str
) -> None:
    assert knowledge.ask(message).kind in ("myth", "topic")


@pytest.mark.parametrize(
    "message",
    [
        "she says they have found a husband for her and she wants to know how to hide her "
        "passport before the family holiday, can i tell anyone",
        "dad said at pick up the girls are going abroad for a special ceremony in the "
        "holidays so they're made clean before big school, can i tell the nurse",
        "a 9yo says her aunties are taking her to sudan next month for her 'cutting party', can "
        "i tell her teacher?",
        "she rang me and said she's done, she's put the kids to bed early so they don't see. "
        "which form do i use for consent",
        "a mum my colleague works with has just texted 'he's found out where we are'. can my "
        "colleague tell the refuge?",
        "the 7yo says dad was smashing everything this morning and she won't go home in case "
        "he's still angry. can i share with early help?",
    ],
)
def test_danger_told_in_code_is_an_emergency(knowledge: Knowledge, message: str) -> None:
    assert knowledge.ask(message).kind == "emergency"


def test_feeling_safe_somewhere_is_no_denial_of_danger_later(knowledge: Knowledge) -> None:
    result = knowledge.ask(
        "she says she feels safe here at school but her stepdad said he'll hurt her when she "
        "gets home tonight. can i tell her mum's sister?"
    )

    assert result.kind == "emergency"


def test_an_arrest_is_no_denial_once_he_is_released(knowledge: Knowledge) -> None:
    result = knowledge.ask(
        "dad was arrested last night but they released him and he is on his way to the school "
        "now, he has threatened to take her"
    )

    assert result.kind == "emergency"


def test_nobody_in_danger_is_a_denial(knowledge: Knowledge) -> None:
    result = knowledge.ask(
        "no one in immediate danger, she told me at her booking appointment three weeks ago "
        "that her partner hit her. can i tell her gp?"
    )

    assert result.kind in ("myth", "topic")


def test_harm_feared_only_if_i_ask_is_a_reason_not_to_ask_not_an_emergency(
    knowledge: Knowledge,
) -> None:
    result = knowledge.ask(
        "if i speak to mum about it she'll tell him and he'll batter her. do i still need consent?"
    )

    assert result.kind in ("myth", "topic")
    assert result.safety_note


def test_the_same_threat_with_him_there_now_is_an_emergency(knowledge: Knowledge) -> None:
    result = knowledge.ask("if i speak to mum he'll batter her, and he's outside the school now")

    assert result.kind == "emergency"


def test_a_raised_fist_now_is_an_emergency(knowledge: Knowledge) -> None:
    assert knowledge.ask("dad's in the foyer with his fists up at the receptionist").kind == (
        "emergency"
    )


@pytest.mark.parametrize(
    "message",
    [
        # someone else's word that all is well is no denial
        "dad opened the door and said leave it, the baby's fine, but she's grey and floppy. "
        "do i need his ok to call the GP?",
        # going on since then, up to now
        "the 4yo says mum's been gone since yesterday teatime and he's been minding his sister",
        "mum said back in 10 and it's been 3 hrs, the little one is still with us at the club",
        # acute incidents told in a few words
        "lad face down in the canal",
        "two kids on their own, mum collapsed in the kitchen",
        # still going on: not eaten, nobody in since; a parent who means to die with the kids
        "mr k still hasn't eaten since friday and he's sent the carers away again, sugars high",
        "mum says tonight she'll take the boys and they'll all go to sleep together",
        # "we'll" reads as "well": never a sign that all is well
        "she texted 'we'll all be together soon' and says she's coming for the kids tonight",
    ],
)
def test_danger_now_beside_words_that_look_like_a_denial_or_the_past(
    knowledge: Knowledge, message: str
) -> None:
    assert knowledge.ask(message).kind == "emergency"


@pytest.mark.parametrize(
    "message",
    [
        "back in the summer a lad sent her messages saying he'd take her to a party, she didn't "
        "go and she blocked him. can i pass the screenshots to the police without her ok?",
        "her ex held a knife to her years ago now, he's been in prison since 2021. can i keep "
        "it to myself like she asked?",
        "last month an old man on my round answered the door bleeding and said his carer pushed "
        "him. i rang 999 then, she's been taken off his care and he's ok now. can i talk to "
        "the council about it?",
    ],
)
def test_harm_the_story_says_has_ended_gets_its_answer(knowledge: Knowledge, message: str) -> None:
    assert knowledge.ask(message).kind in ("myth", "topic")


def test_a_worry_over_a_long_time_is_not_danger_now(knowledge: Knowledge) -> None:
    message = (
        "swimming coach. one mum shouts at her 10yo from the viewing gallery every session, "
        "calls her lazy, been going on since september. is it worth passing on?"
    )

    assert knowledge.ask(message).kind in ("myth", "topic")


def test_a_young_child_left_alone_by_a_parent_who_went_out_is_an_emergency(
    knowledge: Knowledge,
) -> None:
    message = "meter reader here, 3yo alone in the house, says mummy went out last night"

    assert knowledge.ask(message).kind == "emergency"


@pytest.mark.parametrize(
    "message",
    [
        # a concern seen today, with an ordinary ending: its answer, not the emergency route
        "cricket coach. noticed a bruise on a 9yo's leg at nets this evening, he said he fell off "
        "his scooter and went home with his grandad as usual. do I log it or tell someone?",
        "school receptionist. a dad seemed drunk at drop off this morning, mum collected the "
        "little one fine at 3. can I mention it to the class teacher?",
        # an ordinary state seen, and a professional's plan for next week, are not danger now
        "childrens centre worker. toddler came in today in a dirty nappy and no socks, seems "
        "fine in herself, no marks. the HV is visiting next week. can I share what I saw with her?",
        "playworker. a 7yo at our club keeps saying she's hungry and her shoes are falling apart, "
        "the family SW will see them on monday. can I tell the SW what we've noticed?",
        # a month away leaves time for advice ("taking her abroad next month" would not)
        "housing officer. a tenant's new partner moves in with her and her two kids next "
        "month, she thinks he was violent to an ex. can I tell anyone?",
        # "wks ago" is as past as "weeks ago"
        "teacher. a yr8 told me a lad from another school pushed her over 3 wks ago, nothing "
        "since. can I pass this on to her form tutor?",
    ],
)
def test_a_concern_seen_today_with_an_ordinary_ending_gets_its_answer(
    knowledge: Knowledge, message: str
) -> None:
    assert knowledge.ask(message).kind in ("myth", "topic")


# ---------------------------------------------------------------------- none, and never for harm
@pytest.mark.parametrize(
    "question",
    [
        "how do I share my screen in teams",
        "consent form for the school trip photo",
        "what's for lunch in the canteen",
        "can you recommend a good film",
        "how do i book a meeting room",
        "whos on call for IT tonight",
        "",
    ],
)
def test_questions_outside_safeguarding_sharing_get_none(
    knowledge: Knowledge, question: str
) -> None:
    result = knowledge.ask(question)

    assert result.kind == "none"
    assert result.entry is None


@pytest.mark.parametrize(
    "message",
    [
        "my neighbour's kid has bruises again",
        "dad smacked him yesterday, he said",
        "she mentioned her uncle touches her",
        # "mummy" and "daddy" are parents too
        "minibus escort. a 7yo keeps saying mummy locks her in the cupboard, who should know?",
    ],
)
def test_a_message_that_describes_harm_is_never_answered_none(
    knowledge: Knowledge, message: str
) -> None:
    assert knowledge.ask(message).kind != "none"


def test_a_case_story_that_asks_whether_to_share_is_flagged_for_the_decision(
    knowledge: Knowledge,
) -> None:
    story = (
        "a y6 girl told me last week that her mum's boyfriend shouts and throws things when he's "
        "drunk, she's fine in school, can i tell her social worker without asking mum"
    )

    result = knowledge.ask(story)

    assert result.kind in ("myth", "topic") and result.case_story


def test_a_vague_question_is_not_answered_confidently(knowledge: Knowledge) -> None:
    result = knowledge.ask("who else should know about it?")

    assert result.entry is not None and not result.confident
    assert result.alternatives


# ---------------------------------------------------------------------- the classifier itself
def test_the_numpy_classifier_gives_sklearns_own_probabilities(knowledge: Knowledge) -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = intent_examples(knowledge.kb)
    blocks = intent_blocks(knowledge.features)
    ours = train(texts, labels, blocks)
    vectorizers = [TfidfVectorizer(analyzer=b.analyzer, sublinear_tf=True) for b in blocks]
    x = hstack(
        [v.fit_transform(texts) * b.weight for v, b in zip(vectorizers, blocks, strict=True)]
    )
    theirs = LogisticRegression(C=10.0, max_iter=2000, solver="newton-cg", tol=Settings().tol).fit(
        x.tocsr(), labels
    )
    question = "can i tell the school nurse without asking mum"

    mine = ours.probabilities(question)
    query = hstack(
        [v.transform([question]) * b.weight for v, b in zip(vectorizers, blocks, strict=True)]
    )
    sk = dict(zip(theirs.classes_, theirs.predict_proba(query.tocsr())[0], strict=True))
    assert np.allclose(
        [mine[c] for c in theirs.classes_], [sk[c] for c in theirs.classes_], atol=1e-6
    )


def test_a_saved_model_loads_to_the_same_probabilities(knowledge: Knowledge, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert knowledge.intents is not None
    path = tmp_path / "intents.npz"
    knowledge.intents.save(path)

    loaded = LinearTextModel.load(path, knowledge.intents.blocks)

    question = "is gdpr a barrier to sharing?"
    a, b = knowledge.intents.probabilities(question), loaded.probabilities(question)
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-9 for k in a)


# ---------------------------------------------------------------------- the command line
def _ask(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
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
    assert all({"id", "title", "score"} <= set(a) for a in out["alternatives"])


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


# ---------------------------------------------------------------------- saved search index
QUESTIONS = ["can i share without consent", "do i need an ISA", "gdpr stops me sharing"]


def test_a_saved_search_index_is_read_back_and_ranks_the_same(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    examples = knowledge.emergency.examples
    built = SearchIndex.from_knowledge(knowledge.kb, examples, tmp_path)
    assert len(list(tmp_path.glob("index-*.npz"))) == 1
    again = SearchIndex.from_knowledge(knowledge.kb, examples, tmp_path)
    assert [again.rank(q) for q in QUESTIONS] == [built.rank(q) for q in QUESTIONS]
    assert again.speller.vocabulary == built.speller.vocabulary


def test_a_damaged_saved_index_is_built_again(knowledge: Knowledge, tmp_path: Path) -> None:
    examples = knowledge.emergency.examples
    SearchIndex.from_knowledge(knowledge.kb, examples, tmp_path)
    next(tmp_path.glob("index-*.npz")).write_bytes(b"not an index")
    index = SearchIndex.from_knowledge(knowledge.kb, examples, tmp_path)
    fresh = SearchIndex.from_knowledge(knowledge.kb, examples)
    assert [index.rank(q) for q in QUESTIONS] == [fresh.rank(q) for q in QUESTIONS]


def test_only_the_newest_saved_files_of_a_kind_are_kept(tmp_path: Path) -> None:
    for i in range(6):
        old = tmp_path / f"index-{i}.npz"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "intents-a.npz").write_bytes(b"another kind")
    new = tmp_path / "index-new.npz"
    new.write_bytes(b"y")
    prune(tmp_path, "index-", keep=new)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == [
        "index-4.npz",
        "index-5.npz",
        "index-new.npz",
        "intents-a.npz",
    ]
