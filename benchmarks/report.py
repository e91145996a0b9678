"""Run the benchmarks and rewrite docs/benchmarks.md with the figures, machine and date.

Each benchmark module has `main() -> dict[str, str]` (figure name -> figure). Sections whose
benchmark is not selected keep the figures from the last full run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
SECTIONS: dict[str, tuple[str, str]] = {
    "search_eval": (
        "Understanding what people type",
        "Every measure of issue 10, on messages written by people who never saw the knowledge "
        "base (`tests/eval/sets.yaml` says who wrote each set and how it was used). **Held-out** "
        "sets were never merged, never tuned on and their messages never read: `heldout-c` and "
        "`heldout-d` were written for this work (their totals are the honest figures), "
        "`heldout-e`, `heldout-f`, `heldout-h`, `heldout-k`, `heldout-m` and `heldout-o` "
        "hold typed answers only, and `heldout-i`, `heldout-j`, `heldout-n` and `heldout-p` "
        "routing only (written later, each looked at only as totals; `heldout-o` and "
        "`heldout-p` were written at the end of the sixth session and measured once, on "
        "arrival), `heldout` is the older one; the first lines give every held-out set "
        "together. (`heldout-g` is no longer held out: a copy of it "
        "was read by mistake, so it became the training set `dev-ag`.) **Training** sets were "
        "merged into the "
        "knowledge base "
        "(phrasings, emergency and out-of-scope examples), so their figures are training "
        "figures; `dev-i` and `dev-k` to `dev-p` are typed answers used to tune the answer "
        "reader. Typed answers are read through the real dialog at that question: an answer "
        "that goes to the emergency guidance at a question other than the danger question "
        "counts as misread here.",
    ),
    "lookup_speed": (
        "Knowledge lookup speed",
        "Per message, on one core: each message asked once (the training sets' messages; "
        "the held-out sets are not used here), after a warm-up on others.",
    ),
    "dialog_core": ("Dialog core", "The pure step function for a whole decision, no I/O."),
    "turn_latency": (
        "Turn latency against the framework floor",
        "A full turn over loopback HTTP against a bare echo app on the same stack, "
        "alternating A B A B in one run.",
    ),
    "throughput": ("Throughput and concurrency", "Turns per second, bounded runs."),
    "resilience": (
        "Resilience under load",
        "50 users driving whole Slack decisions: on SQLite, with a SIGKILL half-way, and on "
        "two PostgreSQL replicas with a Slack that answers record posts only after the "
        "delivery lease. Lost and doubled are counted from the store and from what the fake "
        "Slack received (`benchmarks/resilience.py` says exactly how).",
    ),
    "memory": ("Memory", "Resident memory of `canishare serve`."),
    "startup": ("Start-up", "From `canishare serve` to a healthy `/healthz`."),
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def run(name: str) -> dict[str, str]:
    module = importlib.import_module(f"benchmarks.{name}")
    print(f"== {name}", flush=True)
    result = module.main([]) if name == "search_eval" else module.main()
    return dict(result)


def previous() -> dict[str, list[str]]:
    if not REPORT.exists():
        return {}
    sections: dict[str, list[str]] = {}
    current = None
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        m = re.match(r"<!-- section: (\w+) -->", line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif line.startswith("<!-- end -->"):
            current = None
        elif current:
            sections[current].append(line)
    return sections


def notes() -> str:
    path = ROOT / "benchmarks" / "NOTES.md"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "only", nargs="*", help=f"benchmarks to run (default all): {list(SECTIONS)}"
    )
    args = parser.parse_args(argv)
    chosen = args.only or [n for n in SECTIONS if (ROOT / "benchmarks" / f"{n}.py").exists()]
    old = previous()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        commit = "unknown"
    lines = [
        "# Benchmarks",
        "",
        f"Written by `benchmarks/run` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}.",
        f"Machine: {machine()}.",
        "",
    ]
    for name, (title, intro) in SECTIONS.items():
        if name in chosen:
            figures = run(name)
            body = ["", intro, "", "| measure | figure |", "|---|---|"]
            body += [f"| {k} | {v} |" for k, v in figures.items()]
            body.append("")
        elif name in old:
            body = old[name]
        else:
            continue
        lines += [f"## {title}", f"<!-- section: {name} -->", *body, "<!-- end -->", ""]
    extra = notes()
    if extra:
        lines += [extra, ""]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
