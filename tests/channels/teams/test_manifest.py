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
    bump_version,
    png_bytes,
    read_png,
    schema_problems,
    teams_manifest_cmd,
    validate_package,
)
from bot.settings import load_settings
from tests.channels.teams.conftest import APP_ID, TENANT
from tests.channels.teams.manifest_schema import SCHEMA_VERSION, teams_manifest_schema

SECRET = {"MicrosoftAppPassword": "x"}


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(environ={"MicrosoftAppTenantId": TENANT, **env}, dotenv=None)


@pytest.fixture(scope="session")
def schema() -> dict:
    return teams_manifest_schema()


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
        settings(MicrosoftAppId=APP_ID, **SECRET), "https://bot.example.org", output
    )

    assert code == 0
    package = output.read_bytes()
    assert validate_package(package, APP_ID) == []
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
    filled = package_manifest(package)
    assert filled["bots"][0]["botId"] == APP_ID
    assert filled["composeExtensions"][0]["botId"] == APP_ID
    assert filled["id"] == manifest.teams_app_id(APP_ID)
    assert filled["manifestVersion"] == SCHEMA_VERSION
    assert "https://bot.example.org/api/messages" in capsys.readouterr().out


def test_the_built_manifest_passes_microsofts_own_json_schema(schema: dict) -> None:
    filled = package_manifest(build_package(manifest.SOURCE_DIR, APP_ID))

    assert schema_problems(filled, schema) == []


def test_the_schema_check_catches_what_teams_would_refuse(schema: dict) -> None:
    filled = package_manifest(build_package(manifest.SOURCE_DIR, APP_ID))
    filled["bots"][0]["scopes"] = ["personal", "everywhere"]
    filled["supportedChannelTypes"] = ["secretChannels"]

    problems = schema_problems(filled, schema)

    assert any(p.startswith("manifest.json: bots.0.scopes.1:") for p in problems)
    assert any(p.startswith("manifest.json: supportedChannelTypes.0:") for p in problems)


def test_the_app_can_live_in_private_channels_and_asks_for_no_extra_permissions() -> None:
    filled = package_manifest(build_package(manifest.SOURCE_DIR, APP_ID))

    assert filled["supportedChannelTypes"] == ["privateChannels"]
    assert "permissions" not in filled  # no identity, no messageTeamMembers


def test_the_compose_box_search_is_declared_for_the_bot() -> None:
    filled = package_manifest(build_package(manifest.SOURCE_DIR, APP_ID))

    [extension] = filled["composeExtensions"]
    [command] = extension["commands"]
    assert (command["id"], command["type"], command["initialRun"]) == ("findAnswer", "query", True)
    assert command["parameters"][0]["name"] == "query"


def test_the_command_validates_against_a_schema_file_and_refuses_a_broken_manifest(
    tmp_path: Path, source: Path, schema: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    data = json.loads((source / "manifest.json").read_text())
    data["accentColor"] = "#1F6FB2"
    data["bots"][0]["unknownSetting"] = True
    (source / "manifest.json").write_text(json.dumps(data))

    code = teams_manifest_cmd(
        settings(MicrosoftAppId=APP_ID, **SECRET),
        "",
        tmp_path / "app.zip",
        schema=schema_file,
        source=source,
    )

    assert code == 1
    assert "unknownSetting" in capsys.readouterr().err
    assert not (tmp_path / "app.zip").exists()


def test_a_managed_identity_builds_the_package_without_any_secret(tmp_path: Path) -> None:
    msi = settings(MicrosoftAppId=APP_ID, MicrosoftAppType="UserAssignedMSI")

    code = teams_manifest_cmd(msi, "", tmp_path / "app.zip")

    assert code == 0
    assert package_manifest((tmp_path / "app.zip").read_bytes())["bots"][0]["botId"] == APP_ID


def test_placeholder_names_and_links_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = teams_manifest_cmd(settings(MicrosoftAppId=APP_ID, **SECRET), "", tmp_path / "a.zip")

    err = capsys.readouterr().err
    assert code == 0  # a warning, not a refusal: a trial upload can keep them
    assert "developer.name is still the placeholder 'Your organisation'" in err
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert f"developer.{key} is still a placeholder link" in err


def test_real_names_and_links_get_no_warning(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((source / "manifest.json").read_text())
    data["developer"] = {
        "name": "Northshire Council",
        "websiteUrl": "https://www.northshire.gov.uk/can-i-share",
        "privacyUrl": "https://www.northshire.gov.uk/can-i-share/privacy",
        "termsOfUseUrl": "https://www.northshire.gov.uk/can-i-share/terms",
    }
    (source / "manifest.json").write_text(json.dumps(data))

    teams_manifest_cmd(
        settings(MicrosoftAppId=APP_ID, **SECRET), "", tmp_path / "a.zip", source=source
    )

    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("part", "version"), [("patch", "1.0.1"), ("minor", "1.1.0"), ("major", "2.0.0")]
)
def test_bumping_raises_the_version_and_keeps_the_file_layout(
    source: Path, part: str, version: str
) -> None:
    before = (source / "manifest.json").read_text()

    assert bump_version(source, part) == version

    after = (source / "manifest.json").read_text()
    assert json.loads(after)["version"] == version
    assert after.replace(f'"version": "{version}"', '"version": "1.0.0"') == before


def test_the_command_bumps_before_it_builds(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = teams_manifest_cmd(
        settings(MicrosoftAppId=APP_ID, **SECRET),
        "",
        tmp_path / "app.zip",
        bump="minor",
        source=source,
    )

    assert code == 0
    assert package_manifest((tmp_path / "app.zip").read_bytes())["version"] == "1.1.0"
    assert "app version 1.1.0" in capsys.readouterr().out


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
