"""How well the bot understands what people type, on the evaluation sets in tests/eval/.

Every measure of issue 10, per set and for the held-out sets together:

- in-scope answer right first time (top-1), and among the answer and its alternatives (top-3);
- danger-now messages routed to the emergency guidance;
- past-harm or "not in danger" messages sent to the emergency route;
- out-of-scope messages answered `none`; in-scope or harm-describing messages answered `none`;
- the false emergency rate (anything not danger-now sent to the emergency route);
- confident wrong answers (answered without "Did you mean…" and wrong);
- typed answers to the dialog's questions understood, and misread — through the real dialog
  (`Conversation.step` at that question), so the emergency check, the parser and the dialog's
  own re-asking all count as a person would meet them.

`tests/eval/sets.yaml` says how each set was made and used. Held-out sets are for reporting:
`--show-misses` refuses them, so their messages are never read while tuning.

    .venv/bin/python -m benchmarks.search_eval                 # every set
    .venv/bin/python -m benchmarks.search_eval dev-a --show-misses
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.app import build_core
from bot.core.conversation import Conversation
from bot.core.effects import SaveRecord
from bot.core.replies import Inbound, ReplyKind
from bot.dialogs.flow import EMERGENCY
from bot.dialogs.state import CONFIRM, OUTCOME, WHICH_PART, DialogState, ask_step, record_step
from bot.knowledge.lookup import Knowledge
from bot.settings import load_settings

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"
SETS = yaml.safe_load((EVAL / "sets.yaml").read_text(encoding="utf-8"))
# routing sets, then the sets that hold only typed answers
TRAINING: tuple[str, ...] = tuple(dict.fromkeys([*SETS["training"], *SETS["answers"]["training"]]))
HELD_OUT: tuple[str, ...] = tuple(dict.fromkeys([*SETS["held_out"], *SETS["answers"]["held_out"]]))
NEW_HELD_OUT = ("heldout-c", "heldout-d")  # written for issue 10; `heldout` is the older one


# ---------------------------------------------------------------------- routing
def routing_counts(
    knowledge: Knowledge, items: Sequence[Mapping[str, Any]], misses: list[str]
) -> Counter[str]:
    c: Counter[str] = Counter()
    for item in items:
        text, group = str(item["text"]), str(item["group"])
        ok = {str(item["expect"]), *(str(a) for a in item.get("also") or [])}
        found = knowledge.ask(text)
        got = found.kind if found.kind in ("none", "emergency") else found.entry.id  # type: ignore[union-attr]
        alternatives = [m.id for m in found.alternatives]
        c[group] += 1
        if group == "danger_now":
            c["danger_routed"] += got == "emergency"
        else:
            c["false_emergency"] += got == "emergency"
            c[f"{group}_emergency"] += got == "emergency"
        if group == "out_of_scope":
            c["oos_none"] += got == "none"
        if group in ("in_scope", "past_harm"):
            c["harm_or_in_none"] += got == "none"
            c[f"{group}_top1"] += got in ok
            c[f"{group}_top3"] += got in ok or bool(ok & set(alternatives[:2]))
            c[f"{group}_confident_wrong"] += (
                found.entry is not None and found.confident and got not in ok
            )
        right = got == "emergency" if group == "danger_now" else got in ok
        if not right:
            flags = "".join(
                f for f, on in (("?", not found.confident), ("!", found.safety_note)) if on
            )
            misses.append(f"  {group:<12} {item['expect']!s:<38} got {got:<38}{flags:<3} {text}")
    return c


# ---------------------------------------------------------------------- typed answers
# Where each question is asked: the answers before it on a path that reaches it.
BEFORE: dict[str, tuple[tuple[str, str], ...]] = {}
_PATH = (
    ("immediate_danger", "no"),
    ("legal_duty", "no"),
    ("legitimate_purpose", "yes"),
    ("identifiable", "yes"),
    ("confidential", "yes"),
    ("risk_of_harm", "yes"),
)
for n, (q, _) in enumerate(_PATH):
    BEFORE[q] = _PATH[:n]
BEFORE["person"] = _PATH
BEFORE["adult_wishes"] = (*_PATH, ("person", "adult"))
_NO_RISK = (*_PATH[:-1], ("risk_of_harm", "no"), ("person", "skip"))
BEFORE["consent"] = _NO_RISK
BEFORE["seeking_consent_safe"] = (*_NO_RISK, ("consent", "not_asked"))
BEFORE["public_interest"] = (*_NO_RISK, ("consent", "refused"))
SHARED = (*_PATH, ("person", "child_12_15"))  # → share without consent
DRAFT = {
    "case_reference": "CP-2026-0412",
    "what": "Concerns raised at school this week",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk at home",
}
FULL = {**DRAFT, "lawful_basis": "public_task", "special_category": "none", "reasons": "Risk"}


def state_for(question: str) -> DialogState:
    now = datetime.now(UTC).isoformat()
    if question in BEFORE:
        return DialogState(step=ask_step(question), answers=BEFORE[question], last_active=now)
    decided = DialogState(
        step=OUTCOME,
        answers=SHARED,
        outcome="share_without_consent",
        decided_by="person=child_12_15",
        last_active=now,
    )
    if question in ("lawful_basis", "special_category"):
        record = {
            **DRAFT,
            **({"lawful_basis": "public_task"} if question != "lawful_basis" else {}),
        }
        return decided.with_(step=record_step(question), record=record)
    step = CONFIRM if question == "record_confirm" else WHICH_PART
    return decided.with_(step=step, record=dict(FULL))


def dialog_answer(conversation: Conversation, question: str, text: str) -> str | None:
    """What the dialog took `text` to mean at `question`; None when it asked again."""
    state = state_for(question)
    inbound = Inbound("eval", "eval", "eval", datetime.now(UTC), text=text)
    turn = conversation.step(state, inbound)
    after = turn.state
    if after.outcome == EMERGENCY and state.outcome != EMERGENCY:
        return "yes" if question == "immediate_danger" else EMERGENCY
    if question not in BEFORE and any(r.kind == ReplyKind.EMERGENCY for r in turn.replies):
        # writing up the record, the emergency guidance is shown first and the words are kept
        # as written (the decision is already made): what the person sees is the emergency
        return EMERGENCY
    if question in BEFORE:
        added = after.answers[len(state.answers) :]
        return added[0][1] if added and added[0][0] == question else None
    if question in ("lawful_basis", "special_category"):
        return after.record.get(question)
    if question == "record_confirm":
        if any(isinstance(e, SaveRecord) for e in turn.effects):
            return "save"
        return (
            "edit"
            if after.step == WHICH_PART or (after.step.startswith("rec:") and after.step != CONFIRM)
            else None
        )
    if after.step.startswith("rec:") and after.step not in (CONFIRM, WHICH_PART):
        return after.step[4:]
    return None


def answer_counts(
    conversation: Conversation, items: Sequence[Mapping[str, Any]], misses: list[str]
) -> Counter[str]:
    c: Counter[str] = Counter()
    for item in items:
        question, text, expect = str(item["question"]), str(item["text"]), str(item["expect"])
        got = dialog_answer(conversation, question, text)
        if expect == "unclear":
            c["unclear"] += 1
            c["unclear_asked_again"] += got is None
            c["misread"] += got is not None
        else:
            c["clear"] += 1
            c["understood"] += got == expect
            c["misread"] += got is not None and got != expect
        if got != (None if expect == "unclear" else expect):
            misses.append(f"  {question:<22} {expect:<24} got {got!s:<24} {text}")
    return c


# ---------------------------------------------------------------------- reporting
@dataclass
class Figures:
    routing: Counter[str]
    answers: Counter[str]


def pct(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "n/a"


def describe(f: Figures) -> dict[str, str]:
    r, a = f.routing, f.answers
    harm_in = r["in_scope"] + r["past_harm"]
    not_danger = r["in_scope"] + r["past_harm"] + r["out_of_scope"]
    out = {
        "in-scope top-1": pct(r["in_scope_top1"], r["in_scope"]),
        "in-scope top-3 (answer + alternatives)": pct(r["in_scope_top3"], r["in_scope"]),
        "danger-now routed to the emergency guidance": pct(r["danger_routed"], r["danger_now"]),
        "past-harm / not-in-danger sent to the emergency route": (
            f"{r['past_harm_emergency']} of {r['past_harm']}"
        ),
        "out-of-scope answered none": pct(r["oos_none"], r["out_of_scope"]),
        "in-scope or harm-describing answered none": pct(r["harm_or_in_none"], harm_in),
        "false emergency rate (all not danger-now)": pct(r["false_emergency"], not_danger),
        "in-scope confident and wrong": pct(r["in_scope_confident_wrong"], r["in_scope"]),
        "past-harm stories: top-1 / top-3": " / ".join(
            pct(r[f"past_harm_{k}"], r["past_harm"]) for k in ("top1", "top3")
        ),
    }
    if a["clear"] or a["unclear"]:
        out["typed answers understood"] = pct(a["understood"], a["clear"])
        out["typed answers misread"] = f"{a['misread']} of {a['clear'] + a['unclear']}"
        out["unclear answers asked again"] = pct(a["unclear_asked_again"], a["unclear"])
    return out


def load(kind: str, name: str) -> list[dict[str, Any]]:
    path = EVAL / kind / f"{name}.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["items" if kind == "routing" else "answers"])


def evaluate(conversation: Conversation, name: str, misses: list[str]) -> Figures:
    return Figures(
        routing_counts(conversation.knowledge, load("routing", name), misses),
        answer_counts(conversation, load("answers", name), misses),
    )


def main(argv: Sequence[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("sets", nargs="*", default=[*HELD_OUT, *TRAINING])
    parser.add_argument(
        "--show-misses", action="store_true", help="list misses (training sets only)"
    )
    args = parser.parse_args(argv)
    if args.show_misses and set(args.sets) & set(HELD_OUT):
        parser.error("held-out sets are for reporting only: --show-misses is refused for them")
    conversation = build_core(load_settings(environ={}, dotenv=None)).conversation
    results: dict[str, str] = {}
    held = Figures(Counter(), Counter())
    every = Figures(Counter(), Counter())  # every held-out set asked for, together
    for name in args.sets:
        misses: list[str] = []
        figures = evaluate(conversation, name, misses)
        use = "held out" if name in HELD_OUT else "training (merged)"
        print(f"\n{name} — {use}")
        for measure, value in describe(figures).items():
            print(f"  {measure:<56} {value}")
        if args.show_misses:
            print("\n".join(misses))
        if name in NEW_HELD_OUT:
            held.routing.update(figures.routing)
            held.answers.update(figures.answers)
        if name in HELD_OUT:
            every.routing.update(figures.routing)
            every.answers.update(figures.answers)
            for measure, value in describe(figures).items():
                results[f"{name} (held out): {measure}"] = value
        else:
            results[
                f"{name} (training): top-1 · danger routed · past-harm to emergency · typed"
            ] = compact(figures)
    if held.routing:
        results = {**together(held, "heldout-c + heldout-d", "heldout-c + heldout-d"), **results}
    if every.routing or every.answers:
        names = ", ".join(n for n in args.sets if n in HELD_OUT)
        everything = together(every, f"every held-out set: {names}", "every held-out set together")
        results = {**everything, **results}
    return results


def together(figures: Figures, printed: str, label: str) -> dict[str, str]:
    """Print held-out sets' figures taken together, and return them for the report."""
    print(f"\nheld out together ({printed})")
    out: dict[str, str] = {}
    for measure, value in describe(figures).items():
        print(f"  {measure:<56} {value}")
        out[f"**HELD OUT, {label}**: {measure}"] = value
    return out


def compact(f: Figures) -> str:
    d = describe(f)
    parts = [
        d["in-scope top-1"].split()[0] if f.routing["in_scope"] else "–",
        d["danger-now routed to the emergency guidance"].split()[0]
        if f.routing["danger_now"]
        else "–",
        d["past-harm / not-in-danger sent to the emergency route"]
        if f.routing["past_harm"]
        else "–",
        d["typed answers understood"].split()[0] if "typed answers understood" in d else "–",
    ]
    return " · ".join(parts)


if __name__ == "__main__":
    main(sys.argv[1:])
