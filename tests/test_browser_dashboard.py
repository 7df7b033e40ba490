"""In headless Chromium (issue 14): the dashboard's headline cards and an interactive chart
(hovering a bar shows its value) under the nonce CSP, and the start pages of the operator and
the OrgAdmin. Screenshots at 1440×900 go to a temporary folder; with
``OPTISERVE_SCREENSHOTS=docs/screens`` they refresh the ones in the repository (looked at by hand)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright import sync_api

from app.extensions import db

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import HOSPITAL_A, HOSPITAL_B, OPERATOR, ORGADMIN_A
from .report_data import make_dataset

pytestmark = BROWSER_TEST


def screens() -> Path:
    """Where screenshots go: a test run does not rewrite files of the repository unless asked."""
    return Path(os.environ.get("OPTISERVE_SCREENSHOTS") or tempfile.mkdtemp(prefix="optiserve-screens-"))


VIEWPORT = {"width": 1440, "height": 900}


def open_page(browser, errors):
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text
            else None)  # CSP refusals are console errors
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("favicon.ico") else None)
    return page


def test_dashboard_cards_and_hover_value(app, ctx):
    make_dataset()
    db.session.remove()
    errors: list[str] = []
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = open_page(browser, errors)
            browser_login(page, base, HOSPITAL_A)
            page.goto(f"{base}/dashboard/?month=2025-05")
            page.wait_for_selector("#dashboard-cards")
            utilization = page.locator('.dash-card[data-figure="utilization"]')
            assert "11.09%" in utilization.inner_text()
            assert utilization.locator('[data-compare="previous"]').get_attribute("class").endswith("tone-good")
            failure_rate = page.locator('.dash-card[data-figure="failure_rate"]')
            assert failure_rate.locator('[data-compare="previous"]').get_attribute("class").endswith("tone-bad")
            assert "合計故障時間 ÷ (機器台数 × H)" in failure_rate.get_attribute("title")
            # The ① trend chart of all devices: hover May's bar, the tooltip says its value.
            page.wait_for_function("() => document.querySelector('[data-scope=all] .dash-chart').chart")
            point = page.evaluate("""() => {
                const box = document.querySelector('[data-scope="all"] .dash-chart[data-chart="lending"]');
                const bar = box.chart.getDatasetMeta(0).data[12];
                const rect = box.querySelector('canvas').getBoundingClientRect();
                return {x: rect.left + bar.x, y: rect.top + (bar.y + bar.base) / 2};
            }""")
            page.mouse.move(point["x"], point["y"])
            tooltip = page.locator("#dash-tooltip")
            tooltip.wait_for(state="visible")
            text = tooltip.inner_text()
            assert "2025-05" in text and "貸出回数: 4回" in text  # L1–L4 overlap May; D5 does not count and "稼働率: 11.09%" in text
            page.mouse.move(5, 5)
            page.screenshot(path=str(screens() / "dashboard.png"))
            # Each section's heading shows the ▶ / ▼ that says it opens (Bootstrap hid it).
            assert set(page.eval_on_selector_all(
                "details.dashboard-scope > summary", "es => es.map(e => getComputedStyle(e).display)")) == {"list-item"}
            # A month without data: the latest month, and a notice saying so (not an empty month).
            page.goto(f"{base}/dashboard/?month=2023-01")
            page.wait_for_selector("#dashboard-cards")
            assert "2023年1月のデータはありません。2025年5月を表示しています。" in page.inner_text("body")
            assert page.eval_on_selector("#dash-month", "s => s.value") == "2025-05"
            # A hospital without data: a clear message, no axes.
            page.context.clear_cookies()
            browser_login(page, base, HOSPITAL_B)
            page.goto(f"{base}/dashboard/")
            assert page.inner_text("#dashboard-empty").startswith("データがありません")
            assert page.locator("canvas").count() == 0
        finally:
            browser.close()
    assert not errors, errors


def test_start_pages_of_operator_and_orgadmin(app, ctx):
    errors: list[str] = []
    folder = screens()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for email, selector, name in ((OPERATOR, "#start-operator", "start-operator.png"),
                                          (ORGADMIN_A, "#start-orgadmin", "start-orgadmin.png")):
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                browser_login(page, base, email)
                page.goto(f"{base}/")
                page.wait_for_selector(selector)
                assert "ようこそ" not in page.inner_text("body")
                page.screenshot(path=str(folder / name))
                context.close()
        finally:
            browser.close()
    assert not errors, errors
