"""`canishare manifest slack|teams`: the app manifests an admin installs."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings


def manifest_cmd(
    settings: Settings,
    platform: str,
    *,
    url: str | None,
    output: Path | None,
    bump: str | None = None,
    schema: Path | None = None,
) -> int:
    base = (url or settings.public_url).rstrip("/")
    if platform == "slack":
        from bot.channels.slack.manifest import slack_manifest_cmd

        return slack_manifest_cmd(settings, base, output)
    from bot.channels.teams.manifest import teams_manifest_cmd

    return teams_manifest_cmd(settings, base, output, bump=bump, schema=schema)
