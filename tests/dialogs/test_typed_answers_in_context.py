"""Typed answers to each question, read the way people write them — clauses, reasons, negation,
contrast, situations instead of yes/no — through the real dialog at that question. An answer that
cannot be placed is asked again, never guessed. (The phrasings are the team's own and the issue's
examples; figures on whole sets written by others are in docs/benchmarks.md.)"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from benchmarks.search_eval import dialog_answer
from bot.core.conversation import Conversation

ANSWERS = [
    # the examples
    ("immediate_danger", "nah not right now i dont think, shes in class", "no"),
    ("confidential", "she told me in confidence and asked me not to tell anyone", "yes"),
    ("consent", "dad won't agree to it", "refused"),
    # each question, written as people write
    ("immediate_danger", "no because he's already been seen by the GP and he's at home", "no"),
    ("immediate_danger", "yes, her stepdad is waiting outside the gate", "yes"),
    ("immediate_danger", "he's not in danger, he's in maths", "no"),
    ("legal_duty", "no, police asked but there's no warrant or order", "no"),
    ("legal_duty", "yes - a court order for the records", "yes"),
    ("legitimate_purpose", "it's so social care can keep her safe", "yes"),
    ("legitimate_purpose", "honestly just gossip from the other parents", "no"),
    ("identifiable", "no names but she's the only one in a wheelchair", "yes"),
    ("identifiable", "nope, just numbers for the whole year group", "no"),
    ("confidential", "definitely not secret, she announced it in assembly", "no"),
    ("confidential", "it's from her GP record", "yes"),
    ("risk_of_harm", "i wouldnt say there's no risk", "yes"),
    ("risk_of_harm", "no, it's a sports injury, the physio confirmed it", "no"),
    ("adult_wishes", "yes but there's a baby in the house", "no"),
    ("adult_wishes", "she's 24, has capacity, and it's only herself she's hurting", "yes"),
    ("person", "a 6 year old", "child_under_12"),
    ("person", "elderly man, advanced dementia, no capacity for this", "adult_lacking_capacity"),
    ("consent", "he said no at first then came round and said ok", "given"),
    ("consent", "havent had the chance to ask yet", "not_asked"),
    ("seeking_consent_safe", "asking him would tip him off", "no"),
    ("seeking_consent_safe", "no reason why not, she's the one who asked for help", "yes"),
    ("public_interest", "probably not, it's just a feeling", "no"),
    ("public_interest", "yes, there are younger kids in the house", "yes"),
    ("lawful_basis", "we're a charity so legit interests", "legitimate_interests"),
    ("lawful_basis", "6(1)(e)", "public_task"),
    ("special_category", "none, no health or anything like that", "none"),
    ("special_category", "he explicitly agreed in writing", "explicit_consent"),
    ("record_confirm", "looks good, save it", "save"),
    ("record_confirm", "all fine except the case ref", "edit"),
    ("record_field", "the reasons bit", "reasons"),
    ("record_field", "the third one", "with_whom"),
    ("record_field", "number 1", "case_reference"),
    # a plain "no" first, and nothing in the message reads as danger now
    ("immediate_danger", "no he's fine now, his nan came to collect him", "no"),
    ("immediate_danger", "no no, nobody in danger", "no"),
    # an opening hedge is not lost behind a "but"
    ("confidential", "not sure, nobody said it was private but it's about his health", "unsure"),
    # "could be" inside the story is not a hedge on the answer
    ("public_interest", "yes, her brother could be next", "yes"),
    # "no" before a phrase turns it round; a real word is never "corrected" into another
    ("legal_duty", "no statutory request and no production order", "no"),
    ("adult_wishes", "yes, has capacity, no kids at home and no coercion", "yes"),
    ("legitimate_purpose", "yes, for her welfare, she has lost loads of weight", "yes"),
    # ages as numbers, future birthdays, and present-tense ways of saying who agreed
    ("person", "she's 82", "adult"),
    ("person", "baby, 7 weeks", "child_under_12"),
    ("consent", "mum say ok you can tell", "given"),
    ("consent", "dad says dont tell nobody", "refused"),
    # a choice after "not" is not chosen; a "safeguard" condition names paragraph 18
    (
        "lawful_basis",
        "legitimate interests, we're a charity not a public body",
        "legitimate_interests",
    ),
    (
        "special_category",
        "yes, health, shared without consent to safeguard her",
        "schedule1_para18",
    ),
    ("record_field", "the purpose, after all that", "purpose"),
    # "it's not like …" turns round what follows; "actually" mid-sentence changes nothing
    ("consent", "it's not like he said no, he asked me to tell someone", "given"),
    ("legal_duty", "it's not like anyone has ordered me to", "no"),
    ("legitimate_purpose", "i think so but i'm not certain it's actually welfare", "unsure"),
    ("identifiable", "nhs no and date of birth", "yes"),
    ("record_field", "opt 4", "purpose"),
    # chat shorthand; "no" then "not …" is one answer; "rather than" is not chosen
    ("immediate_danger", "nah not rn", "no"),
    ("seeking_consent_safe", "no not safe", "no"),
    (
        "lawful_basis",
        "legit interests, a charity rather than a public body",
        "legitimate_interests",
    ),
    ("person", "i'd rather skip this one", "skip"),
    # "…, who is 40" describes; "could I …?" asks to, not what
    ("person", "one of the tenants we support, who is 40", "adult"),
    ("record_confirm", "could i change the purpose first?", "edit"),
    # Y and N opening or closing a part; an exception never changes the answer; a conclusion
    ("identifiable", "Y (photos of the bruising)", "yes"),
    ("confidential", "yes, save for the attendance figures", "yes"),
    ("legal_duty", "WT23 says work together but nothing compels us here, so N", "no"),
    ("lawful_basis", "consent isn't our basis, public task is", "public_task"),
    ("person", "adult, lacks capacity for this decision per MCA s.2/3", "adult_lacking_capacity"),
    ("public_interest", "tbc with legal", "unsure"),
    # dialect and misspellings read as words; a conclusion at the end decides
    ("immediate_danger", "dinnae think so, she's in class wi her pals", "no"),
    ("confidential", "it is confidenshal", "yes"),
    (
        "seeking_consent_safe",
        "on one hand he might find out, on the other she has her own phone. so on balance "
        "i think it would be safe",
        "yes",
    ),
    (
        "person",
        "he was 15 at easter but he's had his birthday, so he's 16 now",
        "young_person_16_17",
    ),
    ("risk_of_harm", "I would not say he is at any risk of harm, no.", "no"),
    # a letter held down, a correction with an apology, a "no" that agrees with a negative
    ("legal_duty", "nooo", "no"),
    ("immediate_danger", "no, yes sorry - he's come back to the house", "yes"),
    ("seeking_consent_safe", "it wouldn't make things worse, no - she's on board", "yes"),
    # one negation for a list; harm feared only if I ask is a reason, not an emergency
    ("legal_duty", "there's no court order or s47, they just rang up", "no"),
    ("seeking_consent_safe", "if i ring dad he'll take it out on her", "no"),
    # an article number is not a part number
    ("record_field", "the 6(1)(e) one", "lawful_basis"),
    # English as a second language; the part about now decides at the danger question
    ("consent", "the mother is not agree", "refused"),
    ("consent", "i am not asking him yet", "not_asked"),
    ("immediate_danger", "last night yes, now no - he is with police", "no"),
    ("risk_of_harm", "no - sorry, yes, i read it wrong, she is at risk", "yes"),
    ("special_category", "no special, only the address", "none"),
    # a negation left hanging before an aside; a tentative answer with a question mark
    ("legal_duty", "I don't, having read the guidance twice, think any law makes us", "no"),
    ("legitimate_purpose", "not really? he only wants it to win the custody row", "no"),
    ("record_field", "4 no 5", "lawful_basis"),
    ("public_interest", "I was going to say no, but with the other children there, yes", "yes"),
    # the young person's own consent; a part named by a word; a threshold named
    ("consent", "he's 14, Gillick competent and said go ahead, mum doesn't know yet", "given"),
    ("record_field", "number five, it should be public task", "lawful_basis"),
    ("risk_of_harm", "The LADO threshold is met.", "yes"),
    ("legal_duty", "yes - well an order might be coming but there isn't one yet", "no"),
    # a doubt reaches the answer after it over small words, not past a new statement
    ("legal_duty", "I wouldn't say there was ever any statutory duty involved, no", "no"),
    ("seeking_consent_safe", "I don't think it would be safe to ring his mum", "no"),
    ("confidential", "I dont think it matters its confidential anyway", "yes"),
    ("confidential", "doubt it's private, it was on the class whatsapp", "no"),
    ("confidential", "no doubt it's private, she only told me", "yes"),
    ("immediate_danger", "I wouldn't say that any of them, the baby too, is in danger now", "no"),
    ("risk_of_harm", "nothing to suggest abuse, it's a housing letter", "no"),
    # "well actually" changes the answer; a conclusion; a time goes with the other answer
    ("identifiable", "no - well actually yes, her initials and the village give her away", "yes"),
    ("legal_duty", "the FGM duty is for under 18s and he's 30, so not in this case", "no"),
    ("immediate_danger", "nobody is at risk right this minute, he's in custody", "no"),
    # the other of two choices; a reported yes or no; words that are no hedge
    ("record_confirm", "I don't think anything needs changing", "save"),
    ("consent", "her dad said no way", "refused"),
    ("consent", "not got round to asking her yet", "not_asked"),
    ("risk_of_harm", "nah, nothing of that kind", "no"),
    ("seeking_consent_safe", "asking her wouldn't cause any problems at all", "yes"),
    # belief words: "pretty sure" is no answer before a statement; "i guess not" is no
    ("immediate_danger", "pretty sure she's fine, she's at breakfast club till 9", "no"),
    ("immediate_danger", "i suppose not? he's on the children's ward", "no"),
    ("public_interest", "i'd have thought so given the injuries", "yes"),
    # a correction decides where it is made, not in the story after it
    ("confidential", "yes i mean no, it's already on the council's website", "no"),
    ("legal_duty", "no - well yes actually, there's a court order, it came this morning", "yes"),
    ("adult_wishes", "no, actually yes, it's only him, his grandkids live in Spain", "yes"),
    # an implied answer in the person's own words
    ("record_confirm", "not right yet, the date's wrong", "edit"),
    ("consent", "she nodded when I asked if I could tell her GP", "given"),
    ("seeking_consent_safe", "the police told us not to tip him off", "no"),
    ("adult_wishes", "he has capacity but his carer has been taking his money", "no"),
    ("record_field", "it should be public task, not legit interests", "lawful_basis"),
    # "not" turns down the nearest choice only; "not at this time" is no
    (
        "lawful_basis",
        "we're a charity, not a public body, so recognised legitimate interests",
        "recognised_legitimate_interests",
    ),
    ("risk_of_harm", "Not at this time. Nothing disclosed and no concerns raised.", "no"),
    ("legal_duty", "I don't think so, but I'd check with the DSL before saying definitely", "no"),
    # two negatives make a yes; a bare "no" in the same breath agrees with the statement
    ("seeking_consent_safe", "it wouldn't be unsafe no, she comes in on her own", "yes"),
    ("seeking_consent_safe", "can't see why it wouldn't be safe to ask him", "yes"),
    (
        "public_interest",
        "it's not as though there's no public interest, he coaches the under 9s",
        "yes",
    ),
    (
        "seeking_consent_safe",
        "it wouldn't be unsafe, but it would take too long, the hearing is at 2",
        "no",
    ),
    ("record_confirm", "could you change the purpose?", "edit"),
    # "never" inside a statement is no answer; coercion; an age about to change
    ("seeking_consent_safe", "yes should be fine, he never comes to her appointments", "yes"),
    ("adult_wishes", "she has capacity but her partner speaks for her at every visit", "no"),
    ("person", "he turns 16 next month", "child_12_15"),
    ("consent", "he wasn't asked, he's in intensive care", "not_asked"),
    # capacity said to be there, beside a condition that often takes it away
    ("person", "man in his 50s, learning disability, but he does have capacity for this", "adult"),
    (
        "person",
        "woman in her 40s with a learning disability, I doubt she has capacity",
        "adult_lacking_capacity",
    ),
    # an exception at the record check names a part to change; consent withdrawn is refused
    ("record_confirm", "everything's right apart from the date", "edit"),
    ("record_confirm", "change the purpose, other than that all good", "edit"),
    ("consent", "dad signed it last week but emailed today to withdraw it", "refused"),
    # safe for one person, not for the others: at this question that decides
    ("seeking_consent_safe", "safe for mum but not for the younger ones", "no"),
    # someone else's doubt is a doubt, not a no
    ("seeking_consent_safe", "i reckon it's ok but the DSL isn't sure", "unsure"),
    # a story, then the answer alone at the end
    (
        "identifiable",
        "no names on it but he's the only lad at the club in a wheelchair. yes",
        "yes",
    ),
    # a date of birth is an age; the age "when it happened" is not the age now
    # (thirteen and a bit today, whenever the test runs)
    ("person", f"dob {(date.today() - timedelta(days=13 * 366 + 30)):%d/%m/%Y}", "child_12_15"),
    ("person", "he's 17 now, he was 14 when it started", "young_person_16_17"),
    ("person", "turns 17 next month", "young_person_16_17"),
    ("person", "the mum, 38, has a learning disability but can make her own decisions", "adult"),
    # a perceived risk is enough at this question
    ("risk_of_harm", "perceived, yes. actual risk, no idea", "yes"),
    # a condition described in words, not named
    (
        "special_category",
        "his diagnosis is in it, we shared to protect his sister without asking",
        "schedule1_para18",
    ),
    ("lawful_basis", "we're the council so it's part of our statutory job", "public_task"),
    # "can't say there's no risk" doubts a no; refusing his carers implicates no carer
    ("risk_of_harm", "i can't say there's no risk, he drinks and shouts at the kids", "yes"),
    ("adult_wishes", "yes, lives alone, no kids, he's just refusing his carers", "yes"),
    # a risk that goes on is no danger now, when now is said to be safe
    ("immediate_danger", "long term risk yes, immediate danger no", "no"),
    # "not that I…" is a no; "no" beside "save it" only says nothing is wrong
    ("legal_duty", "not that i can think of, the police just rang for a chat", "no"),
    ("record_confirm", "nope, save it", "save"),
    ("record_confirm", "no - the date is wrong", "edit"),
    # dialect read as the word it stands for ("nae" is "no")
    ("legal_duty", "just the aunt asking where they've moved to, nae court order", "no"),
    ("seeking_consent_safe", "nae bother, he asked us for help himself", "yes"),
    # capacity said to be there in other words; someone speaking for her is no free choice
    ("person", "he's 20 with autism but he understands it and can decide for himself", "adult"),
    ("adult_wishes", "she can decide, but he's always there telling her what to say", "no"),
    # a public body's ordinary duties are its public task, not a legal obligation
    (
        "lawful_basis",
        "it's part of our statutory safeguarding function as a council",
        "public_task",
    ),
    # a change said before "save it" is weighed and let go; one said after it is asked about
    ("record_confirm", "it's not perfect but save it, I'm out of time", "save"),
    # danger said to be happening now, at the record check: the guidance is shown first
    ("record_confirm", "save, but mum's just rung, he's back and he's hitting her", "emergency"),
    # Scottish and Northern words, a Scottish school year, the record's parts by their initials
    ("person", "the wee lassie's in P3", "child_under_12"),
    ("consent", "naw, he's no wantin his dad telt", "refused"),
    ("seeking_consent_safe", "should be reet, she come to us herself", "yes"),
    ("record_field", "the CR's wrong", "case_reference"),
    ("record_field", "LB", "lawful_basis"),
    ("record_confirm", "tidy, that'll do", "save"),
    ("immediate_danger", "the bairn's been left in the hoose on his ain since last night", "yes"),
    ("consent", "mi ask him and him seh no", "refused"),
    # answers told as facts
    ("confidential", "it's all in the council's press release", "no"),
    ("identifiable", "general advice for the staff briefing, nobody in particular", "no"),
    ("risk_of_harm", "the lad's on our CCTV and there's been an armed robbery", "yes"),
    ("public_interest", "he's a registered sex offender and she's got two little ones", "yes"),
    ("record_confirm", "you've put refused but she agreed", "edit"),
    # at a choice, "well no actually" only corrects: the choice is in what follows
    (
        "special_category",
        "none - well no actually, it has his diagnosis and we're sharing "
        "without consent to protect the kids",
        "schedule1_para18",
    ),
    # a child named by age is someone else at risk; "has seen some of it" is no hedge
    ("adult_wishes", "mostly just her, but her 8yo stays there and has seen some of it", "no"),
    # a tip-off or weeks of waiting make asking unsafe, whatever is fine about it
    (
        "seeking_consent_safe",
        "fine for mum but it could tip off the men the police are watching",
        "no",
    ),
]

ASKED_AGAIN = [
    ("consent", "no"),  # refused, or not asked yet?
    ("person", "teenager"),  # 13, 16 or 19?
    ("record_confirm", "save it but the date's wrong"),  # save, or change first?
    ("legitimate_purpose", "depends who you ask lol"),  # "lol" is no answer
    ("seeking_consent_safe", "asking her mum would be fine but her dad is the risk"),
    ("identifiable", "wouldnt her initials give it away?"),  # a question back, not a "no"
    # an answer to the consent question, not to whether asking is safe
    ("seeking_consent_safe", "dad's already said no to it"),
    # one adult's answer beside another's: which of them is this about?
    ("seeking_consent_safe", "fine to ask grandad, not safe to ask his wife"),
    ("adult_wishes", "dad yes, mum no - mum has advanced dementia"),
    ("consent", "mum said yes but dad said absolutely not"),
    ("risk_of_harm", "what kind of harm do you mean?"),
    ("seeking_consent_safe", "safe for who?"),
    ("identifiable", "would a first name count"),
    ("record_field", "2 and 3"),
    ("lawful_basis", "whatever the council uses"),
    ("immediate_danger", "yes and no"),
    ("person", "year 11"),  # 15 or 16?
    ("consent", "who gives consent for a 13 year old, him or his dad?"),
    ("risk_of_harm", "risk of harm to who, the mum or the baby?"),
    ("identifiable", "do initials count?"),
    ("consent", "she said yes then changed her mind and said maybe"),
    ("risk_of_harm", "depends"),  # on what?
    ("identifiable", "just a first name... so yes? or no"),
    ("consent", "he sort of agreed but wants to sleep on it"),
    ("seeking_consent_safe", "fine to ask her but not her partner"),
    ("legitimate_purpose", "yes and no - for her welfare, but the paper wants it too"),
    ("record_confirm", "save? or should i check with my manager first"),
    # the question not understood, whatever else is said
    ("adult_wishes", "yes she's 40. what do you mean by others at risk?"),
    ("identifiable", "does a postcode count"),
    # two people, one answer each; an answer that hangs on what the question means
    ("public_interest", "yes for the school, no for the housing officer"),
    ("confidential", "yes for what the boy said, no for what his mum shouted in reception"),
    ("consent", "yes from mum, no from dad"),
    ("seeking_consent_safe", "her sister would be fine, her husband wouldnt"),
    ("legal_duty", "there's an order for the baby but not for the older two"),
    ("confidential", "depends what you mean by confidential, it's not a secret but it's personal"),
    # the kind of organisation alone names no lawful basis; a question about the question
    ("lawful_basis", "we're a small charity"),
    ("identifiable", "the young person has since died, does that count?"),
    ("consent", "dad agreed but mum didn't, and both have parental responsibility"),
    ("person", "mum and the kids really"),
    ("person", "15 or 16, not sure of his birthday"),
    ("consent", "she said I could tell the school but specifically not her dad"),
    ("confidential", "not sure, what's the difference between private and confidential?"),
    # the question's own word echoed back; someone else's answer the practitioner disputes
    ("confidential", "confidential? we're a youth club not a clinic"),
    ("public_interest", "the head says yes but I disagree"),
    ("legitimate_purpose", "yes for the school nurse, no for the PTA"),
    # a question about the record is no choice of a part to change
    ("record_confirm", "not sure yet, who will be able to see this once it's saved?"),
    # consent half given is no consent to act on; a record to come back to is not saved yet
    ("consent", "sort of, he shrugged"),
    ("record_confirm", "seems fine, can I come back to it later?"),
    # "missing" school or doses is no child missing now; the question back is asked again
    ("risk_of_harm", "does missing lessons count as harm?"),
    # an age when born in a year that straddles two bands
    ("person", "born in 2010"),
    # the message ends by asking about the question itself
    (
        "legal_duty",
        "social care rang and asked for it but nothing in writing, is that a legal duty?",
    ),
    ("risk_of_harm", "it happened to her cousin not her, does that matter"),
    ("seeking_consent_safe", "is it unsafe if mum would just be upset with us?"),
]


@pytest.mark.parametrize(("question", "typed", "answer"), ANSWERS)
def test_a_typed_answer_is_understood_at_its_question(
    conversation: Conversation, question: str, typed: str, answer: str
) -> None:
    assert dialog_answer(conversation, question, typed) == answer


@pytest.mark.parametrize(("question", "typed"), ASKED_AGAIN)
def test_an_answer_that_cannot_be_placed_is_asked_again(
    conversation: Conversation, question: str, typed: str
) -> None:
    assert dialog_answer(conversation, question, typed) is None
