"""`canishare serve` with cProfile switched on and off by signals (a benchmark harness tool only:
nothing in bot/ knows about it). Run by benchmarks/profile_turn.py:

    python benchmarks/profiled_serve.py OUT.prof
    SIGUSR1 starts profiling, SIGUSR2 stops it and writes OUT.prof (pstats format).
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

from bot.cli import main

OUT = sys.argv[1]
profile = cProfile.Profile()


def start(_: int, __: FrameType | None) -> None:
    profile.enable()


def stop(_: int, __: FrameType | None) -> None:
    profile.disable()
    profile.dump_stats(OUT)


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.exit(main(["serve"]))
