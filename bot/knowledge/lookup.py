"""One question in, one routed answer out: danger now first, then the best entry, else none.

Three signals decide, each built from the knowledge base at start-up (or loaded from a cache
named by the knowledge version):

- a **danger model** (logistic regression over words, word pairs and triples, characters and
  time cues) trained on the emergency examples against every other phrasing, including stories
  of past harm; with the emergency wording (`emergency_signals.yaml`) and closeness to the
  examples (BM25) beside it, and denial and time (`signals.yaml`) weighed;
- an **intent model** (logistic regression over word and character n-grams) over every entry
  plus `none` (the out-of-scope examples), with calibrated probabilities;
- the **BM25 search** over the authored phrasings, fused with the intent model.

See design.md, "Understanding what people type", for the rules this implements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.classify import (
    Block,
    LinearTextModel,
    labelled,
    share_lookups,
    trained_or_cached,
)
from bot.knowledge.classify import Settings as ModelSettings
from bot.knowledge.emergency import EmergencyCheck
from bot.knowledge.features import FEATURES_VERSION, Features
from bot.knowledge.search import (
    EMERGENCY,
    EXAMPLE_CLASSES,
    OUT_OF_SCOPE,
    Lookup,
    Match,
    SearchIndex,
)
from bot.knowledge.signals import Signals, TimeSense
from bot.knowledge.text import fold

log = logging.getLogger("canishare.knowledge")

MAX_ALTERNATIVES: Final = 3
ALTERNATIVE_FLOOR: Final = 0.02  # alternatives shown: at least this probable
BM25_WEIGHT: Final = 0.2  # share of the BM25 ranking in the fused probabilities
# Confident: the best answer is this probable, and this far ahead of the next one.
CONFIDENT_PROBABILITY: Final = 0.4
CONFIDENT_MARGIN: Final = 0.15
# Danger now, from P(danger) of the danger model and the other evidence. Tuned on the
# development sets, each left out of training in turn (benchmarks/search_eval.py, NOTES.md):
DANGER_SURE: Final = 0.8  # enough on its own, in a message of MODEL_ALONE_WORDS or more
MODEL_ALONE_WORDS: Final = 8
DANGER_ALONE: Final = 0.6  # enough for a message that describes harm, or with other evidence
DANGER_WITH_EVIDENCE: Final = 0.25  # enough with emergency wording, or a close example and now
DANGER_EXAMPLE: Final = 0.5  # enough with a close example and no other sign
DANGER_HARM_NOW: Final = 0.2  # enough for harm described with a sign it is now or today
DANGER_MIXED: Final = 0.5  # harm in the past and a sign of now: with wording or an example
DANGER_OVER: Final = 0.9  # needed when the message says it is over, or denies danger
DANGER_ENDED: Final = 0.995  # harm in the past that the message says has ended, and no sign of now
DANGER_NOTE: Final = 0.2  # below "now", for harm: the answer starts with a one-line safety note
COMMON_WORD_COUNT: Final = 3  # uses in the phrasings that make a word everyday, not a typo
DANGER_CERTAIN: Final = 0.9  # with emergency wording but no sign of time, in a typed answer
# A message at least this close to an emergency example (BM25 score) counts as evidence.
EMERGENCY_EXAMPLE_FLOOR: Final = 4.0
CASE_STORY_WORDS: Final = 12
MAX_INTENT_CLASSES: Final = 300  # beyond this the intent model is not trained (BM25 alone)
INTENT_SETTINGS: Final = ModelSettings(c=30.0)
DANGER_SETTINGS: Final = ModelSettings(c=10.0, class_weight="balanced")
DANGER: Final = "danger"
SAFE: Final = "other"


@dataclass(frozen=True, slots=True)
class Danger:
    """How a message stands on danger now, and why (for tests and the benchmark's misses)."""

    now: bool
    maybe: bool
    probability: float
    wording: bool
    example: bool
    time: TimeSense
    decisive: bool = False

    @property
    def beyond_doubt(self) -> bool:
        """Danger now even in a typed answer to a question ("no, but he's outside with a knife
        right now"): emergency wording, not denied, with a sign it is now or the model all but
        certain. Without the wording, an answer is taken as the answer it gives."""
        # a denial ("she's ok here") is blanked before wording and time are read: danger
        # still said to be now in what is left ("but he's going to hurt her mum tonight") is
        # beyond doubt — unless the story also has a past, where the wording may belong
        # ("he threatened to kill himself last year … he's on site today and fine")
        if not (self.now and self.wording):
            return False
        if self.time.denied:
            return self.time.now and not self.time.past
        return self.time.now or self.probability >= DANGER_CERTAIN

    @property
    def said_to_be_now(self) -> bool:
        """Danger now with a sign in the words that it is now, or wording that settles it,
        or the model all but certain beside emergency wording or a close example — not the
        model's word alone on a story ("the stepdad is the one abusing him")."""
        # (danger beyond doubt is always one of these: wording with a sign of now, or with
        # the model all but certain)
        return self.now and (
            self.time.now
            or self.decisive
            or (self.probability >= DANGER_CERTAIN and (self.wording or self.example))
        )

    @property
    def told_as_now(self) -> bool:
        """Without emergency wording, still danger now in a typed answer that gives no answer
        of its own ("his uncle is waiting at the gate now and he's too scared to go"): close
        to an emergency example, said to be now, not denied, and the model all but certain."""
        return (
            self.now
            and self.example
            and self.time.now
            and not self.time.denied
            and self.probability >= DANGER_CERTAIN
        )


@dataclass(frozen=True)
class Knowledge:
    """The knowledge base with its search index, signals and classifiers, ready to answer."""

    kb: KnowledgeBase
    index: SearchIndex
    emergency: EmergencyCheck
    signals: Signals
    features: Features
    intents: LinearTextModel | None
    danger: LinearTextModel

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        cache_dir: Path | None = None,
        *,
        check: EmergencyCheck | None = None,
    ) -> Knowledge:
        """Build everything from the knowledge base; models come from `cache_dir` when they
        were trained on exactly this knowledge before (else they are trained, ~2 s)."""
        check = check or EmergencyCheck.load()
        signals = Signals.load()
        index = SearchIndex.from_knowledge(kb, check.examples, cache_dir)
        features = Features(index.speller.fix, index.phrases, signals)
        extra = f"{kb.version}|{FEATURES_VERSION}"
        texts, labels = intent_examples(kb)
        intents = None
        if len(set(labels)) <= MAX_INTENT_CLASSES:
            intents = trained_or_cached(
                "intents",
                lambda: (texts, labels),
                labelled(texts, labels),
                intent_blocks(features),
                INTENT_SETTINGS,
                cache_dir,
                extra,
            )
        danger = trained_or_cached(
            "danger",
            lambda: danger_examples(kb, check.examples, signals, check),
            danger_inputs(kb, check, signals),
            danger_blocks(features),
            DANGER_SETTINGS,
            cache_dir,
            extra,
        )
        if intents is not None:
            share_lookups([intents, danger], "chars")
        return cls(kb, index, check, signals, features, intents, danger)

    # ------------------------------------------------------------------ danger
    def assess(self, text: str, ranked: Sequence[Match] | None = None) -> Danger:
        """Whether `text` describes danger now (or might), weighing wording, examples, the
        danger model, and what the message says about time and denial."""
        folded = fold(text)
        time = self.signals.time(folded)
        undenied = self.signals.without_denials(folded)
        fixed = " ".join(self.index.speller.fix(w) for w in undenied.split())
        wording = bool(undenied.strip()) and self.emergency(undenied, fixed)
        decisive = wording and (self.emergency.decisive(undenied) or self.emergency.decisive(fixed))
        if ranked is None:
            ranked = self.index.rank(text)
        closest = max((m.score for m in ranked if m.id == EMERGENCY), default=0.0)
        best_entry = max((m.score for m in ranked if m.id not in EXAMPLE_CLASSES), default=0.0)
        example = _raw(closest) >= EMERGENCY_EXAMPLE_FLOOR and closest >= best_entry
        p = self.danger.probabilities(text)[DANGER] if folded else 0.0
        evidence = wording or example
        harm = self.signals.describes_harm(folded)
        if time.denied and time.past and not time.now:
            # "last month … police found her and she's safe": it happened, and it ended
            now = p >= DANGER_ENDED
        elif time.denied:  # "he's not in danger right now": only new wording of danger now counts
            now = p >= DANGER_OVER or (wording and time.now and p >= DANGER_WITH_EVIDENCE)
        elif time.over:  # "last year", "when she was little": the story is in the past
            now = p >= DANGER_OVER or (wording and p >= DANGER_ALONE)
        elif time.past:  # "he hit her last year — and he's outside now"
            now = decisive or p >= DANGER_SURE or (evidence and p >= DANGER_MIXED)
        else:
            # the model alone decides only on a message long enough to tell a situation: on a
            # few words with no harm, wording, example or time ("mum and the baby", "he just
            # walked out of the meeting") it is a safety note, not the emergency route
            words = len(folded.split())
            told, story = words >= MODEL_ALONE_WORDS, words >= CASE_STORY_WORDS
            now = (
                decisive
                or (p >= DANGER_SURE and (told or harm or evidence or time.now))
                or (p >= DANGER_ALONE and (harm or evidence))
                or (wording and p >= DANGER_WITH_EVIDENCE)
                # a long story close to an emergency example shares its words, not always its
                # danger: there the example alone needs the model's word, or a sign it is now
                or (
                    example
                    and p >= (DANGER_EXAMPLE if story and not time.strong else DANGER_WITH_EVIDENCE)
                )
                # ("today" alone dates what was seen: "bruises today, she explained them")
                or (time.strong and harm and p >= DANGER_HARM_NOW)
            )
        # a safety note where danger now is possible but not clear — not where it was denied
        maybe = not now and (
            wording
            if time.denied
            else evidence
            or p >= DANGER_SURE
            or (harm and p >= DANGER_NOTE)
            or self.signals.fears_if_told(folded)
        )
        return Danger(now, maybe, p, wording, example, time, decisive)

    @property
    def common_words(self) -> frozenset[str]:
        """Words the knowledge base's phrasings use often: everyday words, not typos."""
        vocabulary = self.index.speller.vocabulary
        return frozenset(w for w, n in vocabulary.items() if n >= COMMON_WORD_COUNT)

    def is_emergency(self, text: str) -> bool:
        """Danger now, judged on this message alone (also run on typed answers to questions)."""
        return self.assess(text).now

    # ------------------------------------------------------------------ routing
    def ask(self, text: str) -> Lookup:
        """Route a question: `emergency` when someone may be in danger now, else the best myth
        or topic (with how sure the bot is), else `none` — but never `none` for harm."""
        folded = fold(text)
        if not folded:
            return Lookup("none", None, 0.0)
        ranked = self.index.rank(text, limit=12)
        danger = self.assess(text, ranked)
        probabilities = self.fused(text, ranked)
        entries = sorted(
            (i for i in probabilities if i != OUT_OF_SCOPE and i in self.kb.entries),
            key=probabilities.__getitem__,
            reverse=True,
        )
        alternatives = tuple(
            Match(i, round(probabilities[i], 4))
            for i in entries
            if probabilities[i] >= ALTERNATIVE_FLOOR
        )
        if danger.now:
            return Lookup("emergency", self.kb.entries[EMERGENCY], 1.0, alternatives[:2])
        harm = danger.wording or self.signals.describes_harm(folded)
        none = probabilities.get(OUT_OF_SCOPE, 0.0)
        best = entries[0] if entries else None
        if best is None or (not harm and none >= probabilities[best]):
            return Lookup(
                "none",
                None,
                round(none, 4),
                alternatives[:MAX_ALTERNATIVES],
                safety_note=danger.maybe,
            )
        p = probabilities[best]
        runner_up = probabilities[entries[1]] if len(entries) > 1 else 0.0
        entry = self.kb.entries[best]
        others = tuple(m for m in alternatives if m.id != best)[:MAX_ALTERNATIVES]
        return Lookup(
            entry.kind,
            entry,
            round(p, 4),
            others,
            confident=p >= CONFIDENT_PROBABILITY and p - runner_up >= CONFIDENT_MARGIN,
            safety_note=danger.maybe,
            case_story=harm
            and self.signals.asks_about_sharing(folded)
            and len(folded.split()) >= CASE_STORY_WORDS,
        )

    def fused(self, text: str, ranked: Sequence[Match]) -> dict[str, float]:
        """P(answer | text) over the entries and `none`: the intent model, with the BM25
        ranking mixed in (alone when there is no intent model)."""
        bm25 = {m.id: m.score for m in ranked if m.id != EMERGENCY}
        total = sum(bm25.values())
        search = {k: v / total for k, v in bm25.items()} if total else {}
        if self.intents is None:
            return search or {OUT_OF_SCOPE: 1.0}
        model = self.intents.probabilities(text)
        return {
            k: (1 - BM25_WEIGHT) * v + BM25_WEIGHT * search.get(k, 0.0) for k, v in model.items()
        }


def intent_examples(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """(text, answer id) pairs: every entry's title and phrasings, and the out-of-scope list."""
    texts: list[str] = []
    labels: list[str] = []
    for entry in kb.entries.values():
        if entry.kind == "emergency":
            continue
        for text in (entry.title, *entry.phrasings):
            texts.append(text)
            labels.append(entry.id)
    texts.extend(kb.out_of_scope)
    labels.extend([OUT_OF_SCOPE] * len(kb.out_of_scope))
    return texts, labels


def danger_examples(
    kb: KnowledgeBase,
    examples: Sequence[str],
    signals: Signals | None = None,
    check: EmergencyCheck | None = None,
) -> tuple[list[str], list[str]]:
    """Danger now (the emergency examples and phrasings) against everything else: questions,
    stories of past or denied harm (entry phrasings), out-of-scope messages, and the short
    answers people type to the dialog's questions ("her mum", "he agreed this morning"), so
    that a short statement is not taken for an emergency just for being one."""
    danger = [*kb.entries[EMERGENCY].phrasings, *examples]
    texts, _ = intent_examples(kb)
    texts.extend(typed_answers(kb, signals, check))
    return [*danger, *texts], [DANGER] * len(danger) + [SAFE] * len(texts)


def danger_inputs(kb: KnowledgeBase, check: EmergencyCheck, signals: Signals) -> Iterator[str]:
    """Everything `danger_examples` makes the danger model's training set from, cheaply: the
    model's cache name is made from these, so a start with a cached model never runs the
    emergency check over every answer phrase."""
    yield from (f"danger\t{t}" for t in (*kb.entries[EMERGENCY].phrasings, *check.examples))
    yield from labelled(*intent_examples(kb))
    yield from (f"answer\t{g}\t{a}\t{t}" for g, a, t in answer_phrases(kb))
    yield f"check\t{check.key}"
    yield f"signals\t{signals.key}"


def typed_answers(
    kb: KnowledgeBase, signals: Signals | None = None, check: EmergencyCheck | None = None
) -> list[str]:
    """The dialog's answer phrases (answers.yaml) that say nothing of harm or danger: the
    "yes" answers to the danger question are left out, and so is any phrase with words of harm
    ("self harm", "being abused") or of emergency, which must not teach that those are safe."""
    phrases: list[str] = []
    for group, answer, text in answer_phrases(kb):
        if group == "immediate_danger" and answer == "yes":
            continue
        folded = fold(text)
        if len(folded) <= 2:
            continue
        if signals is not None and signals.describes_harm(folded):
            continue
        if check is not None and check(folded):
            continue
        phrases.append(text)
    return phrases


def answer_phrases(kb: KnowledgeBase) -> Iterator[tuple[str, str, str]]:
    """(group, answer id, phrase) for every phrase list of answers.yaml, in the file's order;
    settings such as `dominant` are mappings too, but not phrase lists."""
    for group, answers in (kb.words.get("answers") or {}).items():
        if isinstance(answers, dict):
            for answer, texts in answers.items():
                if isinstance(texts, list):
                    yield from ((str(group), str(answer), str(t)) for t in texts)


def intent_blocks(features: Features) -> list[Block]:
    return [Block("words", features.word_grams), Block("chars", features.char_grams, 1.5)]


def danger_blocks(features: Features) -> list[Block]:
    return [Block("words", features.danger_grams), Block("chars", features.char_grams)]


def _raw(confidence: float) -> float:
    """Undo the squashing of a BM25 confidence back to its score, to compare it with a floor."""
    return confidence / (1 - confidence) if confidence < 1 else float("inf")


def lookup_json(result: Lookup, kb: KnowledgeBase, menu_text: str) -> dict[str, Any]:
    """The `canishare ask --json` contract."""
    entry = result.entry
    alternatives = [
        {"id": m.id, "title": kb.entries[m.id].title, "score": m.score}
        for m in result.alternatives
        if m.id in kb.entries
    ]
    if entry is None:
        return {
            "kind": "none",
            "id": None,
            "title": "I can only help with sharing safeguarding information",
            "verdict": None,
            "answer": menu_text,
            "sources": [],
            "score": result.score,
            "alternatives": alternatives,
        }
    return {
        "kind": result.kind,
        "id": entry.id,
        "title": entry.title,
        "verdict": entry.verdict,
        "answer": entry.answer,
        "sources": [{"title": s.title, "section": s.section} for s in entry.sources],
        "score": result.score,
        "alternatives": alternatives,
    }
