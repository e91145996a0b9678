"""Ways through the decision used in several tests (answers by question id)."""

from __future__ import annotations

import json
from typing import Any

from tests.channels.slack.conftest import SlackHarness

TO_SHARE_WITH_CONSENT = (
    ("menu", "start"),
    ("immediate_danger", "no"),
    ("legal_duty", "no"),
    ("legitimate_purpose", "yes"),
    ("identifiable", "yes"),
    ("confidential", "yes"),
    ("risk_of_harm", "no"),
    ("person", "skip"),
    ("consent", "given"),
)
TO_SHARE_WITHOUT_CONSENT = (
    *TO_SHARE_WITH_CONSENT[:-1],
    ("consent", "refused"),
    ("public_interest", "yes"),
)
TO_SEEK_ADVICE = (
    *TO_SHARE_WITH_CONSENT[:-1],
    ("consent", "refused"),
    ("public_interest", "unsure"),
)


def values(button: dict[str, Any]) -> tuple[str, str]:
    data = json.loads(button["value"])
    return data["q"], data["a"]


async def click_through(slack: SlackHarness, path: tuple[tuple[str, str], ...]) -> None:
    """Click each answer, checking it was offered as a button on the bot's last DM."""
    for q, a in path:
        if (q, a) != ("menu", "start"):
            offered = [values(b) for b in slack.last_dm_buttons()]
            assert (q, a) in offered, f"{q}={a} not offered; buttons were {offered}"
        status, _ = await slack.click(q, a)
        assert status == 200


def good_record(**changes: str) -> dict[str, str]:
    return {
        "case_reference": "CP-2026-0412",
        "what": "Concerns raised at school this week and the child's account",
        "with_whom": "Children's social care, duty social worker",
        "purpose": "So social care can assess the risk at home",
        "lawful_basis": "public_task",
        "special_category": "none",
        "reasons": "Consent was given and sharing is needed to protect the child",
        **changes,
    }
