"""The cheap raw-body test never lets a lone surrogate past the full check."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.channels.base import may_hold_surrogates, valid_text


@pytest.mark.parametrize(
    "value", ["\ud800", "ok \udfff", {"k\udbff": 1}, ["fine", {"deep": ["\udc00"]}]]
)
def test_a_lone_surrogate_in_json_or_a_form_is_always_flagged(value: object) -> None:
    as_json = json.dumps({"text": value})
    as_form = urlencode({"payload": as_json})

    assert not valid_text(json.loads(as_json))
    assert may_hold_surrogates(as_json)
    assert may_hold_surrogates(as_form)


@pytest.mark.parametrize("text", ["plain", "emoji 😀", "zero\u200bwidth", "rtl \u202e text"])
def test_ordinary_text_skips_the_full_check(text: str) -> None:
    assert not may_hold_surrogates(json.dumps({"text": text}, ensure_ascii=False))
    assert valid_text(json.loads(json.dumps({"text": text})))
