"""Authentication: with MicrosoftAppId set, only a valid Bot Framework token gets in (every
failure is a 401 that changes nothing); without it, local development needs no token.

The tokens are real RS256 JWTs signed with a test key; the SDK validates them against OpenID
metadata and a JWKS served locally from another thread.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.records.store import Delivery
from bot.server import DELIVERER_KEY
from tests.channels.teams.conftest import (
    APP_ID,
    GENERAL,
    LEADS,
    PERSONAL_KEY,
    TENANT,
    StartTeams,
    Teams,
)
from tests.fakes.bf_connector import FakeOpenIdMetadata

ISSUER = "https://api.botframework.com"
KID = "test-signing-key"
OUTBOUND_TOKEN = "outbound-token-for-tests"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = new_key()
OTHER_KEY = new_key()


def jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256", "endorsements": endorsements}


@pytest.fixture
def metadata() -> Iterator[FakeOpenIdMetadata]:
    server = FakeOpenIdMetadata(
        {
            "keys": [
                jwk(SIGNING_KEY, KID, ["msteams"]),
                jwk(OTHER_KEY, "slack-only-key", ["slack"]),
            ]
        }
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def secured(
    start_teams: StartTeams, metadata: FakeOpenIdMetadata, monkeypatch: pytest.MonkeyPatch
) -> Teams:
    # The bot's own outbound token comes from AAD, which a test cannot reach.
    from botframework.connector.auth import MicrosoftAppCredentials

    monkeypatch.setattr(
        MicrosoftAppCredentials,
        "get_access_token",
        lambda self, force_refresh=False: OUTBOUND_TOKEN,
    )
    return await start_teams(
        MicrosoftAppId=APP_ID,
        MicrosoftAppTenantId=TENANT,
        MicrosoftAppPassword="not-a-real-secret",
        CANISHARE_TEST_TEAMS_OPENID_METADATA_URL=metadata.url,
    )


def token(
    teams: Teams,
    *,
    key: rsa.RSAPrivateKey = SIGNING_KEY,
    kid: str = KID,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": APP_ID,
        "serviceurl": teams.connector.url,
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + 3600,
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


async def test_a_request_with_a_valid_token_gets_a_reply(
    secured: Teams, metadata: FakeOpenIdMetadata
) -> None:
    headers = {"Authorization": f"Bearer {token(secured)}"}

    status, _ = await secured.post(secured.message("can I share"), headers=headers)

    assert status == 200
    assert metadata.requests >= 2  # the configuration, then the keys
    [reply] = secured.connector.to(secured.message("x")["conversation"]["id"])
    assert reply.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert await secured.bot.store.load_state(PERSONAL_KEY) != (None, 0)


async def test_a_channel_offer_opens_a_personal_chat_with_the_bot(secured: Teams) -> None:
    headers = {"Authorization": f"Bearer {token(secured)}"}

    status, _ = await secured.post(secured.mention("can I share"), headers=headers)

    assert status == 200
    [reply] = secured.connector.to(GENERAL)
    [offer] = [a for a in reply.actions if a["type"] == "Action.OpenUrl"]
    assert offer["url"] == f"https://teams.microsoft.com/l/chat/0/0?users=28:{APP_ID}"


async def test_an_unsigned_request_is_refused_and_changes_nothing(secured: Teams) -> None:
    status, _ = await secured.post(secured.message("can I share"))

    assert status == 401
    assert secured.connector.calls == []
    assert await secured.bot.store.load_state(PERSONAL_KEY) == (None, 0)


BAD_TOKENS = {
    "not a JWT": lambda t: "Bearer not-a-jwt",
    "another scheme": lambda t: f"Basic {token(t)}",
    "no scheme": lambda t: token(t),
    "signed by a stranger": lambda t: f"Bearer {token(t, key=OTHER_KEY)}",
    "unknown key id": lambda t: f"Bearer {token(t, kid='nobody-knows-me')}",
    "key not endorsed for Teams": lambda t: (
        f"Bearer {token(t, key=OTHER_KEY, kid='slack-only-key')}"
    ),
    "another bot's audience": lambda t: (
        f"Bearer {token(t, aud='00000000-0000-0000-0000-000000000000')}"
    ),
    "expired": lambda t: f"Bearer {token(t, exp=int(time.time()) - 3600)}",
    "another issuer": lambda t: f"Bearer {token(t, iss='https://evil.example')}",
    "another service url": lambda t: f"Bearer {token(t, serviceurl='https://evil.example/')}",
    "no service url": lambda t: f"Bearer {token(t, serviceurl='')}",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_a_bad_token_is_a_401_and_changes_nothing(secured: Teams, case: str) -> None:
    headers = {"Authorization": BAD_TOKENS[case](secured)}

    status, _ = await secured.post(secured.message("can I share"), headers=headers)

    assert status == 401
    assert secured.connector.calls == []
    assert await secured.bot.store.load_state(PERSONAL_KEY) == (None, 0)
    assert await secured.bot.store.kv_get(f"teams:ref:{PERSONAL_KEY}") is None


async def test_without_an_app_id_no_token_is_needed_and_any_token_is_ignored(
    teams: Teams,
) -> None:
    plain, _ = await teams.post(teams.message("can I share"))
    with_token, _ = await teams.post(
        teams.message("no"), headers={"Authorization": "Bearer whatever.this.is"}
    )

    assert (plain, with_token) == (200, 200)
    assert len([c for c in teams.connector.calls if c.kind == "reply"]) == 2
    assert all(c.authorization == "" for c in teams.connector.calls)


async def test_running_without_auth_is_logged_once_at_start_up(
    start_teams: StartTeams, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="canishare.teams"):
        teams = await start_teams()
        await teams.post(teams.message("can I share"))
        await teams.post(teams.message("no"))

    warnings = [r for r in caplog.records if "WITHOUT authentication" in r.getMessage()]
    assert len(warnings) == 1


async def test_with_auth_on_nothing_is_logged_about_running_without_it(
    secured: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    assert not [r for r in caplog.records if "WITHOUT authentication" in r.getMessage()]


async def test_with_auth_on_proactive_posts_carry_the_bots_own_token(secured: Teams) -> None:
    headers = {"Authorization": f"Bearer {token(secured)}"}
    status, _ = await secured.post(secured.team_install(), headers=headers)
    sender = secured.app[DELIVERER_KEY].senders["teams"]
    alert = Delivery(
        id="A-1:teams:alert",
        record_id="A-1",
        target="teams:alert",
        payload={"kind": "alert", "record": {"id": "A-1", "text": "Stuck.", "items": []}},
        status="pending",
        attempts=1,
        created_at="2026-11-20T10:00:00Z",
    )

    await sender.deliver(alert)

    assert status == 200
    [post] = secured.connector.to(LEADS, "send")
    assert post.authorization == f"Bearer {OUTBOUND_TOKEN}"


EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"


async def test_a_token_without_a_service_url_claim_cannot_name_its_own_service_url(
    secured: Teams,
) -> None:
    # The SDK takes this emulator-style token (no serviceurl claim at all); replies would then
    # go wherever the activity says. A token must name the activity's serviceUrl.
    forged = token(secured, iss=EMULATOR_ISSUER, ver="1.0", appid=APP_ID, serviceurl=None)
    activity = secured.message("can I share")

    status, _ = await secured.post(activity, headers={"Authorization": f"Bearer {forged}"})

    assert status == 401
    assert secured.connector.calls == []
    assert await secured.bot.store.load_state(PERSONAL_KEY) == (None, 0)
