"""Hostile and broken input over real HTTP on 127.0.0.1, for both chat endpoints.

Whatever arrives — malformed JSON or forms, missing fields, wrong types, 100 KB messages,
control characters and odd Unicode, unknown buttons, garbage metadata, replays, requests that
reach for someone else's conversation — gets a 4xx or a polite message, never a 5xx or a
crash in the log, and changes nobody else's dialog state, records or outbox.

A victim (A) is always part-way through a decision with the record form open; the hostile
requests come from someone else (B) or from no one, and A's world is compared before and after.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app import Core, open_store
from bot.channels.base import valid_text
from bot.channels.slack.channel import dm_key, well_formed
from bot.channels.teams.channel import MAX_TEXT_CHARACTERS
from bot.channels.teams.sender import reference_key
from bot.server import build_server
from bot.service import Bot
from bot.settings import load_settings
from tests.channels.hostile import (
    FUZZ,
    CrashLog,
    Snapshot,
    assert_unchanged,
    impolite,
    json_values,
    lone_surrogate,
    mutated,
    odd_text,
    slack_signature,
    snapshot,
    utf8,
)
from tests.channels.slack.conftest import (
    DM,
    LEADS_CHANNEL,
    PAYLOADS,
    RECORD_CHANNEL,
    SECRET,
    USER,
    SlackHarness,
    environment,
    payload,
    start_harness,
)
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record
from tests.channels.teams.conftest import (
    APP_ID,
    GENERAL,
    LEADS,
    PERSONAL,
    PERSONAL_KEY,
    RECORD,
    TENANT,
    Teams,
)
from tests.channels.teams.conftest import payload as teams_payload
from tests.channels.teams.test_personal_chat import GOOD_RECORD as TEAMS_GOOD_RECORD
from tests.channels.teams.test_personal_chat import reach_outcome
from tests.fakes.bf_connector import FakeConnector, loopback_socket
from tests.fakes.slack_api import TEAM, FakeSlack

OTHER = "U0OTHER002"
OTHER_DM = f"D{OTHER}"
VICTIM_KEY = dm_key(TEAM, USER)
RATE_LIMITED = "faster than I can keep up"
_ids = itertools.count(1)


@pytest.fixture
def crashes() -> Iterator[CrashLog]:
    with CrashLog() as log:
        yield log


# ====================================================================== Slack
@dataclass
class SlackScene:
    """A running server, A part-way through a decision with the record form open, and checks."""

    h: SlackHarness
    crashes: CrashLog
    victim_view: dict[str, Any]

    async def before(self) -> tuple[Snapshot, int, int]:
        self.crashes.take()
        fake = self.h.fake
        return await snapshot(self.h.bot, [VICTIM_KEY]), len(fake.posted(DM)), len(fake.calls)

    async def after(self, status: int, seen: tuple[Snapshot, int, int]) -> None:
        before, victim_posts, calls = seen
        await self.h.settle()
        assert status < 500, f"answered {status}"
        assert self.crashes.take() == []
        await assert_unchanged(self.h.bot, before)
        fake = self.h.fake
        assert len(fake.posted(DM)) == victim_posts, "something was posted in A's DM"
        new = fake.calls[calls:]
        assert not [c for c in new if c.params.get("user") == USER], "A was sent an ephemeral"
        assert not [c for c in new if c.params.get("user_id") == USER], "A's home was changed"
        texts = [str(c.params.get("text", "")) for c in new]
        assert impolite(texts) == []

    async def post(
        self,
        body: bytes,
        content_type: str = "application/json",
        *,
        signed: bool = True,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        stamp = timestamp if timestamp is not None else str(int(time.time()))
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp}
        if signed:
            sent["X-Slack-Signature"] = slack_signature(body, stamp, SECRET)
        sent.update(headers or {})
        async with self.h.http.post(self.h.url, data=body, headers=sent) as resp:
            await resp.read()
            return resp.status

    async def send_json(self, data: Any) -> int:
        return await self.post(json.dumps(data).encode())

    async def interact(self, data: Any) -> int:
        form = "payload=" + quote(utf8(json.dumps(data)), safe="")
        return await self.post(form.encode(), "application/x-www-form-urlencoded")


def as_other(data: dict[str, Any]) -> dict[str, Any]:
    """A documented payload, sent by B from B's own DM."""
    text = json.dumps(data).replace(USER, OTHER)
    out: dict[str, Any] = json.loads(text)
    if "event_id" in out:
        out["event_id"] = f"Ev0HOSTILE{next(_ids):06d}"
    return out


async def slack_scene(
    tmp_path: Path,
    core: Core,
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    crashes: CrashLog,
    **env: str,
) -> AsyncIterator[SlackScene]:
    settings = load_settings(environ=environment(fake, tmp_path, **env), dotenv=None)
    harness, runner = await start_harness(settings, core, fake, monkeypatch)
    try:
        await click_through(harness, TO_SHARE_WITH_CONSENT)
        await harness.click("record", "start")
        [view] = [v["view"] for v in fake.views if v["kind"] == "open"]
        assert (await harness.bot.store.load_state(VICTIM_KEY))[1] > 0
        yield SlackScene(harness, crashes, view)
    finally:
        await harness.http.close()
        await runner.cleanup()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def scene(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    crashes: CrashLog,
) -> AsyncIterator[SlackScene]:
    async for s in slack_scene(
        tmp_path, core, fake_slack, monkeypatch, crashes, CANISHARE_RATE_LIMIT="10000"
    ):
        yield s


@pytest.mark.parametrize("name", sorted(p.stem for p in PAYLOADS.glob("*.json")))
def test_slack_the_shape_check_lets_every_documented_payload_through(name: str) -> None:
    data = payload(name)
    if name.startswith("socket_"):
        data = data["payload"]
    assert well_formed(data)
    assert valid_text(data)


# ---------------------------------------------------------------------- unsigned and malformed
raw_bodies = st.one_of(
    st.binary(max_size=300),
    odd_text.map(utf8),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b"",
            b"{",
            b"{not json",
            b"[]",
            b"null",
            b'"just a string"',
            b"payload=",
            b"payload=%7Bnot+json",
            b"payload=%5B%5D",
            b"payload=null",
            b"payload=%22x%22",
            b"payload=%FF%FE",
            b"\xff\xfe\x00{",
            b'{"type": "event_callback"}',
            b'{"type": "event_callback", "event": []}',
            b'{"type": "event_callback", "event": null}',
            b'{"type": "url_verification"}',
            b'{"type": "block_actions", "actions": "x"}',
            b"command=%2Fcanishare",
            b"command=%2Fmyth&text=%FF",
        ]
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json; charset=latin-1",
        "multipart/form-data; boundary=x",
        "",
    ]
)


@FUZZ
@given(body=raw_bodies, content_type=content_types, signature=st.sampled_from(["none", "forged"]))
async def test_slack_unsigned_garbage_is_a_401_and_changes_nothing(
    scene: SlackScene, body: bytes, content_type: str, signature: str
) -> None:
    seen = await scene.before()
    headers = {"X-Slack-Signature": "v0=" + "0" * 64} if signature == "forged" else {}

    status = await scene.post(body, content_type, signed=False, headers=headers)

    assert status == 401
    await scene.after(status, seen)
    assert scene.h.fake.calls[seen[2] :] == []


def nested(depth: int) -> bytes:
    return b'{"type": "event_callback", "event": ' + b'{"x": ' * depth + b"1" + b"}" * depth + b"}"


@FUZZ
@given(body=raw_bodies, content_type=content_types)
@example(body=b"[" * 100_000, content_type="application/json")
@example(body=nested(900), content_type="application/json")
@example(body=nested(5_000), content_type="application/json")
@example(body=b"payload=" + b"%5B" * 20_000, content_type="application/x-www-form-urlencoded")
@example(body=b'{"type": "event_callback", "event": {"type": "message"}}' * 2, content_type="")
async def test_slack_signed_garbage_gets_a_4xx_or_a_quiet_200_never_a_500(
    scene: SlackScene, body: bytes, content_type: str
) -> None:
    seen = await scene.before()

    status = await scene.post(body, content_type)

    await scene.after(status, seen)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP", "gzip, identity"])
async def test_slack_a_compressed_body_is_a_415_even_when_signed(
    scene: SlackScene, encoding: str
) -> None:
    import gzip

    body = gzip.compress(json.dumps(as_other(payload("event_message_im"))).encode())
    seen = await scene.before()

    status = await scene.post(body, headers={"Content-Encoding": encoding})

    assert status == 415
    await scene.after(status, seen)
    assert scene.h.fake.calls[seen[2] :] == []


@pytest.mark.parametrize("stamp", ["", "abc", "9" * 40, "-1", "1e9", "０", "1.5"])
async def test_slack_a_malformed_timestamp_is_a_401(scene: SlackScene, stamp: str) -> None:
    body = json.dumps(as_other(payload("event_message_im"))).encode()
    seen = await scene.before()

    status = await scene.post(body, timestamp=stamp)

    assert status == 401
    await scene.after(status, seen)
    assert scene.h.fake.calls[seen[2] :] == []


# ---------------------------------------------------------------------- mutated documented payloads
EVENTS = ["event_message_im", "event_app_mention", "event_app_home_opened", "event_message_changed"]
BASE_EVENT_ID = "Ev0HOSTILE000000"
FORM_BLOCKS = [  # the record modal's shape, enough for the submission code to read
    {"type": "input", "block_id": "case_reference", "element": {"type": "plain_text_input"}},
    {"type": "input", "block_id": "lawful_basis", "element": {"type": "static_select"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "Why"}},
]


def slack_base(name: str) -> dict[str, Any]:
    """A documented payload from B (fixed, so that examples replay exactly)."""
    data = as_other(payload(name))
    if "event_id" in data:
        data["event_id"] = BASE_EVENT_ID
    if name == "view_submission":
        data["view"].update(
            blocks=FORM_BLOCKS,
            private_metadata=json.dumps({"conversation": VICTIM_KEY, "channel": DM}),
            state={
                "values": {
                    "case_reference": {"value": {"type": "plain_text_input", "value": "CP-1"}},
                    "lawful_basis": {
                        "value": {"type": "static_select", "selected_option": {"value": "x"}}
                    },
                }
            },
        )
    return data


def slack_mutants(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(names).flatmap(lambda name: mutated(slack_base(name)))


def fresh_event_id(body: dict[str, Any]) -> dict[str, Any]:
    """Each example is a new event (a repeated event id is answered with nothing)."""
    if body.get("event_id") == BASE_EVENT_ID:
        body["event_id"] = f"Ev0HOSTILE{next(_ids):06d}"
    return body


def broken(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


@FUZZ
@given(body=slack_mutants(EVENTS))
@example(body=broken(slack_base("event_message_im"), ("event_id",), ["Ev0"]))
@example(body=broken(slack_base("event_message_im"), ("event", "user"), {"id": "U0"}))
@example(body=broken(slack_base("event_message_im"), ("event", "text"), ["hello"]))
@example(body=broken(slack_base("event_message_im"), ("event",), None))
@example(body=broken(slack_base("event_message_im"), ("authorizations",), [None]))
@example(body=broken(slack_base("event_app_mention"), ("event", "thread_ts"), {"x": 1}))
@example(body=broken(slack_base("event_app_home_opened"), ("event", "user"), 5))
@example(body=broken(slack_base("event_message_im"), ("event", "user"), "U\ud800"))
@example(body=broken(slack_base("event_message_im"), ("team_id",), "\udfffT"))
@example(body=broken(slack_base("event_message_im"), ("event_id",), "Ev\ud800"))
@example(body=broken(slack_base("event_message_im"), ("event", "text"), "hi \ud800"))
async def test_slack_mutated_events_are_handled_politely(
    scene: SlackScene, body: dict[str, Any]
) -> None:
    seen = await scene.before()

    status = await scene.send_json(fresh_event_id(body))

    await scene.after(status, seen)


@FUZZ
@given(body=slack_mutants(["block_actions", "view_submission"]))
@example(body=broken(slack_base("block_actions"), ("actions",), []))
@example(body=broken(slack_base("block_actions"), ("actions", 0), None))
@example(body=broken(slack_base("block_actions"), ("actions", 0, "action_id"), 5))
@example(body=broken(slack_base("block_actions"), ("actions", 0, "value"), {"q": "menu"}))
@example(body=broken(slack_base("block_actions"), ("user",), "U0OTHER002"))
@example(body=broken(slack_base("block_actions"), ("channel",), "DU0USER001"))
@example(body=broken(slack_base("block_actions"), ("trigger_id",), ["t"]))
@example(body=broken(slack_base("view_submission"), ("view", "blocks"), [None, 5]))
@example(body=broken(slack_base("view_submission"), ("view", "blocks", 0, "block_id"), None))
@example(body=broken(slack_base("view_submission"), ("view", "state"), "x"))
@example(body=broken(slack_base("view_submission"), ("view", "state", "values"), []))
@example(
    body=broken(
        slack_base("view_submission"),
        ("view", "state", "values", "lawful_basis", "value", "selected_option"),
        "x",
    )
)
@example(body=broken(slack_base("view_submission"), ("view", "private_metadata"), {"a": 1}))
@example(body=broken(slack_base("view_submission"), ("response_urls",), None))
@example(body=broken(slack_base("block_actions"), ("user", "id"), "U\ud800"))
@example(
    body=broken(
        slack_base("block_actions"),
        ("actions", 0, "value"),
        json.dumps({"q": "claim", "a": "\ud800"}),
    )
)
@example(
    body=broken(
        slack_base("block_actions"), ("actions", 0, "value"), json.dumps({"q": "\udc00", "a": "x"})
    )
)
@example(
    body=broken(
        slack_base("view_submission"),
        ("view", "state", "values", "case_reference", "value", "value"),
        "CP-\ud800",
    )
)
async def test_slack_mutated_interactions_are_handled_politely(
    scene: SlackScene, body: dict[str, Any]
) -> None:
    seen = await scene.before()

    status = await scene.interact(body)

    await scene.after(status, seen)


@FUZZ
@given(
    name=st.sampled_from(["command_canishare", "command_myth"]),
    changes=st.dictionaries(
        st.sampled_from(["text", "user_id", "team_id", "channel_id", "user_name", "trigger_id"]),
        st.one_of(odd_text, st.just("")),
        max_size=3,
    ),
    dropped=st.sets(st.sampled_from(["text", "user_id", "team_id", "command", "trigger_id"])),
)
async def test_slack_mutated_slash_commands_are_handled_politely(
    scene: SlackScene, name: str, changes: dict[str, str], dropped: set[str]
) -> None:
    fields = {k: v for k, v in {**as_other(payload(name)), **changes}.items() if k not in dropped}
    if fields.get("user_id") == USER:
        fields["user_id"] = OTHER
    body = "&".join(f"{quote(utf8(k))}={quote(utf8(str(v)))}" for k, v in fields.items())
    seen = await scene.before()

    status = await scene.post(body.encode(), "application/x-www-form-urlencoded")

    await scene.after(status, seen)


# ---------------------------------------------------------------------- text: odd, huge
@FUZZ
@given(text=odd_text)
@example(text="x" * 100_000)
@example(text="\u202e" * 50_000)
@example(text="\ud800 lone \udc00 surrogates")
@example(text="\x00" * 1000)
@example(text="👩\u200d👩\u200d👧" * 10_000)
async def test_slack_any_text_in_a_dm_gets_a_polite_reply(scene: SlackScene, text: str) -> None:
    body = as_other(payload("event_message_im"))
    body["event"]["text"] = text
    seen = await scene.before()
    replies = len(scene.h.fake.posted(OTHER_DM))

    status = await scene.send_json(body)

    await scene.after(status, seen)
    if lone_surrogate(text):  # not Unicode at all: refused whole, nothing answered
        assert status == 400
        assert len(scene.h.fake.posted(OTHER_DM)) == replies
    else:
        assert status == 200
        assert len(scene.h.fake.posted(OTHER_DM)) > replies, "B got no answer"


@FUZZ
@given(text=odd_text, command=st.sampled_from(["command_myth", "command_canishare"]))
@example(text="x" * 100_000, command="command_myth")
async def test_slack_any_text_in_a_command_gets_a_polite_answer(
    scene: SlackScene, text: str, command: str
) -> None:
    fields = as_other(payload(command)) | {"text": text}
    body = "&".join(f"{k}={quote(utf8(str(v)))}" for k, v in fields.items())
    seen = await scene.before()

    status = await scene.post(body.encode(), "application/x-www-form-urlencoded")

    assert status == 200
    await scene.after(status, seen)


# ---------------------------------------------------------------------- buttons and metadata
@FUZZ
@given(
    action_id=st.one_of(st.sampled_from(["choice:0", "choice:99", "claim"]), odd_text),
    value=st.one_of(
        odd_text,
        json_values.map(json.dumps),
        st.builds(
            lambda q, a: json.dumps({"q": q, "a": a}),
            st.one_of(odd_text, st.sampled_from(["menu", "record", "claim", "consent"])),
            st.one_of(odd_text, json_values),
        ),
    ),
)
@example(action_id="choice:0", value='{"q": "no_such_question", "a": "yes"}')
@example(action_id="choice:0", value='{"q": "record", "a": "save"}')
@example(action_id="claim", value='{"q": "claim", "a": "E-does-not-exist"}')
@example(action_id="choice:0", value='{"q": "consent", "a": "given"}')
@example(action_id="no_such_action", value='{"q": "menu", "a": "start"}')
async def test_slack_unknown_buttons_and_values_change_nothing_of_anyone_elses(
    scene: SlackScene, action_id: str, value: str
) -> None:
    data = as_other(payload("block_actions"))
    data["actions"][0].update(action_id=action_id, value=value)
    seen = await scene.before()

    status = await scene.interact(data)

    await scene.after(status, seen)


@FUZZ
@given(metadata=st.one_of(odd_text, json_values.map(json.dumps)))
@example(metadata=json.dumps({"conversation": VICTIM_KEY, "channel": DM}))
@example(metadata=json.dumps({"conversation": dm_key(TEAM, OTHER), "channel": DM}))
@example(metadata=json.dumps({"conversation": [VICTIM_KEY], "channel": {"id": DM}}))
@example(metadata=json.dumps({"conversation": dm_key(TEAM, OTHER), "channel": RECORD_CHANNEL}))
async def test_slack_a_record_form_with_garbage_metadata_touches_no_one_else(
    scene: SlackScene, metadata: str
) -> None:
    """B submits a complete record form carrying any private_metadata (including A's)."""
    data = filled_form(scene.victim_view, good_record(), user=OTHER)
    data["view"]["private_metadata"] = metadata
    seen = await scene.before()

    status = await scene.interact(data)

    await scene.after(status, seen)


def filled_form(view: dict[str, Any], values: dict[str, str], *, user: str) -> dict[str, Any]:
    """A view_submission of the record modal `view`, filled with `values`, sent by `user`."""
    data = payload("view_submission")
    data["user"].update(id=user, username="someone", name="someone")
    data["view"].update(
        blocks=view["blocks"],
        private_metadata=view["private_metadata"],
        callback_id=view["callback_id"],
    )
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        if element["type"] == "static_select":
            chosen = values.get(block["block_id"]) or (element.get("initial_option") or {}).get(
                "value"
            )
            option = next((o for o in element["options"] if o["value"] == chosen), None)
            state[block["block_id"]] = {
                "value": {"type": "static_select", "selected_option": option}
            }
        else:
            value = values.get(block["block_id"], element.get("initial_value", ""))
            state[block["block_id"]] = {"value": {"type": "plain_text_input", "value": value}}
    data["view"]["state"] = {"values": state}
    return data


# ---------------------------------------------------------------------- someone else's conversation
async def other_opens_the_record_form(scene: SlackScene) -> dict[str, Any]:
    """B works through a decision of their own to the record form; returns B's modal."""
    for q, a in (*TO_SHARE_WITH_CONSENT, ("record", "start")):
        status, _ = await scene.h.click(q, a, user=OTHER, name="bo.other", channel=OTHER_DM)
        assert status == 200
    view: dict[str, Any] = [v for v in scene.h.fake.views if v["kind"] == "open"][-1]["view"]
    assert json.loads(view["private_metadata"])["conversation"] == dm_key(TEAM, OTHER)
    return view


async def test_slack_a_record_form_naming_someone_elses_dm_posts_nothing_there(
    scene: SlackScene,
) -> None:
    """B's own form, whose metadata points the confirmation at A's DM: B's record is saved, and
    everything about it goes to B; nothing appears in A's DM and A's dialog is untouched."""
    view = await other_opens_the_record_form(scene)
    data = filled_form(view, good_record(case_reference="CP-OTHER-1"), user=OTHER)
    data["view"]["private_metadata"] = json.dumps(
        {"conversation": dm_key(TEAM, OTHER), "channel": DM}
    )
    victim_state = await scene.h.bot.store.load_state(VICTIM_KEY)
    victim_posts = len(scene.h.fake.posted(DM))
    scene.crashes.take()

    status = await scene.interact(data)
    await scene.h.settle()

    assert status == 200
    assert scene.crashes.take() == []
    [record] = await scene.h.bot.store.records("decision")
    assert record["practitioner"] == OTHER
    assert await scene.h.bot.store.load_state(VICTIM_KEY) == victim_state
    assert len(scene.h.fake.posted(DM)) == victim_posts
    assert any("CP-OTHER-1" in t for t in scene.h.fake.texts(OTHER_DM))


async def test_slack_submitting_someone_elses_open_form_saves_nothing_for_them(
    scene: SlackScene,
) -> None:
    """B replays A's modal (A's metadata, A's view) filled in: A's form stays open, no record."""
    seen = await scene.before()
    data = filled_form(scene.victim_view, good_record(), user=OTHER)

    status = await scene.interact(data)

    await scene.after(status, seen)
    assert await scene.h.bot.store.records() == []


@pytest.mark.parametrize("action", ["choice:0", "claim"])
async def test_slack_a_click_from_someone_else_in_a_dm_acts_only_for_them(
    scene: SlackScene, action: str
) -> None:
    """A block_actions from B that claims to come from A's DM (container and channel)."""
    data = as_other(payload("block_actions"))
    data["container"]["channel_id"] = DM
    data["channel"] = {"id": DM, "name": "directmessage"}
    value = {"q": "consent", "a": "given"} if action != "claim" else {"q": "claim", "a": "E-1"}
    data["actions"][0].update(action_id=action, value=json.dumps(value))
    seen = await scene.before()

    status = await scene.interact(data)

    assert status == 200
    await scene.after(status, seen)


# ---------------------------------------------------------------------- replays
async def test_slack_a_replayed_signed_event_is_answered_once(scene: SlackScene) -> None:
    body = as_other(payload("event_message_im"))
    body["event"]["text"] = "can I share"
    raw, stamp = json.dumps(body).encode(), str(int(time.time()))
    seen = await scene.before()

    statuses = [await scene.post(raw, timestamp=stamp) for _ in range(5)]
    statuses += await asyncio.gather(*(scene.post(raw, timestamp=stamp) for _ in range(5)))

    assert statuses == [200] * 10
    await scene.after(200, seen)
    assert len(scene.h.fake.posted(OTHER_DM)) == 1
    assert (await scene.h.bot.store.load_state(dm_key(TEAM, OTHER)))[1] == 1


async def test_slack_a_replayed_record_submission_saves_one_record(scene: SlackScene) -> None:
    view = await other_opens_the_record_form(scene)
    form = "payload=" + quote(json.dumps(filled_form(view, good_record(), user=OTHER)), safe="")
    raw, stamp = form.encode(), str(int(time.time()))
    kind = "application/x-www-form-urlencoded"

    first = await scene.post(raw, kind, timestamp=stamp)
    await scene.h.settle()
    saved = await scene.h.bot.store.records()
    outbox = await scene.h.bot.store.deliveries()
    again = [await scene.post(raw, kind, timestamp=stamp) for _ in range(3)]
    await scene.h.settle()

    assert first == 200 and all(s < 500 for s in again)
    assert [r["kind"] for r in saved] == ["decision"]
    assert await scene.h.bot.store.records() == saved
    assert await scene.h.bot.store.deliveries() == outbox
    assert scene.crashes.take() == []


async def test_slack_a_replayed_click_does_not_move_the_dialog_on(scene: SlackScene) -> None:
    for q, a in TO_SHARE_WITH_CONSENT[:3]:
        await scene.h.click(q, a, user=OTHER, channel=OTHER_DM)
    data = as_other(payload("block_actions"))
    data["actions"][0]["value"] = json.dumps({"q": "legitimate_purpose", "a": "yes"})
    raw = ("payload=" + quote(json.dumps(data), safe="")).encode()
    stamp = str(int(time.time()))
    kind = "application/x-www-form-urlencoded"
    assert await scene.post(raw, kind, timestamp=stamp) == 200
    await scene.h.settle()
    answered, _ = await scene.h.bot.store.load_state(dm_key(TEAM, OTHER))
    seen = await scene.before()

    statuses = [await scene.post(raw, kind, timestamp=stamp) for _ in range(3)]

    assert statuses == [200] * 3
    await scene.after(200, seen)
    state, _ = await scene.h.bot.store.load_state(dm_key(TEAM, OTHER))
    assert json.loads(state or "{}")["answers"] == json.loads(answered or "{}")["answers"]


async def test_slack_an_old_signed_request_replayed_later_is_a_401(scene: SlackScene) -> None:
    body = json.dumps(as_other(payload("event_message_im"))).encode()
    seen = await scene.before()

    status = await scene.post(body, timestamp=str(int(time.time()) - 301))

    assert status == 401
    await scene.after(status, seen)
    assert scene.h.fake.calls[seen[2] :] == []


# ---------------------------------------------------------------------- rate limiting
@pytest.fixture
async def limited(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    crashes: CrashLog,
) -> AsyncIterator[SlackScene]:
    async for s in slack_scene(
        tmp_path, core, fake_slack, monkeypatch, crashes, CANISHARE_RATE_LIMIT="15"
    ):
        yield s


async def test_slack_someone_sending_too_fast_is_slowed_down_and_no_one_else_is(
    limited: SlackScene,
) -> None:
    h = limited.h

    async def dm(user: str, text: str) -> str:
        body = payload("event_message_im")
        body["event"].update(user=user, channel=f"D{user}", text=text)
        body["event_id"] = f"Ev0LIMIT{next(_ids):06d}"
        assert await limited.send_json(body) == 200
        await h.settle()
        return h.fake.texts(f"D{user}")[-1]

    for _ in range(15):
        assert RATE_LIMITED not in await dm(OTHER, "can I share")
    other_state = await h.bot.store.load_state(dm_key(TEAM, OTHER))

    slowed = await dm(OTHER, "can I share")
    victim = await dm(USER, "help")  # A already used 10 of 15 setting up, and is not slowed
    third = await dm("U0THIRD003", "can I share")

    assert RATE_LIMITED in slowed
    assert await h.bot.store.load_state(dm_key(TEAM, OTHER)) == other_state
    assert RATE_LIMITED not in victim
    assert RATE_LIMITED not in third
    status, body = await h.command("command_myth", "is consent always needed?", user_id=OTHER)
    assert status == 200 and RATE_LIMITED in body
    assert limited.crashes.take() == []


# ====================================================================== Teams
OTHER_FROM = {"id": "29:0therPers0nXw3sJ9bC0xY7hT2pVd4Ra8eU", "name": "Bo Other"}
OTHER_FROM_AAD = {**OTHER_FROM, "aadObjectId": "aad-0ther-pers0n"}
OTHER_CONVERSATION = "a:0therPers0nalChatW8yA0cE4gI6kM_hJdFbHn"
OTHER_KEY = f"teams:{TENANT}:{OTHER_CONVERSATION}"
TEAMS_ACTIVITIES = [
    "personal_message",
    "personal_card_submit",
    "personal_install",
    "channel_mention",
    "team_install",
    "leads_card_submit",
    "invoke_adaptive_card_action",
]


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    fake.team_channels[GENERAL] = [{"id": GENERAL, "name": None}]
    await fake.start()
    yield fake
    await fake.stop()


async def start_teams_server(
    tmp_path: Path, core: Core, connector: FakeConnector, **env: str
) -> Teams:
    environ = {
        "CANISHARE_DB_URL": f"sqlite:///{tmp_path / 'teams.db'}",
        "CANISHARE_TEAMS_DEV": "1",
        "CANISHARE_TEAMS_RECORD_CONVERSATION": RECORD,
        "CANISHARE_TEAMS_LEADS_CONVERSATION": LEADS,
        **env,
    }
    settings = load_settings(environ=environ, dotenv=None)
    bot = Bot(core.conversation, await open_store(settings), settings)
    app = await build_server(settings, bot)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = loopback_socket()
    await web.SockSite(runner, sock).start()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return Teams(url, bot, app, runner, connector, session)


@dataclass
class TeamsScene:
    """A Teams server; A is part-way through a decision with the record form showing."""

    t: Teams
    crashes: CrashLog

    async def before(self) -> tuple[Snapshot, int, int]:
        self.crashes.take()
        seen = await snapshot(self.t.bot, [PERSONAL_KEY], (reference_key(PERSONAL_KEY),))
        return seen, len(self.t.connector.to(PERSONAL)), len(self.t.connector.calls)

    async def after(self, status: int, seen: tuple[Snapshot, int, int]) -> None:
        before, victim_calls, calls = seen
        assert status < 500, f"answered {status}"
        assert self.crashes.take() == []
        await assert_unchanged(self.t.bot, before)
        assert len(self.t.connector.to(PERSONAL)) == victim_calls, "A's chat was written to"
        assert impolite([c.text for c in self.t.connector.calls[calls:]]) == []

    async def post_raw(
        self, body: bytes, content_type: str = "application/json", **headers: str
    ) -> int:
        sent = {"Content-Type": content_type, **headers}
        async with self.t.session.post(
            self.t.url + "/api/messages", data=body, headers=sent
        ) as response:
            await response.read()
            return response.status

    async def post(self, activity: Any, **headers: str) -> int:
        return await self.post_raw(json.dumps(activity).encode(), **headers)

    def as_other(self, name: str, **changes: Any) -> dict[str, Any]:
        """A documented activity from B, in B's own personal chat (or the channel it names)."""
        data = self.t.activity(name, **changes)
        data["from"] = dict(OTHER_FROM_AAD)
        if data["conversation"].get("conversationType") == "personal":
            data["conversation"]["id"] = OTHER_CONVERSATION
        return data


async def victim_opens_the_record_form(t: Teams) -> None:
    await reach_outcome(t)
    form = await t.click("record", "start")
    assert any(a.get("data") == {"q": "record", "a": "submit"} for a in form.actions)


@pytest.fixture
async def teams_scene(
    tmp_path: Path, core: Core, connector: FakeConnector, crashes: CrashLog
) -> AsyncIterator[TeamsScene]:
    t = await start_teams_server(tmp_path, core, connector, CANISHARE_RATE_LIMIT="10000")
    try:
        await victim_opens_the_record_form(t)
        yield TeamsScene(t, crashes)
    finally:
        await t.stop()


# ---------------------------------------------------------------------- compressed bodies
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "x-gzip"])
async def test_teams_a_compressed_body_is_a_415_and_changes_nothing(
    teams_scene: TeamsScene, encoding: str
) -> None:
    import gzip

    body = gzip.compress(json.dumps(teams_scene.as_other("personal_message")).encode())
    seen = await teams_scene.before()

    status = await teams_scene.post_raw(body, **{"Content-Encoding": encoding})

    assert status == 415
    await teams_scene.after(status, seen)


# ---------------------------------------------------------------------- malformed bodies
@FUZZ
@given(body=raw_bodies, content_type=content_types)
@example(body=b'{"type": "message"}', content_type="application/json")
@example(body=b'{"type": "message", "serviceUrl": 5}', content_type="application/json")
@example(body=b'{"type": ["message"]}', content_type="application/json")
@example(body=b'{"type": "invoke", "value": null}', content_type="application/json")
@example(body=b'{"type": "conversationUpdate", "membersAdded": 5}', content_type="application/json")
@example(body=b"[" * 100_000, content_type="application/json")
@example(
    body=b'{"type": "message", "x": ' + b"[" * 900 + b"]" * 900 + b"}",
    content_type="application/json",
)
@example(
    body=b'{"type": "message", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    content_type="application/json",
)
async def test_teams_garbage_bodies_get_a_4xx_or_a_quiet_200(
    teams_scene: TeamsScene, body: bytes, content_type: str
) -> None:
    seen = await teams_scene.before()

    status = await teams_scene.post_raw(body, content_type)

    await teams_scene.after(status, seen)


def teams_base(name: str) -> dict[str, Any]:
    """A documented activity from B, in B's own personal chat (or the channel it names);
    fixed, so examples replay exactly (serviceUrl and a fresh id are set when sent)."""
    data = copy.deepcopy(teams_payload(name))
    data["from"] = dict(OTHER_FROM_AAD)
    if data["conversation"].get("conversationType") == "personal":
        data["conversation"]["id"] = OTHER_CONVERSATION
    return data


TEAMS_FIXED = frozenset({"serviceUrl", "id"})


def teams_mutants() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(TEAMS_ACTIVITIES).flatmap(
        lambda name: mutated(teams_base(name), frozen=TEAMS_FIXED)
    )


@FUZZ
@given(activity=teams_mutants())
@example(activity=broken(teams_base("personal_install"), ("membersAdded",), [None]))
@example(activity=broken(teams_base("personal_install"), ("membersAdded",), [5, "x"]))
@example(activity=broken(teams_base("team_install"), ("channelData", "team"), "x"))
@example(activity=broken(teams_base("team_install"), ("channelData",), [1]))
@example(activity=broken(teams_base("personal_message"), ("from",), None))
@example(activity=broken(teams_base("personal_message"), ("text",), ["x"]))
@example(activity=broken(teams_base("personal_message"), ("entities",), [None]))
@example(activity=broken(teams_base("channel_mention"), ("entities", 0, "mentioned"), None))
@example(activity=broken(teams_base("channel_mention"), ("recipient",), None))
@example(activity=broken(teams_base("personal_card_submit"), ("value",), {"q": ["x"]}))
@example(activity=broken(teams_base("leads_card_submit"), ("value", "a"), None))
@example(activity=broken(teams_base("invoke_adaptive_card_action"), ("name",), 5))
@example(activity=broken(teams_base("personal_message"), ("conversation", "tenantId"), 5))
@example(activity=broken(teams_base("personal_message"), ("conversation", "id"), "a:\ud800"))
@example(activity=broken(teams_base("personal_message"), ("from", "id"), "29:\udfff"))
@example(activity=broken(teams_base("personal_card_submit"), ("value",), {"q": "\ud800", "a": "x"}))
@example(activity=broken(teams_base("leads_card_submit"), ("value", "a"), "E-\ud800"))
@example(
    activity=broken(
        teams_base("personal_card_submit"),
        ("value",),
        {"q": "record", "a": "submit", "case_reference": "CP-\ud800", "reasons": "\udfff"},
    )
)
async def test_teams_mutated_activities_are_handled_politely(
    teams_scene: TeamsScene, activity: dict[str, Any]
) -> None:
    activity = {**activity, "serviceUrl": teams_scene.t.connector.url, "id": str(next(_ids))}
    seen = await teams_scene.before()

    status = await teams_scene.post(activity)

    await teams_scene.after(status, seen)


@pytest.mark.parametrize(
    "service_url",
    [None, "", 5, ["http://127.0.0.1/"], "not a url", "ftp://127.0.0.1/", "file:///etc/passwd"],
)
async def test_teams_an_activity_without_a_usable_service_url_is_a_400(
    teams_scene: TeamsScene, service_url: Any
) -> None:
    activity = teams_scene.as_other("personal_message", serviceUrl=service_url)
    seen = await teams_scene.before()

    status = await teams_scene.post(activity)

    assert 400 <= status < 500
    await teams_scene.after(status, seen)
    assert (await teams_scene.t.bot.store.load_state(OTHER_KEY))[1] == 0


# ---------------------------------------------------------------------- text, buttons, values
@FUZZ
@given(text=odd_text)
@example(text="x" * 100_000)
@example(text="\u202e" * 50_000)
@example(text="\ud800 lone \udc00 surrogates")
@example(text="<at>Can I share?</at>" * 1000)
@example(text="👩\u200d👩\u200d👧" * 10_000)
async def test_teams_any_text_gets_a_polite_reply(teams_scene: TeamsScene, text: str) -> None:
    activity = teams_scene.as_other("personal_message", text=text)
    seen = await teams_scene.before()

    status = await teams_scene.post(activity)

    await teams_scene.after(status, seen)
    if lone_surrogate(text):  # not Unicode at all: refused whole, nothing answered
        assert status == 400
        assert teams_scene.t.connector.calls[seen[2] :] == []
    elif len(text) > MAX_TEXT_CHARACTERS:  # more than a Teams message holds: refused unread
        assert status == 413
        assert teams_scene.t.connector.calls[seen[2] :] == []
    else:
        assert status == 200
        assert teams_scene.t.connector.calls[seen[2] :], "B got no answer"


@FUZZ
@given(
    value=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"q": st.one_of(odd_text, json_values), "a": st.one_of(odd_text, json_values)}
        ),
        st.fixed_dictionaries(
            {"q": st.sampled_from(["record", "claim", "menu", "consent"]), "a": odd_text},
            optional={"case_reference": json_values, "what": json_values, "reasons": odd_text},
        ),
    )
)
@example(value={"q": "no_such_question", "a": "yes"})
@example(value={"q": "record", "a": "submit", "case_reference": ["x"], "what": {"a": 1}})
@example(value={"q": "claim", "a": "E-does-not-exist"})
@example(value={"q": None, "a": None})
@example(value="just a string")
async def test_teams_unknown_or_garbage_card_values_touch_no_one_else(
    teams_scene: TeamsScene, value: Any
) -> None:
    activity = teams_scene.as_other("personal_card_submit", value=value)
    seen = await teams_scene.before()

    status = await teams_scene.post(activity)

    await teams_scene.after(status, seen)


# ---------------------------------------------------------------------- someone else's conversation
@pytest.mark.parametrize("sender", ["id", "aad"], ids=["same-aad-missing", "other-aad"])
@pytest.mark.parametrize(
    "value",
    [None, {"q": "record", "a": "submit", **TEAMS_GOOD_RECORD}, {"q": "record", "a": "cancel"}],
    ids=["typed", "record-submit", "record-cancel"],
)
async def test_teams_someone_else_in_a_personal_chat_cannot_act_on_it(
    teams_scene: TeamsScene, sender: str, value: dict[str, str] | None
) -> None:
    """An activity into A's personal chat whose sender is not A changes nothing of A's."""
    t = teams_scene.t
    name = "personal_message" if value is None else "personal_card_submit"
    activity = t.activity(name, **({"value": value} if value else {"text": "start again"}))
    activity["from"] = dict(OTHER_FROM if sender == "id" else OTHER_FROM_AAD)
    assert activity["conversation"]["id"] == PERSONAL
    seen = await teams_scene.before()

    status = await teams_scene.post(activity)

    await teams_scene.after(status, seen)
    assert await t.bot.store.records() == []


async def test_teams_the_owner_of_a_personal_chat_still_gets_in(teams_scene: TeamsScene) -> None:
    t = teams_scene.t
    await teams_scene.post(teams_scene.as_other("personal_message", text="can I share"))

    reply = await t.click("record", "submit", **TEAMS_GOOD_RECORD)

    [record] = await t.bot.store.records("decision")
    assert record["case_reference"] == TEAMS_GOOD_RECORD["case_reference"]
    assert "CP-2026-0412" in reply.text


# ---------------------------------------------------------------------- replays
async def test_teams_a_replayed_activity_is_answered_once(teams_scene: TeamsScene) -> None:
    activity = teams_scene.as_other("personal_message", text="can I share")
    seen = await teams_scene.before()

    statuses = [await teams_scene.post(activity) for _ in range(3)]
    statuses += await asyncio.gather(*(teams_scene.post(activity) for _ in range(3)))

    assert statuses == [200] * 6
    await teams_scene.after(200, seen)
    assert len(teams_scene.t.connector.to(OTHER_CONVERSATION, "reply")) == 1
    assert (await teams_scene.t.bot.store.load_state(OTHER_KEY))[1] == 1


async def test_teams_a_replayed_record_submission_saves_one_record(
    teams_scene: TeamsScene,
) -> None:
    t = teams_scene.t
    submit = t.submit({"q": "record", "a": "submit", **TEAMS_GOOD_RECORD})

    statuses = [await teams_scene.post(submit) for _ in range(3)]
    again = t.submit({"q": "record", "a": "submit", **TEAMS_GOOD_RECORD})  # a new activity id
    statuses.append(await teams_scene.post(again))

    assert all(s == 200 for s in statuses)
    assert [r["kind"] for r in await t.bot.store.records()] == ["decision"]
    assert teams_scene.crashes.take() == []


# ---------------------------------------------------------------------- authentication on
@FUZZ
@given(body=raw_bodies, content_type=content_types)
@example(body=b'{"type": "message", "text": "can I share"}', content_type="application/json")
async def test_teams_with_auth_on_garbage_without_a_token_is_a_401(
    secured_scene: TeamsScene, body: bytes, content_type: str
) -> None:
    seen = await secured_scene.before()

    status = await secured_scene.post_raw(body, content_type)

    assert status == 401
    await secured_scene.after(status, seen)
    assert secured_scene.t.connector.calls[seen[2] :] == []


@FUZZ
@given(
    activity=teams_mutants(),
    token=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=200),
)
async def test_teams_with_auth_on_activities_with_a_bad_token_are_refused(
    secured_scene: TeamsScene, activity: dict[str, Any], token: str
) -> None:
    activity = {**activity, "serviceUrl": secured_scene.t.connector.url}
    seen = await secured_scene.before()

    status = await secured_scene.post(activity, Authorization=f"Bearer {token}".strip())

    assert status in (400, 401)
    await secured_scene.after(status, seen)
    assert secured_scene.t.connector.calls[seen[2] :] == []


@pytest.fixture
async def secured_scene(
    tmp_path: Path, core: Core, connector: FakeConnector, crashes: CrashLog
) -> AsyncIterator[TeamsScene]:
    t = await start_teams_server(
        tmp_path,
        core,
        connector,
        MicrosoftAppId=APP_ID,
        MicrosoftAppTenantId=TENANT,
        MicrosoftAppPassword="not-a-secret",
    )
    try:
        yield TeamsScene(t, crashes)
    finally:
        await t.stop()


# ---------------------------------------------------------------------- rate limiting
async def test_teams_someone_sending_too_fast_is_slowed_down_and_no_one_else_is(
    tmp_path: Path, core: Core, connector: FakeConnector, crashes: CrashLog
) -> None:
    t = await start_teams_server(tmp_path, core, connector, CANISHARE_RATE_LIMIT="5")
    try:
        scene = TeamsScene(t, crashes)

        async def say(text: str, *, other: bool) -> str:
            activity = scene.as_other("personal_message", text=text) if other else t.message(text)
            assert await scene.post(activity) == 200
            conversation = OTHER_CONVERSATION if other else PERSONAL
            return t.connector.to(conversation, "reply")[-1].text

        for _ in range(5):
            assert RATE_LIMITED not in await say("can I share", other=True)
        other_state = await t.bot.store.load_state(OTHER_KEY)

        slowed = await say("can I share", other=True)
        victim = await say("can I share", other=False)

        assert RATE_LIMITED in slowed
        assert await t.bot.store.load_state(OTHER_KEY) == other_state
        assert RATE_LIMITED not in victim
        assert crashes.take() == []
    finally:
        await t.stop()
