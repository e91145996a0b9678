"""Run the real `canishare` command line as a subprocess, several at once to keep tests quick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 60
# Settings the runs must not inherit from a developer's shell: the bot reads them at start-up.
_PRIVATE_PREFIXES = ("CANISHARE_", "SLACK_", "Microsoft")


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The `--json` contract: the last line of standard output."""
        lines = self.stdout.strip().splitlines()
        assert lines, f"no output; stderr: {self.stderr}"
        parsed: dict[str, Any] = json.loads(lines[-1])
        return parsed


def environment(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}
    env["CANISHARE_DB_URL"] = f"sqlite:///{db}"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_many(runs: Sequence[tuple[Sequence[str], Path]]) -> list[Ran]:
    """Start every `canishare ARGS` (each with its own database file), then wait for all."""
    started = []
    for args, db in runs:
        db.parent.mkdir(parents=True, exist_ok=True)
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                cwd=db.parent,  # no stray .env is read
                env=environment(db),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
        )
    done = []
    for process in started:
        try:
            out, err = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        done.append(Ran(process.returncode, out, err))
    return done


def decide_args(facts: Path) -> list[str]:
    return ["decide", "--facts", str(facts), "--json"]
