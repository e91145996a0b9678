"""`canishare manifest slack`: the app manifest with this deployment's public URL filled in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import yaml

from bot.settings import Settings

PLACEHOLDER: Final = "https://canishare.example.invalid"
TEMPLATE: Final = Path(__file__).resolve().parents[3] / "manifest" / "slack.yaml"


class ManifestError(ValueError):
    """The manifest cannot be produced; the message says what to do."""


def check_url(base_url: str) -> str:
    """The public base URL without a trailing slash, or a ManifestError saying what is wrong."""
    base = base_url.strip().rstrip("/")
    if not base:
        raise ManifestError(
            "no public URL: pass --url https://your.host (or set CANISHARE_PUBLIC_URL) — Slack "
            "sends events, commands and clicks to <url>/slack/events"
        )
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ManifestError(
            f"the public URL must be an https:// address Slack can reach (got {base!r})"
        )
    return base


def slack_manifest(base_url: str, template: Path = TEMPLATE) -> str:
    """The manifest text with every request URL pointing at `base_url`."""
    base = check_url(base_url)
    if not template.is_file():
        raise ManifestError(f"the manifest template is missing: {template}")
    text = template.read_text(encoding="utf-8").replace(PLACEHOLDER, base)
    yaml.safe_load(text)  # a broken template fails here, not in Slack's app settings
    return text


def slack_manifest_cmd(settings: Settings, base_url: str, output: Path | None) -> int:
    """Print the manifest (or write it to `output`); exit status 2 with one line on error."""
    try:
        text = slack_manifest(base_url or settings.public_url)
    except ManifestError as exc:
        print(f"canishare manifest slack: {exc}", file=sys.stderr)
        return 2
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0
