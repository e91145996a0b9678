"""`canishare manifest teams`: the upload package is built from manifest/teams/ and checked."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from bot.channels.teams import manifest
from bot.channels.teams.manifest import (
    build_package,
    png_bytes,
    read_png,
    teams_manifest_cmd,
    validate_package,
)
from bot.settings import load_settings
from tests.channels.teams.conftest import APP_ID


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(environ=env, dotenv=None)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of manifest/teams/ that a test may spoil."""
    copy = tmp_path / "teams"
    shutil.copytree(manifest.SOURCE_DIR, copy)
    return copy


def package_manifest(package: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        return json.loads(z.read("manifest.json"))


def test_the_package_from_the_repository_is_valid_and_names_this_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "app.zip"

    code = teams_manifest_cmd(
        settings(MicrosoftAppId=APP_ID, MicrosoftAppPassword="x"), "https://bot.example.org", output
    )

    assert code == 0
    package = output.read_bytes()
    assert validate_package(package, APP_ID) == []
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
    filled = package_manifest(package)
    assert filled["bots"][0]["botId"] == APP_ID
    assert filled["id"] == manifest.teams_app_id(APP_ID)
    assert filled["manifestVersion"] == "1.17"
    assert "https://bot.example.org/api/messages" in capsys.readouterr().out


def test_the_app_id_is_stable_for_a_bot_so_an_upload_updates_the_same_app() -> None:
    assert manifest.teams_app_id(APP_ID) == manifest.teams_app_id(APP_ID.upper())
    assert manifest.teams_app_id(APP_ID) != manifest.teams_app_id(APP_ID[:-1] + "0")


def test_without_an_app_id_the_command_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = teams_manifest_cmd(settings(), "", tmp_path / "app.zip")

    assert code == 2
    assert "MicrosoftAppId is not set" in capsys.readouterr().err
    assert not (tmp_path / "app.zip").exists()


def test_an_icon_of_the_wrong_size_is_caught(source: Path) -> None:
    (source / "color.png").write_bytes(png_bytes(100, 100, b"\x10\x20\x30\xff" * 100 * 100))

    problems = validate_package(build_package(source, APP_ID), APP_ID)

    assert problems == ["color.png must be 192x192 pixels (it is 100x100)"]


def test_an_outline_icon_that_is_not_white_on_transparent_is_caught(source: Path) -> None:
    pixels = bytearray(b"\xff\xff\xff\x00" * 32 * 32)
    pixels[0:4] = b"\x00\x80\xff\xff"  # one blue pixel
    (source / "outline.png").write_bytes(png_bytes(32, 32, bytes(pixels)))

    problems = validate_package(build_package(source, APP_ID), APP_ID)

    assert problems == ["outline.png must be white on transparent (found a coloured pixel)"]


def test_a_bot_id_other_than_this_bots_is_caught(source: Path) -> None:
    other = "11111111-2222-4333-8444-555555555555"

    problems = validate_package(build_package(source, other), APP_ID)

    assert problems == [f"manifest.json: bots[0].botId is {other}, but MicrosoftAppId is {APP_ID}"]


def test_missing_fields_and_commands_are_caught(source: Path) -> None:
    data = json.loads((source / "manifest.json").read_text())
    del data["developer"]["privacyUrl"]
    team_commands = data["bots"][0]["commandLists"][1]
    team_commands["commands"] = team_commands["commands"][:2]
    data["manifestVersion"] = "1.2"
    (source / "manifest.json").write_text(json.dumps(data))

    problems = validate_package(build_package(source, APP_ID), APP_ID)

    assert "manifest.json: developer.privacyUrl is required" in problems
    assert "manifest.json: the team command list lacks help" in problems
    assert any("manifestVersion 1.2" in p for p in problems)


def test_the_committed_icons_have_the_required_sizes() -> None:
    color = read_png((manifest.SOURCE_DIR / "color.png").read_bytes())
    outline = read_png((manifest.SOURCE_DIR / "outline.png").read_bytes())

    assert (color.width, color.height) == (192, 192)
    assert (outline.width, outline.height, outline.has_alpha) == (32, 32, True)


def test_a_damaged_png_is_reported_not_crashed_on() -> None:
    data = bytearray((manifest.SOURCE_DIR / "color.png").read_bytes())
    data[40] ^= 0xFF

    with pytest.raises(manifest.PngError):
        read_png(bytes(data))
