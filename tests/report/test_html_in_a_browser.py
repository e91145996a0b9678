"""The HTML report in a real headless browser (one launch, several pages, to keep the suite
quick): it renders, its charts are there with text alternatives and data tables, it reflows at
200% zoom, prints, an empty period still renders, and it asks the network for nothing at all.
The screenshots are left in the test's tmp_path to look at."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from playwright.async_api import Page

from bot.report.figures import gather
from bot.report.page import answer_titles, render_html
from bot.report.period import Period
from bot.service import Bot
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.report.browser import Browsing, chromium
from tests.report.practice import Clock, day, make_a_month

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
EMPTY_MONTH = Period(date(2026, 2, 1), date(2026, 2, 28))


async def write_report(bot: Bot, path: Path, period: Period = NOVEMBER) -> str:
    figures = await gather(bot.store, period, now=day(2, 9, month=12))
    titles = answer_titles(bot.conversation.knowledge.kb)
    path.write_text(render_html(figures, titles), encoding="utf-8")
    return path.as_uri()


async def open_page(browsing: Browsing, url: str, *, width: int = 1100, scale: float = 1) -> Page:
    page = await browsing.context.new_page()
    await page.set_viewport_size({"width": width, "height": 900})
    page.on(
        "console",
        lambda m: browsing.console_errors.append(m.text) if m.type == "error" else None,
    )
    if scale != 1:
        # 200% zoom lays a page out as a window half as wide, at twice the pixels
        await page.set_viewport_size({"width": int(width / scale), "height": 900})
    await page.goto(url)
    return page


async def chart_facts(page: Page) -> list[dict[str, object]]:
    result: list[dict[str, object]] = await page.eval_on_selector_all(
        "svg.chart",
        """charts => charts.map(svg => {
            const box = svg.getBoundingClientRect();
            const named = (svg.getAttribute('aria-labelledby') || '').split(' ')
                .map(id => document.getElementById(id)?.textContent || '');
            return {role: svg.getAttribute('role'), label: named.join(' | '),
                    width: box.width, height: box.height,
                    bars: svg.querySelectorAll('path').length,
                    caption: svg.closest('figure')?.querySelector('figcaption')?.textContent || '',
                    table: !!svg.closest('section')?.querySelector('table th[scope=col]')};
        })""",
    )
    return result


async def test_the_report_renders_its_charts_and_tables_reflows_prints_and_asks_for_nothing(
    bot: Bot, clock: Clock, settings: Settings, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await make_a_month(bot, clock, settings, fake_slack)
    url = await write_report(bot, tmp_path / "report.html")
    empty_url = await write_report(bot, tmp_path / "empty.html", EMPTY_MONTH)
    screenshot = tmp_path / "report.png"

    async with chromium(tmp_path / "profile", allowed=(url, empty_url)) as browsing:
        page = await open_page(browsing, url)
        title = await page.title()
        heading = await page.inner_text("h1")
        period = await page.inner_text(".period")
        charts = await chart_facts(page)
        headings = await page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
        weeks = await page.eval_on_selector_all(
            "#decisions-by-week tbody tr",
            "rows => rows.map(r => [...r.children].map(c => c.textContent))",
        )
        escalations = await page.inner_text("#escalations table")
        glance = await page.inner_text("#glance")
        await page.screenshot(path=str(screenshot), full_page=True)

        zoomed = await open_page(browsing, url, width=1280, scale=2)
        overflow = await zoomed.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        await zoomed.screenshot(path=str(tmp_path / "zoomed.png"), full_page=True)
        await zoomed.emulate_media(media="print")
        nav = await zoomed.eval_on_selector("nav", "n => getComputedStyle(n).display")
        pdf = await zoomed.pdf(path=str(tmp_path / "report.pdf"))

        empty = await open_page(browsing, empty_url)
        empty_charts = await chart_facts(empty)
        empty_note = await empty.inner_text("#glance")
        await empty.screenshot(path=str(tmp_path / "empty.png"), full_page=True)

    # it renders: a clear title and period
    assert "monitoring report" in title and "1 November 2026 to 30 November 2026" in title
    assert heading == "Can I share? — monitoring report"
    assert "1 November 2026 to 30 November 2026" in period
    assert {"Decisions each week", "Decisions by outcome", "Requests for advice"} <= set(headings)
    assert screenshot.stat().st_size > 50_000
    # the charts are there, drawn, named for screen readers, explained, with their numbers
    assert len(charts) >= 3
    for chart in charts:
        assert chart["role"] == "img"
        assert len(str(chart["label"])) > 40, chart  # a title and a description with the numbers
        assert float(str(chart["width"])) > 500 and float(str(chart["height"])) > 150
        assert int(str(chart["bars"])) > 10  # matplotlib drew it: axes, ticks, bars
        assert str(chart["caption"]).startswith("What this shows:")
        assert chart["table"]
    assert weeks[1] == ["2026-W45", "1", "1", "2"]
    assert weeks[-1] == ["Total", "4", "2", "6"]
    assert "Not yet claimed\t1" in escalations
    assert "51 minutes" in glance
    # at 200% zoom nothing needs scrolling sideways; printing drops the contents list
    assert overflow <= 0
    assert nav == "none"
    assert pdf.startswith(b"%PDF")
    # an empty period still draws every chart, and says there was nothing
    assert len(empty_charts) == len(charts)
    assert all(float(str(c["height"])) > 100 for c in empty_charts)
    assert "Nothing was recorded in this period." in empty_note
    # and nothing was fetched, or even tried
    assert browsing.requests == [url, url, empty_url], f"more was asked: {browsing.requests}"
    assert browsing.refused == []
    assert browsing.console_errors == []
