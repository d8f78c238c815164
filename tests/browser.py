"""Dashboards in a real browser (Playwright driving Debian's /usr/bin/chromium), as a user opens them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
IN_MARKDOWN = "el => !!(el.closest('.dashboard-markdown') || el.querySelector('.dashboard-markdown'))"


@contextmanager
def browser_page(width: int = 1600, height: int = 1200) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser.new_page(viewport={"width": width, "height": height})
        browser.close()


def log_in(page, base: str, username: str, password: str, attempts: int = 3) -> None:  # noqa: ANN001 - playwright Page
    # Submit once the login page is idle, as a person would: a request the page is still making when
    # the login lands can answer after it with the anonymous session cookie (Superset keeps the CSRF
    # token in the session) and overwrite the logged-in one, so the landing bounces back to /login.
    # Waiting for idle makes that rare, not impossible (a CI run met it once in ~20 log-ins): a page
    # still on /login after 30 s logs in again, as the person would; the last attempt fails the test.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        page.goto(f"{base}/login/", wait_until="networkidle")
        page.fill("input[name=username], #username", username)
        page.fill("input[name=password], #password", password)
        page.keyboard.press("Enter")
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=30_000 if attempt < attempts else 60_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise


def _wait_for_charts(page, deadline: float) -> None:  # noqa: ANN001
    while time.time() < deadline and page.locator(".loading, [aria-label='Loading']").count() > 0:
        time.sleep(0.5)


def render_dashboard(page, base: str, slug: str, screenshot: Path | None = None) -> list[tuple]:  # noqa: ANN001
    """Open a dashboard, let every chart render, and list the charts that show an error or nothing."""
    page.goto(f"{base}/superset/dashboard/{slug}/?standalone=1")
    holders = page.locator("[data-test='dashboard-component-chart-holder']")
    holders.first.wait_for(timeout=120_000)
    deadline = time.time() + 180
    _wait_for_charts(page, deadline)
    page.wait_for_timeout(1500)
    for _ in range(6):  # scroll through the page: Superset lazy-loads charts off screen
        page.mouse.wheel(0, 1200)
        page.wait_for_timeout(400)
    _wait_for_charts(page, deadline)
    page.mouse.wheel(0, -20000)  # back to the top, so the sticky header doesn't cover the text
    page.wait_for_timeout(1500)  # let the grid repaint before the full-page shot
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    problems = []
    for index in range(holders.count()):
        holder = holders.nth(index)
        if holder.evaluate(IN_MARKDOWN):
            continue  # the "how to read it" text
        text = holder.inner_text()
        rendered = holder.locator("canvas, svg, table, .header-line, .superset-legacy-chart-big-number").count()
        if "No results" in text or "Error" in text or "error" in text.lower() or not rendered:
            problems.append((slug, index, text[:120]))
    return problems
