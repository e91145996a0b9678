"""One full decision dialog's core processing, no network and no store: the pure step."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from bot.core.conversation import Conversation
from bot.core.replies import Inbound
from bot.dialogs.state import DialogState
from bot.knowledge import load_knowledge
from bot.knowledge.lookup import Knowledge
from bot.settings import Settings

SCRIPT: list[tuple[str | None, tuple[str, str] | None]] = [
    ("can I share", None),
    (None, ("immediate_danger", "no")),
    ("nope", None),
    (None, ("legitimate_purpose", "yes")),
    ("yes", None),
    ("not sure", None),
    (None, ("risk_of_harm", "unsure")),
    (None, ("person", "child_12_15")),
    ("haven't asked yet", None),
    (None, ("seeking_consent_safe", "yes")),
]


def run_dialog(conversation: Conversation) -> int:
    state = DialogState()
    now = datetime.now(UTC)
    for text, choice in SCRIPT:
        inbound = Inbound("bench", "u", "console", now, text=text, choice=choice)
        turn = conversation.step(DialogState.from_json(state.to_json()), inbound)
        state = turn.state
    assert state.outcome == "ask_consent", state
    return len(SCRIPT)


def main() -> dict[str, str]:
    conversation = Conversation.build(Knowledge.build(load_knowledge(), Settings().model_cache))
    run_dialog(conversation)  # warm caches
    per_turn = []
    for _ in range(300):
        t = time.perf_counter()
        turns = run_dialog(conversation)
        per_turn.append((time.perf_counter() - t) * 1000 / turns)
    per_turn.sort()
    p50 = statistics.median(per_turn)
    p99 = per_turn[int(len(per_turn) * 0.99)]
    result = {
        "dialog core, per turn (state JSON round trip included)": f"p50 {p50:.3f} ms, "
        f"p99 {p99:.3f} ms over {len(SCRIPT)}-turn dialogs"
    }
    for k, v in result.items():
        print(f"{k}: {v}")
    return result


if __name__ == "__main__":
    main()
