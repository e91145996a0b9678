"""Understand answers typed as free text: "yep", "nah not right now, she's in class",
"dad won't agree to it", "no because he's already been seen by the GP", "the reasons bit".

The phrase lists live in `bot/knowledge/dialog/answers.yaml`. A message is read in parts
(clauses): each part's phrases are found longest first, never overlapping; at a yes/no
question a word of negation just before a phrase turns it round; reasons ("because …") explain
an answer and never change it. Two different answers, or a question back, give no answer: the
bot asks again rather than guess.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, Final

from bot.knowledge.search import SpellFixer
from bot.knowledge.text import fold

YES, NO, UNSURE = "yes", "no", "unsure"
WEAK = "~"  # an answer id written "~id" in answers.yaml: taken only when nothing else is said
# An answer id in answers.yaml for words that leave the answer open ("yes and no", "year 11"
# for the age band): the bot asks again, whatever else the message says.
ASK_AGAIN: Final = "ask_again"
WEAK_HEDGE: Final = WEAK + ASK_AGAIN
# Settings in answers.yaml that are mappings but not phrase lists
NOT_PHRASES: Final = frozenset({"dominant", "read_as"})
# Hedges that are only about the answer at the start of what is said: "could be" in "that
# could be nothing" or "he could be getting at them" is part of the story.
MODAL_HEDGES: Final = frozenset({("could", "be"), ("might", "be"), ("may", "be")})
# "it could be", "i think maybe": what may come before a hedge about the answer itself
HEDGE_LEADS: Final = frozenset(
    {"it", "its", "i", "well", "so", "yes", "yeah", "no", "think", "guess", "suppose", "there"}
)
# Age in years beyond the listed ones is an adult; "18 months", "3 weeks" is a baby.
_BABY_AGE = re.compile(r"\b\d{1,2}\s*(?:months?|mths?|mo|weeks?|wks?|days?)\b", re.IGNORECASE)
_ADULT_AGE = re.compile(r"(?<![\w.,/])(?:[2-9]\d|1[01]\d|120)(?:yo|yrs?)?(?!\w)", re.IGNORECASE)
# "born 03/04/2012", "dob 2012", "date of birth: 3.4.12" is not read (a two-digit year is unsure)
_BORN: Final = re.compile(
    r"\b(?:born|dob|d\.o\.b\.?|date of birth)(?:\s+in)?\W{0,3}"
    r"(?:(\d{1,2})[/.-](\d{1,2})[/.-])?((?:19|20)\d{2})\b",
    re.IGNORECASE,
)
# "she's 18 now but was 15 when it happened": the age then is not the age now
_AGE_THEN: Final = re.compile(
    r"\b(?:was|were)\s+(?:only\s+|just\s+)?\d{1,2}\s*(?:years?\s+old|yrs?\s+old|yo)?\s+"
    r"(?=when\b|at the time\b|back then\b|then\b)",
    re.IGNORECASE,
)
_CITATION = re.compile(
    r"\b(?:(?:s|ss)(?:\.\s*|(?=\d))|(?:sec|section|para|paragraph|art|article|reg|sch|schedule)"
    r"\.?\s*)\d+[\w()/.]*",
    re.IGNORECASE,
)
# A choice named after "not" is not chosen ("we're a charity, not a public body").
NEGATED_CHOICE_WINDOW: Final = 5  # "I don't think I want to save it"
# Small words between "I wouldn't say" and what it turns round
DOUBT_FILLERS: Final = frozenset(
    [
        "that",
        "theres",
        "there",
        "is",
        "its",
        "it",
        "she",
        "he",
        "they",
        "shes",
        "hes",
        "theyre",
        "are",
        "at",
        "any",
        "in",
        "a",
        "was",
        "were",
        "be",
        "been",
        "would",
        "will",
        "could",
        "might",
        "anything",
        "anyone",
        "anybody",
        "of",
        "all",
        "this",
        "the",
        "much",
        "really",
        "such",
        "ever",
        "to",
        "me",
        "us",
        "them",
        "him",
        "her",
        "actually",
        "necessarily",
        "particularly",
        "especially",
        "currently",
        "itd",
        "theyd",
        "shed",
        "hed",
    ]
)
# "I don't think it would be safe to ask her": the doubt reaches the first answer in its part,
# over at most this many words, unless a new statement starts after a word of substance ("I
# don't think it matters, it's confidential" typed with no comma)
DOUBT_REACH: Final = 8
DOUBT_SUBSTANCE: Final = 2  # words of substance it reaches over ("was given to me in")
FRESH_STARTS: Final = frozenset(
    {"i", "we", "she", "he", "they", "it", "there", "its", "shes", "hes", "theyre", "theres", "im"}
)
# "I wouldn't say there is": a doubt that ends in one of these is complete, not left hanging
ELLIPTICAL: Final = frozenset({"is", "was", "are", "were", "be", "been", "would", "could", "does"})
# "I doubt it's safe": "doubt" doubts only as a verb (not "no doubt", "if in doubt")
DOUBT_AS_VERB_AFTER: Final = frozenset({"i", "we", "really", "seriously", "very", "much"})
# At a choice between two, a choice turned down is the other one ("no need to change it")
OTHER_CHOICE: Final = {"save": "edit", "edit": "save"}
# "he said not a chance", "mum said yes": a yes or no reported at the consent question
REPORTED: Final = frozenset({"said", "says", "saying", "replied", "answered"})
REPORTED_CONSENT: Final = {"yes": "given", "no": "refused"}
# An answer id in answers.yaml for words that are no answer at all and only stop shorter
# phrases inside them being read ("that kind of thing" holds no hedge)
NOT_AN_ANSWER: Final = "words"
# The question itself not understood ("what do you mean by risk to them alone?", "does initials
# count"): whatever else the message says, the bot asks again and explains
MEANING_ASKED: Final = re.compile(
    r"\b(what do you mean|what does (it|that|this|\w+( \w+)?) mean|what is meant by|wdym|"
    r"whats the difference|what is the difference|"
    r"(does|do|would|will) (a |an |the |her |his |their |my |our )?\w+( \w+)? counts?|"
    r"is (that|it|this) counted|(does|would|will) (that|it|this) matter)\b"
    # "is it unsafe if they'd only be angry?", "would asking be unsafe if it upset her?"
    r"|^(is|isnt|would|does) (it|that|this|asking)( \w+){0,5} (if|when)\b"
)
# "what counts as immediate", "what would you count as risk": the question's meaning asked
WHAT_COUNTS: Final = re.compile(
    r"\bwhat (counts|is counting|would count|do you count|would you count|do you class|"
    r"is classed)\b"
)
SAVE_WORDS: Final = frozenset({"save", "submit", "file"})  # the record check: "save" said
OPTION_NEGATORS: Final = frozenset(
    {"not", "never", "isnt", "arent", "wasnt", "nor", "didnt", "doesnt", "dont", "hasnt", "havent"}
    | {"rather", "instead", "unlike"}  # "a charity rather than a public body"
)
PAIRED_NEGATORS: Final = {"rather": "than", "instead": "of"}  # "I'd rather skip": no negation
POLAR: Final = frozenset({YES, NO})
DANGER_QUESTION: Final = "immediate_danger"
NOS: Final = frozenset({"no", "n", "nope", "nah", "na", "naw"})
# Words that start a reason or a second thought; what follows explains the answer before.
REASONS: Final = frozenset({"because", "cos", "coz", "cause", "cuz", "bc", "since"})
# "asking would cause any delay": "cause" after these is the verb, not "because"
CAUSE_AS_VERB: Final = frozenset(
    {"would", "could", "might", "will", "may", "can", "to", "not", "wont", "wouldnt", "it", "did"}
    | {"itd", "theyd", "shed", "hed", "thatd", "couldnt", "wouldve", "that", "this"}
)
BUT: Final = frozenset({"but", "though", "although", "however", "tho", "whereas"})
# An exception explains the answer before it and never changes it ("yes, save for the
# anonymised appendix", "all of it except the attendance data")
EXCEPT: Final = frozenset({"except", "excepting"})
EXCEPT_PAIRS: Final = frozenset({("save", "for"), ("apart", "from"), ("other", "than")})
YN: Final = frozenset({"y", "n"})
# An answer changed along the way ("said no at first, then came round"): the last one counts.
CHANGED: Final = re.compile(
    r"\b(at first|originally|initially|to begin with|then changed|no wait|"
    r"(no|yes|yeah|nah|oh|hmm|um|erm) (well )?actually|(no|nah|naw|wait) hang on|"
    r"sorry i meant|scratch that|on second thoughts?|long story short|"
    # "no - yes sorry, yes he's still there": a second answer with an apology corrects the first
    r"(?<=\w )(yes|no|yeah|yep|nope|nah|y|n) (sorry|soz)|"
    r"(?<=\w )(sorry|soz) (i mean )?(yes|no|yeah|nah|y|n)\b|"
    r"read it wrong|misread|i meant|i was going to say|was going to say|"
    # "yes I mean no, I haven't asked him": the second answer corrects the first
    r"\b(yes|no|yeah|yep|nope|nah|y|n) i mean (yes|no|yeah|yep|nope|nah|not)\b|"
    r"\b(yes|no|yeah|nah|y|n) well (no|yes|not|there|it|the|an|a|she|he|they|i|we|my|our|asking)\b|"
    r"(?<=\w )(no|sorry|wait)\b.{0,40}\bactually$|"
    r"to answer your question|then (she|he|they) change[ds]?|"
    r"changed (her|his|their|my) mind|change (her|his|their|my) mind|"
    # a conclusion at the end: "…nothing that compels us, so N", "… treat as Y"
    r"(so|therefore|hence|thus|treat as|treat it as|id say|i would say|id have to say) "
    r"(yes|no|y|n|unsure|not sure)$)\b"
)
# The same only where a later part of the message starts with them: "actually" inside "it's
# not actually welfare" changes nothing; "… on the other hand …, so on balance yes" concludes.
CHANGED_AT_START: Final = re.compile(
    r"^(wait|actually|well actually|i mean|anyway|anyhow|so|on balance|overall|all in all|"
    r"in the end|"
    r"in short|to sum up|all things considered)\b"
)
# "depends what you mean by risk", "it all depends how you define confidential"
DEPENDS_ON_MEANING: Final = re.compile(
    r"^(well |i mean |i guess |i suppose )?(it |that |i )?(all )?(depends|depend) (on )?(what|how) "
    r"(you|u|ya|we|they|youd|one) (mean|define|class|count|call|see|classify)"
)
# "… but not the little one", "… but not for her mum": after "not", someone or something else
OTHER_PARTY_STARTS: Final = frozenset(
    {"the", "her", "his", "their", "for", "to", "from", "with", "about", "mum", "dad", "him"}
    | {"them", "my", "our", "this", "that", "those", "these", "one", "all"}
)
# Capacity said to be there, not denied ("she does have capacity", "he has capacity").
# (said as a part of its own: "I doubt she has capacity" is no such thing)
CAPACITY_AFFIRMED: Final = re.compile(
    r"^(but |and |yes )?(she|he|they) (does |do |definitely )?(has|have) (full )?capacity\b"
    r"(?! (issues|concerns|problems|assessment))"
    # "… but he can make his own decisions"
    r"|^(but |and |yes )?((she|he|they) )?(can|does|do|is able to|are able to) (still )?make "
    r"(her|his|their) own decisions\b"
    # "… but she does understand and can decide for herself", "he can decide himself"
    r"|^(but |and |yes )?((she|he|they) )?((does|do) understand (and )?)?(can|does|do|is able to|"
    r"are able to) (still )?decide (for )?(herself|himself|themselves|themself)\b"
)
# A part that opens by correcting the answer before it ("actually yes", "i mean no", "wait").
CORRECTS: Final = re.compile(
    r"^(wait|actually|well actually|sorry i meant|i meant|"
    r"(i mean|well) (yes|no|yeah|yep|nope|nah|not))\b"
)
# A part that only corrects, saying nothing of its own ("well no actually", "wait no").
CORRECTION_ONLY: Final = frozenset(
    {"well", "no", "nope", "nah", "yes", "yeah", "actually", "wait", "sorry", "i", "mean"}
    | {"meant", "hang", "on", "hold"}
)
# Punctuation that ends a part of a sentence (checked on the raw text, before folding).
_CLAUSE_BREAK = re.compile(r"[,;:!?\n]+|(?<!\d)\.(?!\d)|\.(?=\s)|\s[-–—]+\s|\s[-–—]+|[-–—]+\s")
_QUESTION_START = re.compile(
    r"^(what|whats|wats|wot|wdym|which|who|whom|whose|why|how|when|where|do you|does it|is it|"
    r"is that|are you|can you|could you|would you|should i|what if|depends (on )?what|meaning|"
    r"define)\b"
)
_NUMBERS: Final = {
    w: str(n) for n, w in enumerate(["one", "two", "three", "four", "five", "six", "seven"], 1)
}
_WORD_NUMBER = re.compile(r"^((?:number|item|part|field) )?(" + "|".join(_NUMBERS) + r")\b")
_NUMBER_CORRECTED = re.compile(r"^\d+ (?:no|sorry|no sorry|i mean|wait|no wait|or rather) (\d+)$")
_ARTICLE = re.compile(r"^(art |article )?[69] ?1 ?[a-f]")  # 6(1)(e), article 9(1)…
_NUMBER = re.compile(
    r"^(?:(?:number|no|num|nr|option|opt|op|field|part|item)\s*)?#?\s*(\d{1,2})(?:\b|$)(?:\s*(.*))?$"
)
ANSWER_CACHE: Final = 4096  # answers remembered (question, words, choices)
CACHED_UP_TO: Final = 200  # characters: longer answers are read every time
TENTATIVE_WORDS: Final = 4  # "i dont think so??", "public task i think?": an answer, unsure
# One word with a question mark that is still an answer ("yes?", "maybe?", "probably?").
TENTATIVE_ALONE: Final = frozenset(
    {"maybe", "possibly", "probably", "perhaps", "sure", "definitely", "dunno", "idk", "unsure"}
)
# ... or longer, a statement with a belief in it ("we're a maintained school so I think it's
# public task?"): an answer said with a rising tone, not a question back
BELIEF: Final = re.compile(
    r"\b(i think|i guess|i suppose|i believe|i reckon|probably|im guessing)\b"
)
NEGATION_WINDOW: Final = 4  # words before a phrase that can turn it round
SPELL_FROM: Final = 5  # shorter words are never "corrected" (too many near neighbours)
MODALS: Final = frozenset(
    [
        "would",
        "could",
        "can",
        "does",
        "do",
        "is",
        "are",
        "should",
        "will",
        "has",
        "have",
        "did",
        "was",
        "shall",
        "might",
        "may",
    ]
)  # not "were": folded, "we're" is the same word
NEGATED_MODALS: Final = frozenset({"isnt", "doesnt", "wouldnt", "arent", "cant", "shouldnt"})
ASKED_NEGATIVELY: Final = frozenset(
    {"isnt", "arent", "doesnt", "wouldnt", "shouldnt", "wasnt", "hasnt", "couldnt"}
)
# A message's last part opening like this asks about the question ("…, is that a legal duty?")
ASKING_BACK_OPENERS: Final = MODALS | NEGATED_MODALS
REQUESTS: Final = frozenset({"can", "could", "may"})  # "can I add something": not a question
# "…, who is 32": after another part of the message these start a description
RELATIVES: Final = frozenset({"who", "which", "whose", "whom", "where", "when"})
WH_WORDS: Final = frozenset(
    ["what", "which", "who", "whom", "whose", "why", "how", "when", "where", "whats"]
)
QUESTION_SUBJECTS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "it",
        "she",
        "he",
        "they",
        "that",
        "this",
        "my",
        "her",
        "his",
        "i",
        "we",
        "you",
        "anyone",
        "someone",
        "there",
        "their",
        "our",
        "anybody",
        "somebody",
        "these",
        "those",
    ]
)
ASKING_BACK_SUBJECTS: Final = QUESTION_SUBJECTS | {"everything", "asking"}
# Emoji people answer with, read as words.
EMOJI: Final = {
    "👍": " yes ",
    "👌": " yes ",
    "✅": " yes ",
    "✔": " yes ",
    "🙂": " ",
    "👎": " no ",
    "❌": " no ",
    "🙁": " ",
    "🤷": " not sure ",
    "🤔": " not sure ",
}
# Joiners, variation selectors, skin tones and gender signs inside an emoji
_STRETCHED = re.compile(r"([a-z])\1+")  # a letter typed twice or more
_EMOJI_MODIFIERS = re.compile("[\u200d\ufe0f\u2640\u2642\U0001f3fb-\U0001f3ff]")
# "the one after lawful basis": the record part next to the one named
_RELATIVE = re.compile(r"\b(after|before|below|above) (?:the )?(.+)$")
# Words a sentence about someone starts with ("no she's safe", "no, it isn't")
PRONOUNS: Final = frozenset(
    [
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "its",
        "thats",
        "there",
        "theres",
        "hes",
        "shes",
        "theyre",
        "im",
        "ive",
        "my",
        "our",
        "his",
        "her",
        "their",
        "this",
        "everyone",
        "everybody",
        "nobody",
    ]
)
# ... after a one-word answer: "no she's safe", "no no danger" (see _answers_first)
SUBJECT_STARTS: Final = PRONOUNS | {"mum", "dad"}
# Words that may follow "no" when it answers ("no, it isn't", "no the ex has…"); "no" before
# anything else is a determiner ("no point", "no others"), not an answer.
AFTER_A_NO: Final = PRONOUNS | frozenset(
    [
        "that",
        "the",
        "a",
        "an",
        "not",
        "never",
        "no",
        "nope",
        "nah",
        "sorry",
        "thanks",
        "thank",
        "wait",
        "actually",
        "definitely",
        "absolutely",
        "of",
        "id",
        "were",
        "dont",
        "hold",
        "shed",
        "hed",
        "theyd",
        "youd",
        "hell",
        "shell",
        "ill",
        "well",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "cant",
        "wont",
        "but",
        "and",
        "so",
        "just",
        "really",
        "mate",
        "those",
        "these",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "all",
        "as",
        "if",
        "cos",
        "because",
        "for",  # "yes for mum, no for dad"
        "about",
        "in",
        "at",
        "on",
        "with",
        "from",
        "honestly",
        "tbh",
        "is",
        "was",
    ]
)
ORDINALS: Final = {
    **{
        w: i
        for i, w in enumerate(
            ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], 1
        )
    },
    **{
        w: i
        for i, w in enumerate(
            ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"], 1
        )
    },
    **{w: i for i, w in enumerate(["1st", "2nd", "3rd", "4th", "5th", "6th", "7th"], 1)},
    "top": 1,
}
LAST: Final = frozenset({"last", "bottom", "final", "end"})
POSITION_FILLERS: Final = frozenset(
    [
        "the",
        "one",
        "bit",
        "part",
        "field",
        "section",
        "box",
        "number",
        "no",
        "num",
        "option",
        "item",
        "please",
        "pls",
        "thanks",
    ]
)
INTERJECTIONS: Final = frozenset(
    {"yes", "y", "yep", "yeah", "yea", "yup", "no", "n", "nope", "nah", "na", "naw", "aye"}
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """The answer understood, or none; `ambiguous` when the text holds two different answers."""

    answer: str | None
    ambiguous: bool = False
    weak: bool = False  # only "~" phrases said it ("yes" at the special category question)


@dataclass(frozen=True, slots=True)
class _Found:
    answer: str
    start: int
    end: int


class PhraseMatcher:
    """Match a message against phrase lists, longest phrase first, never overlapping."""

    def __init__(
        self,
        groups: Mapping[str, Iterable[str]],
        read_as: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._read_as = read_as or {}
        phrases: list[tuple[tuple[str, ...], str]] = []
        for answer, texts in groups.items():
            for text in texts:
                tokens = self.tokens(str(text))
                if tokens:
                    phrases.append((tokens, str(answer)))
        self._phrases = sorted(phrases, key=lambda p: -len(p[0]))
        # Indexes into _phrases by first word, and the first answer for each whole message:
        # a message is only compared with the phrases that could match it, in the same order.
        self._starting: dict[str, list[int]] = {}
        self._whole: dict[tuple[str, ...], str] = {}
        for index, (tokens, answer) in enumerate(self._phrases):
            self._starting.setdefault(tokens[0], []).append(index)
            self._whole.setdefault(tokens, answer)

    def tokens(self, text: str) -> tuple[str, ...]:
        """The words of `text` as phrases are matched: folded, shorthand read as words."""
        return tuple(read_words(fold(text).split(), self._read_as))

    def words(self) -> Iterator[str]:
        """Every word of every phrase, as matched (once per phrase it is in)."""
        return (w for tokens, _ in self._phrases for w in tokens)

    def find(self, tokens: Sequence[str], covered: list[bool]) -> list[_Found]:
        """Every phrase in `tokens` not overlapping one already found (`covered` is updated)."""
        found: list[_Found] = []
        candidates = sorted({i for t in set(tokens) for i in self._starting.get(t, ())})
        for index in candidates:
            phrase, answer = self._phrases[index]
            n = len(phrase)
            letter = n == 1 and len(phrase[0]) == 1 and phrase[0].isalpha() and len(tokens) > 1
            if letter and phrase[0] not in YN:
                continue  # "a", "e": only an answer as the whole message
            for i in range(len(tokens) - n + 1):
                if letter and 0 < i < len(tokens) - 1:
                    continue  # "Y (CCTV stills)", "so N": Y and N open or close a part
                if tuple(tokens[i : i + n]) == phrase and not any(covered[i : i + n]):
                    covered[i : i + n] = [True] * n
                    found.append(_Found(answer, i, i + n))
        return sorted(found, key=lambda f: f.start)

    def parse(self, text: str, allowed: Sequence[str] | None = None) -> Parsed:
        tokens = list(self.tokens(text))
        if not tokens:
            return Parsed(None)
        distinct = {f.answer for f in self.find(tokens, [False] * len(tokens))}
        if allowed is not None and not distinct <= set(allowed):
            # "not sure" at a yes/no question must not shrink to "sure": re-ask, never guess
            return Parsed(None)
        if len(distinct) == 1:
            return Parsed(next(iter(distinct)))
        return Parsed(None, ambiguous=len(distinct) > 1)

    def is_whole_phrase(self, tokens: tuple[str, ...]) -> bool:
        return tokens in self._whole

    def exact(self, text: str) -> str | None:
        """The answer whose phrase is the whole message (commands must not fire mid-sentence)."""
        return self._whole.get(self.tokens(text))


@dataclass(frozen=True, slots=True)
class _Clause:
    tokens: tuple[str, ...]
    reason: bool  # starts with "because", "so", …: it explains the answer before it
    contrast: bool  # starts with "but", "though", …
    question: bool = False  # ends with "?", or opens like one ("would a first name count")
    exception: bool = False  # starts with "except", "apart from", …


def clauses(text: str) -> list[_Clause]:
    """Split a message at punctuation and at words that start a reason or a contrast."""
    out: list[_Clause] = []
    pieces = _CLAUSE_BREAK.split(text)
    breaks = _CLAUSE_BREAK.findall(text)
    for n, chunk in enumerate(pieces):
        words = fold(chunk).split()
        ends_with_question = n < len(breaks) and "?" in breaks[n]
        current: list[str] = []
        reason = contrast = excepts = False
        parts: list[_Clause] = []
        skip = False
        for i, word in enumerate(words):
            if skip:
                skip = False
                continue
            pair = (word, words[i + 1]) if i + 1 < len(words) else None
            # (at the start of a later piece too: "change the date, other than that all good")
            exception = (bool(current) or n > 0) and (word in EXCEPT or pair in EXCEPT_PAIRS)
            verb = word == "cause" and bool(current) and current[-1] in CAUSE_AS_VERB
            # "it's not as though …", "as if": a comparison, not a contrast
            turns = word in BUT and current[-1:] != ["as"]
            if (word in REASONS and not verb) or turns or exception:
                if current:
                    parts.append(_Clause(tuple(current), reason, contrast, exception=excepts))
                current, reason, contrast = [], word in REASONS or exception, word in BUT
                excepts = exception
                skip = exception and pair in EXCEPT_PAIRS
                continue
            current.append(word)
        if current:
            parts.append(_Clause(tuple(current), reason, contrast, exception=excepts))
        for k, part in enumerate(parts):
            # "maybe?", "i think so?": a tentative answer, not a question back
            tentative = (
                (len(part.tokens) <= TENTATIVE_WORDS or BELIEF.search(" ".join(part.tokens)))
                # "confidential?" echoes the question's word back; "yes?", "maybe?" answer
                and not (
                    len(part.tokens) == 1 and part.tokens[0] not in INTERJECTIONS | TENTATIVE_ALONE
                )
                and not (set(part.tokens) & WH_WORDS)
                and part.tokens[:1] != ()
                and part.tokens[0] not in MODALS  # "do initials count?" asks
                # "isnt everything confidential?" asks too (not "dont think so?")
                and not (len(part.tokens) > 1 and part.tokens[0] in ASKED_NEGATIVELY)
                and not (out and out[-1].question)  # "what does it mean? like secret?"
            )
            asked = (
                ends_with_question
                and k == len(parts) - 1
                and not tentative
                and not _requests(part.tokens)  # "could I amend the purpose?" asks to
            )
            # "…, who is 32": after another part, "who" starts a description, not a question
            relative = (n > 0 or k > 0) and part.tokens[:1] != () and part.tokens[0] in RELATIVES
            opens = _opens_a_question(part.tokens) and not relative
            asks = asked or opens or _ends_asking(part.tokens)
            out.append(_Clause(part.tokens, part.reason, part.contrast, asks, part.exception))
    return out


def _requests(tokens: Sequence[str]) -> bool:
    """ "can I add…", "could we change…", "could you save it": asking to, not asking what."""
    return len(tokens) >= 2 and tokens[0] in REQUESTS and tokens[1] in ("i", "we", "you")


def _ends_asking(tokens: Sequence[str]) -> bool:
    """ "risk of harm to who", "consent from who": a question without a question mark."""
    return (
        len(tokens) >= 2
        and tokens[-1] in WH_WORDS
        and tokens[-2] in ("to", "from", "for", "by", "with", "or")
    )


def _opens_a_question(tokens: Sequence[str]) -> bool:
    """ "what do you mean", "would a first name count", "is it confidential" — not "is at risk"."""
    phrase = " ".join(tokens)
    if _QUESTION_START.match(phrase):
        return True
    return (
        len(tokens) >= 3
        and tokens[0] in MODALS
        and tokens[1] in QUESTION_SUBJECTS
        and not (tokens[0] in REQUESTS and tokens[1] in ("i", "we"))
    )


class AnswerParser:
    """Reads typed answers with the phrase lists of bot/knowledge/dialog/answers.yaml."""

    def __init__(self, words: Mapping[str, Any], keep: Collection[str] = ()) -> None:
        self.negators = frozenset(fold(str(w)) for w in words.get("negators", ()))
        self.dominant: Mapping[str, str] = {
            str(q): str(a) for q, a in (words.get("dominant") or {}).items()
        }
        self.negatable = frozenset(fold(str(w)) for w in words.get("negatable", ()))
        doubting = [tuple(fold(str(d)).split()) for d in words.get("doubting", ()) if fold(str(d))]
        # by their last word: a doubt ending at a place is looked for among those only
        self._doubting: dict[str, list[tuple[str, ...]]] = {}
        for d in doubting:
            self._doubting.setdefault(d[-1], []).append(d)
        self.time_only = frozenset(
            tuple(fold(str(t)).split()) for t in words.get("time_only", ()) if fold(str(t))
        )
        self.conditional = tuple(
            tuple(fold(str(c)).split()) for c in words.get("conditional", ()) if fold(str(c))
        )
        # "rn" → "right now", "dinnae" → "dont": shorthand, dialect and misspellings read as words
        self.read_as = {
            fold(str(short)): tuple(fold(str(full)).split())
            for short, full in (words.get("read_as") or {}).items()
        }
        phrase_groups = {
            name: groups
            for name, groups in words.items()
            if isinstance(groups, Mapping) and name not in NOT_PHRASES
        }
        self.groups = {
            name: PhraseMatcher(groups, self.read_as) for name, groups in phrase_groups.items()
        }
        vocabulary: Counter[str] = Counter()
        for matcher in self.groups.values():
            vocabulary.update(matcher.words())
        vocabulary.update(self.negators)
        # "definately", "bruses", "concent": typos corrected to the answers' own words
        self._speller = SpellFixer(vocabulary, most=1, keep=keep)
        # reading is a pure function of the words: the short replies most turns carry ("yes",
        # "no", "not sure") are read once
        self._answer = lru_cache(maxsize=ANSWER_CACHE)(self._answer_uncached)
        self._option = lru_cache(maxsize=ANSWER_CACHE)(self._option_uncached)

    # ------------------------------------------------------------------ the dialog's questions
    def answer(
        self, question_id: str, text: str, allowed: Sequence[str], *, calm: bool = False
    ) -> Parsed:
        """The answer id `text` gives to the question, among `allowed` (None when unsure).
        `calm`: the whole message was checked for danger and reads as none now (nor maybe),
        so at the danger question a situation word ("mum came to pick her up") does not
        outweigh a plain "no"."""
        if len(text) > CACHED_UP_TO:
            return self._answer_uncached(question_id, text, tuple(allowed), calm)
        return self._answer(question_id, text, tuple(allowed), calm)

    def _answer_uncached(
        self, question_id: str, text: str, allowed: tuple[str, ...], calm: bool
    ) -> Parsed:
        if question_id in ("consent", "person"):
            return self.option(question_id, text, allowed)
        polar = set(allowed) >= POLAR
        whole = self.groups["whole"].exact(text) if "whole" in self.groups else None
        if whole in allowed:
            return Parsed(whole)
        groups = [g for g in (question_id, "common") if g in self.groups]
        return self._read(text, groups, allowed, polar=polar, calm=calm)

    def option(self, group: str, text: str, allowed: Sequence[str]) -> Parsed:
        """One of `allowed` from a group's phrases, a number ("3", "number 4") counting in
        the order `allowed` is given, or the answer id itself typed ("not_asked")."""
        if len(text) > CACHED_UP_TO:
            return self._option_uncached(group, text, tuple(allowed))
        return self._option(group, text, tuple(allowed))

    def _option_uncached(self, group: str, text: str, allowed: tuple[str, ...]) -> Parsed:
        folded = fold(text)
        if group == "record_field":
            place = _place(folded.split(), len(allowed))
            if place is not None:
                return Parsed(allowed[place]) if 0 <= place < len(allowed) else Parsed(None)
        if group == "record_field":
            # "seven - I need to add why", "number five": a part named by a word for its number
            folded = _WORD_NUMBER.sub(lambda m: f"{m.group(1) or ''}{_NUMBERS[m.group(2)]}", folded)
            corrected = _NUMBER_CORRECTED.match(folded)  # "5 no 6": the second one
            if corrected:
                folded = corrected.group(1)
        # "6(1)(e) not (f)" names an article, not part 6
        number = None if _ARTICLE.match(folded) else _NUMBER.match(folded)
        if number and group == "record_field":
            index = int(number.group(1)) - 1
            rest = number.group(2) or ""
            if re.search(r"\b[1-9]\b", rest):
                return Parsed(None, ambiguous=True)  # "2 and 3": which one?
            if 0 <= index < len(allowed):
                named = self._read(rest, [group], allowed, polar=False) if rest else Parsed(None)
                if named.answer in (None, allowed[index]) and not named.ambiguous:
                    return Parsed(allowed[index])
                return Parsed(None, ambiguous=True)
        for a in allowed:
            if folded == fold(a.replace("_", " ")):
                return Parsed(a)
        if group not in self.groups:
            return Parsed(None)
        if group == "record_field":
            beside = _RELATIVE.search(folded)
            if beside:
                spot = _place(beside.group(2).split(), len(allowed))
                if spot is None:
                    name = self._read(beside.group(2), [group], allowed, polar=False).answer
                    spot = None if name is None else allowed.index(name)
                if spot is not None:  # else "after all" is just words: read as usual
                    index = spot + (1 if beside.group(1) in ("after", "below") else -1)
                    return Parsed(allowed[index]) if 0 <= index < len(allowed) else Parsed(None)
        if group == "consent" and self._conditional(folded):
            return Parsed(None, ambiguous=True)
        if group == "person":
            text = _ages(text)
        return self._read(text, [group], allowed, polar=False)

    def _conditional(self, folded: str) -> bool:
        tokens = folded.split()
        return any(
            tuple(tokens[i : i + len(c)]) == c
            for c in self.conditional
            for i in range(len(tokens) - len(c) + 1)
        )

    # ------------------------------------------------------------------ reading
    def _read(
        self,
        text: str,
        groups: Sequence[str],
        allowed: Sequence[str],
        *,
        polar: bool,
        calm: bool = False,
    ) -> Parsed:
        parts = self._clauses(text)
        answers: list[tuple[str, _Clause]] = []
        for part in parts:
            for answer in self._in_clause(part, groups, polar=polar):
                answers.append((answer, part))
        if "record_field" not in groups and self._meaning_asked(parts, answers):
            return Parsed(None, ambiguous=True)
        safest = self.dominant.get(groups[0]) if groups else None
        if (
            len(parts) > 1
            and _ends_asking_back(parts)
            and groups[:1] not in (["record_field"], ["record_confirm"])
            and not any(a == safest for a, _ in answers)
        ):
            # "the police asked on the phone but not in writing, is that a legal duty?": the
            # message ends by asking about the question itself — it is asked again, with why
            return Parsed(None, ambiguous=True)
        if _depends_on_meaning(parts) and not any(a == safest for a, _ in answers):
            # (where one answer decides at this question, it still does: "depends what you
            # mean, she's self-harming but says it's under control" is a risk)
            return Parsed(None, ambiguous=True)
        excepting = _excepting(parts, answers) if polar else []
        if excepting and not any(a == safest for a, _ in answers):
            if (
                safest in allowed
                and any(part.tokens[:2] == ("not", "for") for part in excepting)
                and any(_turned(a) == safest for a, _ in answers if a in POLAR)
            ):
                # "it's safe for her but not for the kids": for the others the answer is
                # turned round, and at this question that answer decides ("fine to ask her but
                # not her partner" says whom to ask, and is asked again)
                return Parsed(safest)
            # "a court order for the older boy but not the little one": for whom is it asked?
            return Parsed(None, ambiguous=True)
        # a later part that corrects the answer before it ("…, actually yes"); "i mean" or
        # "actually" opening the message changes nothing said before it
        corrections = [part for part in parts[1:] if CORRECTS.match(" ".join(part.tokens))]
        if groups and groups[0] in TWO_PEOPLE_ASKED and _two_people(answers):
            # "safe to ask mum, not safe to ask dad", "mum yes, dad no": which of them is this
            # about? (At the danger and risk questions any risk decides, as above.)
            return Parsed(None, ambiguous=True)
        if groups[:1] == ["record_confirm"] and _excepts_a_part(parts, answers):
            return Parsed("edit")  # "all correct apart from the date"
        if (
            groups[:1] == ["record_confirm"]
            and not corrections
            and _save_then_change(parts, answers)
        ):
            # "save it but the date is wrong", "save it, and also change the purpose": told to
            # save, then to change — asked which, rather than either guessed ("save - actually
            # no, the date's off" corrects itself; "not perfect but save it" saves)
            return Parsed(None, ambiguous=True)
        if polar or groups[:1] == ["record_confirm"]:
            answers = self._echoed(parts, answers)
        if polar:
            answers = self._carried(parts, answers)
        if groups[:1] == [DANGER_QUESTION]:
            answers = _as_of_now(answers)
        if _offers_two(answers):
            return Parsed(None, ambiguous=True)  # "so no? or yes": two answers offered
        if "record_field" not in groups:
            # "is it confidential? yeah it is": a question (echoed, or asked back) is no
            # answer; a question and nothing else ("what do you mean?") is asked again.
            # ("which part?" takes requests: "could you change the purpose?")
            # ("not really?" alone is a tentative answer, not a question back)
            answers = [
                (a, part) for a, part in answers if not part.question or self._tentative(part)
            ]
        if not answers:
            return Parsed(None)
        only = {id(p) for p in corrections if CORRECTION_ONLY.issuperset(p.tokens)}
        if not polar and only:
            # at a choice, "well no actually" only says the choice before it was wrong ("none
            # - well no actually, it mentions her HIV status"): the choice is in what follows
            at = next(k for k, part in enumerate(parts) if part is corrections[-1])
            later = {id(part) for part in parts[at + 1 :]}
            if any(id(part) in later for _, part in answers):
                answers = [(a, part) for a, part in answers if id(part) not in only]
        if not corrections and any(not a.startswith(WEAK) for a, _ in answers):
            # a weak answer counts only when nothing else is said, wherever it stands ("no,
            # save it": the "no" only says nothing is wrong) — but a hedge still hedges, and a
            # correction ("save - actually no") still corrects
            answers = [
                (a, part) for a, part in answers if not a.startswith(WEAK) or a == WEAK_HEDGE
            ]
        said = _what_counts(
            answers,
            parts,
            weigh_but=polar or bool({"record_confirm", "person"} & set(groups)),
            changed=bool(CHANGED.search(fold(text)))
            or bool(corrections)
            or any(CHANGED_AT_START.match(" ".join(part.tokens)) for part in parts[1:]),
            corrected=corrections[-1] if corrections else None,
            interjection=bool(parts) and self._opens_alone(parts[0].tokens, groups),
        )
        last = parts[-1]
        if (
            len(parts) > 1
            and len(last.tokens) == 1
            and last.tokens[0] in INTERJECTIONS
            and not last.question
            and groups[:1] != [DANGER_QUESTION]
        ):
            # "… even without names everyone would know who it is. yes": the story, then the
            # answer alone at the end — unless the story names the answer that decides here
            final = [a for a, part in answers if part is last]
            if final and (final[0] == safest or all(a != safest for a, _ in answers)):
                said = final
        # a weak answer ("~…": "yes" at the special category question) counts only alone
        strong = [a for a in said if not a.startswith(WEAK)]
        weak = not strong
        said = strong or [a[len(WEAK) :] for a in said]
        winner = safest
        if calm and groups[:1] == [DANGER_QUESTION] and parts[0].tokens[:1] != ():
            # "no, she's safe now, mum came to pick her up": a plain "no" first, and nothing
            # in the whole message reads as danger now
            first = [a for a, part in answers if part is parts[0]]
            if parts[0].tokens[0] in NOS or (first and set(first) == {NO}):
                winner = NO
        if ASK_AGAIN in said or (
            groups[:1] != [DANGER_QUESTION] and any(a == ASK_AGAIN for a, _ in answers)
        ):
            # "yes and no, … but …": asked again, whatever a later part seems to settle
            said = [a for a in said if a != ASK_AGAIN]
            if groups[:1] != [DANGER_QUESTION] or winner not in said:
                return Parsed(None, ambiguous=True)  # "yes and no": but danger named decides
            said = [winner]
        distinct = list(dict.fromkeys(said))
        if groups[:1] == ["consent"] and set(distinct) == {"given", "refused"}:
            # "mum signed the form but rang to say she wants to withdraw it": only consent
            # given can be withdrawn, so the withdrawal is the later word
            refusing = [part for a, part in answers if a == "refused"]
            if any(t.startswith("withdr") for part in refusing for t in part.tokens):
                distinct = ["refused"]
        if groups[:1] == ["consent"] and set(distinct) == {"given", "not_asked"}:
            # "she's 15 and said go ahead, haven't spoken to mum": the person's own consent
            # is consent; a parent not yet asked does not undo it
            unasked = [part for a, part in answers if a == "not_asked"]
            if all(not _PARENTS.isdisjoint(part.tokens) for part in unasked):
                distinct = ["given"]
        if (
            groups[:1] == ["risk_of_harm"]
            and set(distinct) == {YES, UNSURE}
            and any(
                a == YES and "perceived" in (*_before(parts, part), *part.tokens)
                for a, part in answers
            )
        ):
            # "perceived risk yes, actual risk who knows": a perceived risk is enough here
            distinct = [YES]
        if len(distinct) > 1 and polar and UNSURE in distinct and UNSURE in allowed:
            # "yes, I think so, not 100% though": a hedge on top of an answer is still unsure
            distinct = [UNSURE]
        if len(distinct) > 1 and winner in distinct:
            # "yes, but there's a baby in the house": at this question that answer decides
            distinct = [winner]
        if set(distinct) == {"adult", "adult_lacking_capacity"}:
            # "elderly man, advanced dementia" — unless capacity is said to be there ("a
            # woman in her 60s with a learning disability, but she does have capacity")
            said_to_have = any(CAPACITY_AFFIRMED.match(" ".join(p.tokens)) for p in parts)
            distinct = ["adult" if said_to_have else "adult_lacking_capacity"]
        if len(distinct) != 1:
            return Parsed(None, ambiguous=True)
        if distinct[0] not in allowed:
            return Parsed(None)
        return Parsed(distinct[0], weak=weak)

    def _clauses(self, text: str) -> list[_Clause]:
        text = _EMOJI_MODIFIERS.sub("", text)  # "🤷‍♀️" is "🤷"
        alone = text.strip()
        for emoji, word in EMOJI.items():
            # an emoji on its own is an answer; beside words it only goes with them ("no 👍")
            text = text.replace(emoji, word if alone == emoji else " ")
        fixed = []
        for part in clauses(text):
            words = read_words(part.tokens, self.read_as)
            tokens = tuple(self._spelt(t) for t in words)
            if (
                len(tokens) > 2
                and tokens[0] in INTERJECTIONS
                and CORRECTS.match(" ".join(tokens[1:]))
            ):
                # "yes i mean no", "no actually yes": two parts, the second correcting the first
                fixed.append(_Clause(tokens[:1], part.reason, part.contrast))
                tokens = tokens[1:]
                part = replace(part, reason=False, contrast=False)
            fixed.append(_Clause(tokens, part.reason, part.contrast, part.question, part.exception))
        return fixed

    def _tentative(self, part: _Clause) -> bool:
        return "common" in self.groups and self.groups["common"].is_whole_phrase(part.tokens)

    def _carried(
        self, parts: Sequence[_Clause], answers: list[tuple[str, _Clause]]
    ) -> list[tuple[str, _Clause]]:
        """A negation left hanging before an aside ("Not, as far as I can tell from this
        morning, in any danger right now"; "I don't, after checking, think there's any law")
        turns round the next part that answers."""
        answered = {id(part) for _, part in answers}
        flip: set[int] = set()
        pending = False
        for part in parts:
            if id(part) in answered:
                if pending and not (len(part.tokens) == 1 and part.tokens[0] in NOS):
                    flip.add(id(part))  # a bare "no" agrees: "it's not, no"
                pending = False
            elif 0 < len(part.tokens) <= HANGING_UP_TO and part.tokens[-1] in HANGING:
                pending = True  # "not," / "I don't," — not "there's been nothing"
            elif self._doubt_left_hanging(part.tokens):
                pending = True  # "I wouldn't say that anybody, not the kids, is in danger"
        if not flip:
            return answers
        out: list[tuple[str, _Clause]] = []
        done: set[int] = set()
        for answer, part in answers:
            if id(part) in flip and id(part) not in done and answer in POLAR:
                answer = _turned(answer)
                done.add(id(part))
            out.append((answer, part))
        return out

    @staticmethod
    def _meaning_asked(parts: Sequence[_Clause], answers: Sequence[tuple[str, _Clause]]) -> bool:
        """The question asked back ("what do you mean by 'risk to them alone'?", "does initials
        count"), with no answer after it ("…, does that count? …so yes" answers itself)."""
        asked = [k for k, part in enumerate(parts) if MEANING_ASKED.search(" ".join(part.tokens))]
        if not asked:
            return False
        after = {id(part) for part in parts[asked[-1] + 1 :]}
        return not any(id(part) in after for _, part in answers)

    def _doubt_left_hanging(self, tokens: Sequence[str]) -> bool:
        """The part ends in doubting words and small words only ("I wouldn't say that
        anybody")."""
        if tokens[-1:] != () and tokens[-1] in ELLIPTICAL:
            return False  # "I wouldn't say there is": said in full
        for end in range(len(tokens), 0, -1):
            if tokens[end - 1] not in DOUBT_FILLERS:
                return self._doubt_ends_at(tokens, end)
        return False

    def _doubt_ends_at(self, tokens: Sequence[str], end: int) -> bool:
        """Doubting words ("wouldnt say", "dont think", "doubt" as a verb) end at `end`."""
        for d in self._doubting.get(tokens[end - 1], ()) if end > 0 else ():
            if end < len(d) or tuple(tokens[end - len(d) : end]) != d:
                continue
            if d == ("doubt",) and end > 1 and tokens[end - 2] not in DOUBT_AS_VERB_AFTER:
                continue  # "no doubt it's confidential", "if in doubt"
            return True
        return False

    def _echoed(
        self, parts: Sequence[_Clause], answers: list[tuple[str, _Clause]]
    ) -> list[tuple[str, _Clause]]:
        """A bare "no" after a negative statement agrees with it: "wouldn't increase the risk,
        no" says what the statement says, not "no" to the question."""
        place = {id(part): k for k, part in enumerate(parts)}
        out: list[tuple[str, _Clause]] = []
        for n, (answer, part) in enumerate(answers):
            k = place[id(part)]
            before = [a for a, p in out if p is parts[k - 1]] if k > 0 else []
            if (
                len(part.tokens) == 1
                and part.tokens[0] in NOS
                and before
                and not self.negators.isdisjoint(parts[k - 1].tokens)
            ):
                answer = before[-1]
            last = n + 1 == len(answers) or answers[n + 1][1] is not part
            if (
                answer == NO
                and last
                and len(part.tokens) > 1
                and part.tokens[-1] in NOS
                and out
                and out[-1][1] is part
                and not self.negators.isdisjoint(part.tokens[:-1])
            ):
                answer = out[-1][0]  # "not unsafe no": the same, said in one breath
            out.append((answer, part))
        return out

    def _spelt(self, token: str) -> str:
        plain = self._unstretched(token)
        if plain != token or len(token) < SPELL_FROM:
            return plain
        return self._speller.fix(token)

    def _unstretched(self, token: str) -> str:
        """A word typed with a letter held down ("noo", "nahh", "yesss") as the answers' own
        word; a known word is left alone."""
        vocabulary = self._speller.vocabulary
        if token in vocabulary or not _STRETCHED.search(token):
            return token
        for candidate in (_STRETCHED.sub(r"\1\1", token), _STRETCHED.sub(r"\1", token)):
            if candidate in vocabulary:
                return candidate
        return token

    def _in_clause(self, part: _Clause, groups: Sequence[str], *, polar: bool) -> list[str]:
        tokens = part.tokens
        covered = [False] * len(tokens)
        found: list[tuple[_Found, bool]] = []  # (phrase, from the question's own list)
        for n, group in enumerate(groups):
            own = n == 0 and len(groups) > 1
            found.extend((f, own) for f in self.groups[group].find(tokens, covered))
        if groups[:1] == [DANGER_QUESTION] and len(found) > 1:
            # "no one's at risk right this second": a time alone goes with the other answer
            timed = [f for f, _ in found if tuple(tokens[f.start : f.end]) in self.time_only]
            if len(timed) < len(found):
                found = [item for item in found if item[0] not in timed]
        kept = []
        for item in found:
            if item[0].answer == NOT_AN_ANSWER:
                continue
            if _determiner_no(tokens, item[0]):
                # "no statutory request": a determiner, so a negation of what follows
                covered[item[0].start : item[0].end] = [False]
            elif not _story_modal(tokens, item[0]):
                kept.append(item)
        found = sorted(kept, key=lambda item: item[0].start)
        answers = []
        given: dict[int, str] = {}  # the answer each polar phrase gave, by its place in `found`
        for k, (f, _own) in enumerate(found):
            if not polar and _negated_choice(tokens, f, covered):
                if f.answer in OTHER_CHOICE and groups[:1] == ["record_confirm"]:
                    answers.append(OTHER_CHOICE[f.answer])  # "I don't think it needs changing"
                continue  # "a charity, not a public body"
            if (
                groups[:1] == ["consent"]
                and f.answer in REPORTED_CONSENT
                and tokens[f.start - 1 : f.start] != ()
                and tokens[f.start - 1] in REPORTED
            ):
                answers.append(REPORTED_CONSENT[f.answer])  # "dad said not a chance"
                continue
            if not (polar and f.answer in POLAR):
                answers.append(f.answer)
                continue
            if self._leads_into_own(found, k) and not _answers_first(tokens, f):
                continue  # "it isn't | safe", "definitely | not secret": part of the next one
            # the doubt reaches the first answer after it, never one past another answer
            doubt = self._doubted(tokens, f.start, found[k - 1][0].end if k else 0)
            flips = int(doubt is not None)
            if not self.negatable.isdisjoint(tokens[f.start : f.end]):
                # the doubting words' own negation ("wouldn't say") is counted once, above
                first = max(0, f.start - NEGATION_WINDOW, doubt or 0)
                window = range(first, f.start)
                flips += sum(1 for i in window if not covered[i] and tokens[i] in self.negators)
                flips += int(
                    k > 0
                    and self._modifies_next(found, k - 1, tokens)
                    and not _answers_first(tokens, found[k - 1][0])
                )
            answer = f.answer
            if flips % 2:
                answer = _turned(answer)
            if k - 1 in given and _listed_after(tokens, found[k - 1][0], f):
                answer = given[k - 1]  # "no warrant or court order": one negation for the list
            given[k] = answer
            answers.append(answer)
        return answers

    def _opens_alone(self, tokens: Sequence[str], groups: Sequence[str]) -> bool:
        """The clause opens with a one-word answer ("no, …", "nah …"), not with a longer phrase
        that starts with one ("no names", "no idea")."""
        covered = [False] * len(tokens)
        found = [f for g in groups for f in self.groups[g].find(tokens, covered)]
        first = next((f for f in found if f.start == 0), None)
        return first is not None and first.end == 1

    @staticmethod
    def _leads_into_own(found: Sequence[tuple[_Found, bool]], k: int) -> bool:
        """A common phrase right before one of the question's own phrases modifies it (an
        intensifier such as "definitely", or a negation, counted by `_modifies_next`)."""
        f, own = found[k]
        nxt = found[k + 1] if k + 1 < len(found) else None
        return not own and nxt is not None and nxt[1] and nxt[0].start == f.end

    def _modifies_next(
        self, found: Sequence[tuple[_Found, bool]], k: int, tokens: Sequence[str]
    ) -> bool:
        """A common phrase with a negation right before one of the question's own phrases."""
        f, own = found[k]
        nxt = found[k + 1] if k + 1 < len(found) else None
        return (
            not own
            and nxt is not None
            and nxt[1]
            and nxt[0].start == f.end
            and any(t in self.negators for t in tokens[f.start : f.end])
        )

    def _doubted(self, tokens: Sequence[str], start: int, floor: int = 0) -> int | None:
        """After "I wouldn't say", "I don't think", "doubt" (and small words, or words of
        substance with no new statement after them): the phrase is turned round whatever it
        is. Where the doubting words end (not before `floor`), or None."""
        for end in range(start, max(floor - 1, start - DOUBT_REACH - 1), -1):
            if self._doubt_ends_at(tokens, end) and _reaches(tokens[end:start]):
                return end
        return None

    def answers_plainly(self, text: str) -> bool:
        """A part of the message is a plain one-word answer: it opens the message ("yes, …",
        "nah …") or concludes it ("… so no, not at this moment")."""
        for k, part in enumerate(clauses(text)):
            words = part.tokens[1:] if part.tokens[:1] in (("so",), ("well",)) else part.tokens
            if words[:1] != () and words[0] in INTERJECTIONS and (k == 0 or words != part.tokens):
                return True
        return False

    def asks_what_it_means(self, text: str) -> bool:
        """The message asks what the question means, or makes the answer hang on it ("what
        counts as immediate? he's due back tonight", "depends what you mean by risk")."""
        parts = self._clauses(text)
        return _depends_on_meaning(parts) or any(
            MEANING_ASKED.search(joined) or WHAT_COUNTS.search(joined)
            for joined in (" ".join(part.tokens) for part in parts)
        )

    # ------------------------------------------------------------------ whole messages
    def is_known_reply(self, text: str) -> bool:
        """The whole message is one known answer or command phrase ("no", "not sure",
        "she said no", "back"): nothing else is in it."""
        tokens = tuple(read_words(fold(text).split(), self.read_as))
        return any(g.is_whole_phrase(tokens) for g in self.groups.values())

    def common(self, text: str) -> Parsed:
        return self._read(text, ["common"], (YES, NO, UNSURE), polar=True)

    def command(self, text: str) -> str | None:
        return self.groups["commands"].exact(text)


def _reaches(gap: Sequence[str]) -> bool:
    """The words between a doubt and a phrase carry the doubt on: small words, or words of
    substance with no new statement after them ("any of it was given to me in confidence")."""
    substance = 0
    for word in gap:
        if substance and word in FRESH_STARTS:
            return False
        substance += word not in DOUBT_FILLERS
    return substance <= DOUBT_SUBSTANCE


def _determiner_no(tokens: Sequence[str], f: _Found) -> bool:
    """ "no" in "there's no point" or "no others at risk": a determiner, not an answer."""
    return f.end - f.start == 1 and _no_as_determiner(tokens, f.start)


def _no_as_determiner(tokens: Sequence[str], at: int) -> bool:
    """The word at `at` is "no" before anything but the words that may follow an answering
    "no" ("no she's safe", "no for dad")."""
    return tokens[at] == "no" and at + 1 < len(tokens) and tokens[at + 1] not in AFTER_A_NO


def read_words(words: Iterable[str], mapping: Mapping[str, tuple[str, ...]]) -> Iterator[str]:
    """The words with shorthand, dialect and misspellings replaced (answers.yaml `read_as`)."""
    return (w for t in words for w in mapping.get(t, (t,)))


def _answers_first(tokens: Sequence[str], f: _Found) -> bool:
    """ "no she is safe", "yes he's outside": a one-word answer, then what it is about — not
    "no danger" or "definitely safe", where the word goes with the phrase after it."""
    return (
        f.end - f.start == 1
        and tokens[f.start] in INTERJECTIONS
        and f.end < len(tokens)
        # "no no …", "no not safe"
        and (tokens[f.end] in SUBJECT_STARTS or tokens[f.end] in INTERJECTIONS | {"not"})
    )


def _story_modal(tokens: Sequence[str], f: _Found) -> bool:
    """ "could be" after "he", "that", …: part of the story, not a hedge on the answer."""
    return (
        tuple(tokens[f.start : f.end]) in MODAL_HEDGES
        and f.start > 0
        and tokens[f.start - 1] not in HEDGE_LEADS
    )


def _negated_choice(tokens: Sequence[str], f: _Found, covered: Sequence[bool]) -> bool:
    """A choice within three words after "not" ("not a public body", "it's not like she
    said no"), the "not" part of no phrase of its own; or a choice followed by "isn't"
    ("consent isn't our basis")."""
    after = tuple(tokens[f.end : f.end + 2])
    if after[:1] in (("isnt",), ("wasnt",), ("arent",)) or after == ("is", "not"):
        return True
    if f.start >= 2 and tokens[f.start - 2] == "no" and tokens[f.start - 1] in ("a", "an", "the"):
        return True  # "a charity, no a public body"
    return any(
        tokens[i] in OPTION_NEGATORS
        and not covered[i]
        and (tokens[i] not in PAIRED_NEGATORS or tokens[i + 1] == PAIRED_NEGATORS[tokens[i]])
        # the nearest choice only: "not a public body so legit interests" turns down one
        and not any(covered[i + 1 : f.start])
        for i in range(max(0, f.start - NEGATED_CHOICE_WINDOW), f.start)
    )


def _ages(text: str, today: date | None = None) -> str:
    """ "shes 78" → an adult; "18 months", "3 weeks" → a baby (the listed numbers stay);
    "MCA s.2/3" is a citation, not an age; a date of birth is the age it makes today; an age
    someone "was when it happened" is not their age now."""
    text = _BORN.sub(lambda m: _age_born(m, today or date.today()), text)
    text = _AGE_THEN.sub(" back then ", text)
    text = _CITATION.sub(" ", text)
    return _ADULT_AGE.sub(" adult ", _BABY_AGE.sub(" baby ", text))


def _age_born(m: re.Match[str], today: date) -> str:
    """ "born 03/04/2012" → " 14 " (days first, as written in the UK); a year alone may be
    either of two ages ("born in 2010" → " 15 or 16 ": asked again where that straddles)."""
    year = int(m.group(3))
    if year > today.year:
        return " "
    if m.group(1) and m.group(2):
        day, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f" {today.year - year - ((today.month, today.day) < (month, day))} "
    return f" {today.year - year - 1} or {today.year - year} "


def _place(tokens: Sequence[str], count: int) -> int | None:
    """An index from "the third one", "number five", "6", "the last bit", "top"; None when the
    words name no place in a list of `count`."""
    words = [t for t in tokens if t not in POSITION_FILLERS]
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit():
        return int(word) - 1
    if word in LAST:
        return count - 1
    return ORDINALS[word] - 1 if word in ORDINALS else None


def _what_counts(
    answers: Sequence[tuple[str, _Clause]],
    parts: Sequence[_Clause],
    *,
    weigh_but: bool,
    changed: bool,
    corrected: _Clause | None = None,
    interjection: bool = True,
) -> list[str]:
    """The answers that decide: the last one when the person changed their mind; an answer
    the message opens with ("no, it's a sports injury"); a "but …" part after a situation
    ("no names, but she's the only one in a wheelchair"); else everything except reasons. An
    opening "yes" or "no" that a "but …" contradicts is two answers: the bot asks again."""
    if changed:
        # "yes - well no actually, it's only s17 …", "no, actually yes, it's just about her,
        # the kids have moved out": the answer where the correction is made, not one in the
        # story after it (`corrected`: the last part that corrects); "at first she said yes,
        # then changed her mind …": the last one
        there = [a for a, part in answers if part is corrected]
        return [there[0] if there else answers[-1][0]]
    first = parts[0]
    leading = [a for a, part in answers if part is first]
    opens = bool(first.tokens) and first.tokens[0] in INTERJECTIONS and interjection
    hedges = [a for a, part in answers if a == UNSURE and not part.reason]
    if weigh_but:
        contrast = [a for a, part in answers if part.contrast]
        if contrast:
            # "not sure, he didn't say it was secret but it's personal": still unsure
            return [*leading, *contrast] if opens else [*contrast, *hedges]
        if opens and leading and len(first.tokens) <= 3 and len(parts) > 1:
            # ("yes for mum, no for dad": another part opening with another answer is a second
            # answer, not a reason)
            again = [
                a for a, part in answers if part is not first and _opens_with_answer(part.tokens)
            ]
            return [*leading, *(a for a in again if a not in leading)]
    firm = [a for a, part in answers if not part.reason]
    return firm or [a for a, _ in answers]


_PARENTS: Final = frozenset(
    {"mum", "mums", "dad", "dads", "mother", "father", "parent", "parents", "stepdad", "stepmum"}
)
# Adults a yes and a no may each be said of ("yes for mum, no for dad"); where the answer is
# about whom to ask or whose wishes count, two such answers are asked about again.
ADULTS_NAMED: Final = _PARENTS | frozenset(
    {"mam", "mom", "husband", "wife", "partner", "boyfriend", "girlfriend", "nan", "gran"}
    | {"grandma", "grandad", "grandmother", "grandfather", "carer", "aunt", "uncle"}
)
SIDE_BY_SIDE: Final = 7  # words in a part that gives one person's answer beside another's
TWO_PEOPLE_ASKED: Final = frozenset({"seeking_consent_safe", "adult_wishes", "public_interest"})
# A negation left hanging at the end of a short part ("Not, …", "I don't, …").
HANGING: Final = frozenset(
    {"not", "dont", "isnt", "wouldnt", "doesnt", "didnt", "cant", "wont", "arent", "wasnt"}
)
HANGING_UP_TO: Final = 3  # words in such a part
_NOW_WORDS: Final = frozenset({"now", "today", "tonight", "currently", "moment"})
_THEN_WORDS: Final = frozenset({"yesterday", "earlier", "before", "last", "ago", "then"})


def _as_of_now(answers: list[tuple[str, _Clause]]) -> list[tuple[str, _Clause]]:
    """At the danger question, "yesterday yes, today no": the part about now decides."""
    current = [(a, part) for a, part in answers if not _NOW_WORDS.isdisjoint(part.tokens)]
    before = any(not _THEN_WORDS.isdisjoint(part.tokens) for _, part in answers)
    return current if current and before and len(current) < len(answers) else answers


def _opens_with_answer(tokens: Sequence[str]) -> bool:
    """The part opens with a one-word answer ("no for dad", "yes"), not a determiner ("no
    grandkids visiting", "no order")."""
    return tokens[:1] != () and tokens[0] in INTERJECTIONS and not _no_as_determiner(tokens, 0)


def _depends_on_meaning(parts: Sequence[_Clause]) -> bool:
    """The answer is made to hang on what the question means ("depends what you mean by
    confidential - it's not secret but it's sensitive"), with no plain answer after it ("…,
    but yes", "…, on balance no")."""
    asked = [k for k, part in enumerate(parts) if DEPENDS_ON_MEANING.match(" ".join(part.tokens))]
    if not asked:
        return False
    return not any(
        part.tokens[:1] != ()
        and (part.tokens[0] in INTERJECTIONS or CHANGED_AT_START.match(" ".join(part.tokens)))
        for part in parts[asked[-1] + 1 :]
    )


def _excepting(parts: Sequence[_Clause], answers: Sequence[tuple[str, _Clause]]) -> list[_Clause]:
    """The parts after an answer that say "but not" someone or something else, with no answer
    of their own ("yes for the older boy, but not the little one"): the answer holds for one
    of two."""
    answered = {id(part) for _, part in answers}
    return [
        part
        for k, part in enumerate(parts)
        if part.contrast
        and part.tokens[:1] == ("not",)
        and part.tokens[1:2] != ()
        and part.tokens[1] in OTHER_PARTY_STARTS
        and id(part) not in answered
        and any(id(p) in answered for p in parts[:k])
    ]


def _excepts_a_part(parts: Sequence[_Clause], answers: Sequence[tuple[str, _Clause]]) -> bool:
    """At the record check, "save" and then an exception that names something ("all correct
    apart from the date", "fine except the purpose"): a part to change, not a save. ("other
    than that it's fine" excepts what was said before it: a change named before it stands.)"""

    def said(answer: str, part: _Clause) -> bool:
        return any(a == answer and p is part for a, p in answers)

    for k, part in enumerate(parts):
        if not part.exception or part.tokens[:1] == ():
            continue
        if part.tokens[0] in ("that", "this"):
            # "change the date, other than that all good": the change stands
            if any(said("edit", p) for p in parts[:k]):
                return True
        elif any(said("save", p) for p in parts[:k]):
            return True
    return False


def _save_then_change(parts: Sequence[_Clause], answers: Sequence[tuple[str, _Clause]]) -> bool:
    """At the record check, "save" said in so many words, and a change asked for after it."""
    place = {id(part): k for k, part in enumerate(parts)}
    saved = [
        place[id(p)] for a, p in answers if a == "save" and not SAVE_WORDS.isdisjoint(p.tokens)
    ]
    return bool(saved) and any(
        a == "edit" and place[id(p)] > min(saved) and "later" not in p.tokens  # "add a note later"
        for a, p in answers
    )


def _before(parts: Sequence[_Clause], part: _Clause) -> tuple[str, ...]:
    """The words of the part just before `part` ("perceived, yes": "perceived")."""
    k = next(i for i, p in enumerate(parts) if p is part)
    return parts[k - 1].tokens if k else ()


def _ends_asking_back(parts: Sequence[_Clause]) -> bool:
    """The last part is a question of its own, opening like one ("is that…", "does it count
    if…", "isn't everything…"), not a tentative answer ("yes?") or a request."""
    last = parts[-1]
    return (
        last.question
        and len(last.tokens) >= 3
        and last.tokens[0] in ASKING_BACK_OPENERS
        and last.tokens[1] in ASKING_BACK_SUBJECTS
    )


def _turned(answer: str) -> str:
    return NO if answer == YES else YES


def _listed_after(tokens: Sequence[str], before: _Found, f: _Found) -> bool:
    """`f` follows `before` as the next item of a list: "warrant or (a) court order"."""
    between = tokens[before.end : f.start]
    return (
        before.answer in POLAR
        and between[:1] in (("or",), ("nor",))
        and len(between) <= 2
        and all(t in ("or", "nor", "a", "an", "any") for t in between)
    )


def _two_people(answers: Sequence[tuple[str, _Clause]]) -> bool:
    """A yes and a no side by side, each in a short part naming an adult, not the same ones
    ("safe to ask her yes, safe to ask her husband definitely not", "mum yes, dad no").
    Children named are those at risk, not those asked ("safe for her but not for the kids");
    a longer part weighs a reason ("I know dad can be aggressive but it's safe to ask mum")."""
    named: dict[str, list[frozenset[str]]] = {YES: [], NO: []}
    for answer, part in answers:
        if answer not in named or len(part.tokens) > SIDE_BY_SIDE:
            continue
        asked = {b for a, b in zip(part.tokens, part.tokens[1:], strict=False) if a == "ask"}
        who = ADULTS_NAMED.intersection(part.tokens) | (asked & {"her", "him"})
        if who:
            named[answer].append(frozenset(who))
    return any(a != b for a in named[YES] for b in named[NO])


def _offers_two(answers: Sequence[tuple[str, _Clause]]) -> bool:
    """A part opening "or" and an answer that differs from the one before it ("no? or yes")."""
    return any(
        part.tokens[:1] == ("or",)
        and part.tokens[1:2] != ()
        and part.tokens[1] in INTERJECTIONS
        and answers[k - 1][1] is not part
        and answers[k - 1][0] != answer
        for k, (answer, part) in enumerate(answers)
        if k > 0
    )


def asks_back(text: str) -> bool:
    """The message is a question back ("what happens to it once it's saved?"), or holds one
    asking who, what or how ("I'm not sure, who will see it once it's saved?") — not a request
    to change a part ("could you change the purpose?")."""
    parts = [part for part in clauses(text) if part.tokens]
    asks = [part for part in parts if part.question and not _asks_to_change(part.tokens)]
    return bool(parts) and (
        len(asks) == len(parts)
        # ("with whom" names a part of the record: "change with whom, it went to PPU")
        or any(not (WH_WORDS - {"whom"}).isdisjoint(part.tokens) for part in asks)
    )


def _asks_to_change(tokens: Sequence[str]) -> bool:
    """ "could you change the purpose?", "can I add to the reasons?": a request, not a question
    back ("could you tell me who sees it?" asks)."""
    return _requests(tokens) and tokens[2:3] not in (("tell",), ("explain",), ("say",), ("show",))
