"""The report's charts, drawn by matplotlib (Agg, no display) as SVG to inline in the page.

Imported only by the `report` command: the bot and the server never load matplotlib. Each
chart is a self-contained <svg> with a title and description for screen readers, its ids
prefixed so several can share one page, and no metadata or links.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from html import escape
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Colours: dark blue 7.1:1 and vermilion 3.9:1 against white (WCAG non-text contrast is
# 3:1), told apart by hatching too, so they survive colour-blindness and a black-and-white print
SHARED: Final = "#005A9C"
NOT_SHARED: Final = "#D55E00"
INK: Final = "#1B1B1B"
GRID: Final = "#D0D0D0"
HATCH: Final = "///"
STYLE: Final[dict[Any, Any]] = {
    "svg.fonttype": "path",  # text drawn as shapes: no font is needed where the page is read
    "svg.hashsalt": "canishare-report",  # the same numbers always give the same file
    "font.family": "DejaVu Sans",
    "font.size": 10.5,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "hatch.color": "#FFFFFF",
    "hatch.linewidth": 1.2,
}
WIDTH: Final = 7.6
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'href="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')
# namespace declarations: the HTML parser knows SVG and xlink without them, and a page with no
# URL in it at all is easier to check for external references
_NAMESPACES = re.compile(r'\sxmlns(?::xlink)?="[^"]*"')


def stacked_weeks(
    weeks: Sequence[str],
    lower: Sequence[int],
    upper: Sequence[int],
    *,
    labels: tuple[str, str],
    empty: str,
    chart_id: str,
    title: str,
    description: str,
) -> str:
    """Bars per week: `lower` solid, `upper` hatched on top of it."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(3.4)
        x = range(len(weeks))
        ax.bar(x, lower, color=SHARED, label=labels[0], width=0.7, zorder=2)
        ax.bar(
            x,
            upper,
            bottom=lower,
            color=NOT_SHARED,
            hatch=HATCH,
            edgecolor="#FFFFFF",
            linewidth=0.8,
            label=labels[1],
            width=0.7,
            zorder=2,
        )
        ax.set_xticks(list(x), [_short_week(w) for w in weeks])
        if len(weeks) > 14:
            step = -(-len(weeks) // 14)
            for i, tick in enumerate(ax.get_xticklabels()):
                tick.set_visible(i % step == 0)
        _count_axis(ax, [a + b for a, b in zip(lower, upper, strict=True)], empty)
        ax.legend(loc="upper left", bbox_to_anchor=(0, 1.16), ncols=2, frameon=False)
        return _svg(fig, chart_id, title, description)


def horizontal_bars(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    marked: Sequence[bool] = (),
    empty: str,
    chart_id: str,
    title: str,
    description: str,
) -> str:
    """One bar per label, largest first as given; `marked` bars are hatched vermilion."""
    marks = list(marked) or [False] * len(labels)
    with plt.rc_context(STYLE):
        fig, ax = _figure(max(2.2, 0.42 * len(labels) + 0.9))
        y = range(len(labels))
        bars = ax.barh(
            y,
            values,
            color=[NOT_SHARED if m else SHARED for m in marks],
            height=0.62,
            zorder=2,
        )
        for bar, mark in zip(bars, marks, strict=True):
            if mark:
                bar.set_hatch(HATCH)
        ax.set_yticks(list(y), [_clip(label) for label in labels])
        ax.invert_yaxis()
        top = max(values, default=0)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                str(value),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
            )
        _count_axis(ax, list(values), empty, axis="x", headroom=1.12 if top else 1.0)
        return _svg(fig, chart_id, title, description)


# ---------------------------------------------------------------------- drawing helpers
def _figure(height: float) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(WIDTH, height), layout="constrained")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _count_axis(
    ax: Axes, totals: Sequence[int], empty: str, *, axis: str = "y", headroom: float = 1.05
) -> None:
    """Whole numbers only, a light grid, and a clear note when every count is zero."""
    top = max(totals, default=0)
    locator = MaxNLocator(integer=True, nbins=6)
    if axis == "y":
        ax.yaxis.set_major_locator(locator)
        ax.set_ylim(0, max(1.0, top * headroom))
        ax.grid(axis="y", color=GRID, linewidth=0.8, zorder=0)
    else:
        ax.xaxis.set_major_locator(locator)
        ax.set_xlim(0, max(1.0, top * headroom))
        ax.grid(axis="x", color=GRID, linewidth=0.8, zorder=0)
    if top == 0:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", fontsize=12)


def _short_week(week: str) -> str:
    """ "2026-W09" → "W09\n2026" so week labels stay short."""
    year, _, number = week.partition("-")
    return f"{number}\n{year}"


def _clip(label: str, limit: int = 44) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _svg(fig: Figure, chart_id: str, title: str, description: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return inline_svg(buffer.getvalue(), chart_id, title, description)


def inline_svg(svg: str, chart_id: str, title: str, description: str) -> str:
    """An SVG file made fit to sit inside HTML: no XML prologue or metadata, ids prefixed
    with `chart_id`, sized by CSS, and labelled for assistive technology."""
    body = _METADATA.sub("", svg[svg.index("<svg") :])
    body = _ID.sub(lambda m: f'id="{chart_id}-{m.group(1)}"', body)
    body = _HREF.sub(lambda m: f'href="#{chart_id}-{m.group(1)}"', body)
    body = _URL.sub(lambda m: f"url(#{chart_id}-{m.group(1)})", body)
    end = body.index(">")
    root = _NAMESPACES.sub("", _SIZE.sub("", body[:end]))
    labels = (
        f' role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart"'
        f' id="{chart_id}"'
    )
    heading = (
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return root + labels + ">" + heading + body[end + 1 :].strip()
