"""Hostile input for the HTTP endpoints: strategies for garbage, payload mutation, and the
checks every hostile request must pass (no 5xx, no crash logged, nobody else's state touched)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from bot.records.store import Delivery
from bot.service import Bot

# Every property runs against a live server; examples are few and deadlines off (set
# CANISHARE_FUZZ_EXAMPLES to search harder locally).
FUZZ = settings(
    max_examples=int(os.environ.get("CANISHARE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    # no "explain" phase: it varies st.data() draws in ways that read as flaky generation
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

# Characters that break naive code: controls, bidi overrides, zero-width joiners, BOM, line
# separators, astral emoji, combining marks, lone surrogates (escaped in JSON), Slack and
# Teams markup, format strings and SQL.
ODD = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\u0085",
    "\u202e",
    "\u200f",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\U0001f600",
    "👩\u200d👩\u200d👧",
    "e\u0301\u0301\u0301",
    "مرحبا",
    "שלום",
    "\U0010ffff",
    "\ufffd",
    "\ud800",
    "\udfff",
    "\r\n",
    "\t",
    "<!channel>",
    "<@U0USER001>",
    "&amp;&lt;",
    "<at>Can I share?</at>",
    "*bold* _it_ ```code```",
    "%s %n {0} ${x} {{x}}",
    "'; DROP TABLE records;--",
    "../../etc/passwd",
    "null",
    "NaN",
]
odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=12)), max_size=10).map("".join)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value (not the root itself)."""
    if isinstance(value, dict):
        items: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated(
    draw: st.DrawFn, base: dict[str, Any], frozen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """`base` with one to three fields deleted, replaced by any JSON value (wrong types, null,
    odd text) or given unknown siblings; top-level keys in `frozen` are left alone."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = [p for p in paths(data) if p[0] not in frozen]
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent, key = at(data, path[:-1]), path[-1]
        operation = draw(st.sampled_from(["delete", "replace", "replace", "add"]))
        if operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(parent[key], dict):
            parent[key][draw(odd_text)] = draw(json_values)
        else:
            parent[key] = draw(json_values)
    return data


def lone_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def utf8(text: str) -> bytes:
    """Text as bytes on the wire; lone surrogates go through as the invalid bytes they are."""
    return text.encode("utf-8", "surrogatepass")


def slack_signature(body: bytes, timestamp: str, secret: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------- what must not change
@dataclass(frozen=True)
class Snapshot:
    """Everything a hostile request must leave alone."""

    states: dict[str, tuple[str | None, int]]
    records: list[dict[str, Any]]
    outbox: list[Delivery]
    kv: dict[str, str | None]


async def snapshot(bot: Bot, keys: list[str], kv: tuple[str, ...] = ()) -> Snapshot:
    store = bot.store
    return Snapshot(
        states={k: await store.load_state(k) for k in keys},
        records=await store.records(),
        outbox=await store.deliveries(),
        kv={k: await store.kv_get(k) for k in kv},
    )


async def assert_unchanged(bot: Bot, before: Snapshot) -> None:
    after = await snapshot(bot, list(before.states), tuple(before.kv))
    assert after.states == before.states, "someone's dialog state changed"
    assert after.records == before.records, "records changed"
    assert after.outbox == before.outbox, "the outbox changed"
    assert after.kv == before.kv, "a stored conversation reference changed"


class CrashLog(logging.Handler):
    """Collects every error logged with a traceback: an exception nobody expected."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.crashes: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is not None and record.exc_info[0] is not None:
            self.crashes.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()} ({r.exc_info!r})" for r in self.crashes]
        self.crashes.clear()
        return found

    def __enter__(self) -> CrashLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger().removeHandler(self)


POLITE_NEVER = ("Traceback", "Exception", "KeyError", "TypeError", "AttributeError")


def impolite(texts: list[str]) -> list[str]:
    """Replies that leak internals instead of speaking to a person."""
    return [t for t in texts if any(word in t for word in POLITE_NEVER)]
