"""`canishare manifest slack`: the app manifest with the public URL filled in."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.channels.slack.manifest import slack_manifest_cmd
from bot.settings import load_settings

LEAST_PRIVILEGE = {
    "app_mentions:read",
    "channels:read",
    "chat:write",
    "commands",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
}


def test_the_manifest_points_every_request_url_at_the_public_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = slack_manifest_cmd(
        load_settings(environ={}, dotenv=None), "https://bot.example.org/", None
    )

    assert status == 0
    text = capsys.readouterr().out
    manifest = yaml.safe_load(text)
    assert "example.invalid" not in text
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://bot.example.org/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == events["request_url"]
    assert {c["command"]: c["url"] for c in manifest["features"]["slash_commands"]} == {
        "/canishare": events["request_url"],
        "/myth": events["request_url"],
    }


def test_the_manifest_asks_for_least_privilege_and_the_features_the_bot_uses() -> None:
    manifest = yaml.safe_load(Path("manifest/slack.yaml").read_text(encoding="utf-8"))

    assert set(manifest["oauth_config"]["scopes"]["bot"]) == LEAST_PRIVILEGE
    assert "user" not in manifest["oauth_config"]["scopes"]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.im",
        "app_mention",
        "app_home_opened",
    }
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert not home["messages_tab_read_only_enabled"]
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_public_url_comes_from_the_settings_when_not_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        environ={"CANISHARE_PUBLIC_URL": "https://from.settings.org"}, dotenv=None
    )
    out = tmp_path / "slack.yaml"

    assert slack_manifest_cmd(settings, "", out) == 0

    assert "https://from.settings.org/slack/events" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("url", ["", "http://insecure.example.org", "bot.example.org"])
def test_without_a_usable_https_url_it_says_what_to_do(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = slack_manifest_cmd(load_settings(environ={}, dotenv=None), url, None)

    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--url" in captured.err or "https://" in captured.err
    assert captured.err.count("\n") == 1
