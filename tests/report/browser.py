"""Debian's chromium, driven by Playwright, with every request the page makes recorded."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Route, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# what this machine's chromium needs headless, and nothing that phones home
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip (with why) only off CI; in CI a missing browser is a failure (.ci/run installs it)."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    if os.environ.get("CI"):
        pytest.fail(
            "chromium is missing in CI: .ci/run should install it (apt-get install chromium)"
        )
    pytest.skip("chromium is not installed here (apt-get install -y chromium); CI installs it")


@dataclass
class Browsing:
    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def chromium(profile: Path, allowed: tuple[str, ...]) -> AsyncIterator[Browsing]:
    """A fresh chromium profile that records every request and lets only `allowed` through."""
    need_chromium()
    executable = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport={"width": 1100, "height": 900},
            offline=False,
        )
        browsing = Browsing(context)

        async def guard(route: Route) -> None:
            url = route.request.url
            if url in allowed:
                await route.continue_()
            else:
                browsing.refused.append(url)
                await route.abort()

        context.on("request", lambda request: browsing.requests.append(request.url))
        await context.route("**/*", guard)
        try:
            yield browsing
        finally:
            await context.close()
