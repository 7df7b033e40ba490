"""Keyboard only: every item of the menu bar is reached with Tab, shows where the focus is,
and has a name a screen reader can read. FAB gave top-level items (ダッシュボード,
分析レポートのダウンロード) tabindex="-1", Bootstrap takes the focus ring off dropdown toggles,
and the language button was a bare flag."""
from __future__ import annotations

from .browser import BROWSER_TEST, logged_in_page
from .conftest import HOSPITAL_A

pytestmark = BROWSER_TEST

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  return {href: e.getAttribute('href'), inNavbar: !!e.closest('.navbar'),
          name: (e.getAttribute('aria-label') || e.innerText || '').trim(),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0};
}"""


def tab_through_the_menu_bar(page) -> list[dict]:
    stops = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused or not focused["inNavbar"]:
            break
        stops.append(focused)
    return stops


def test_the_menu_bar_is_reached_seen_and_named_with_the_keyboard(app, ctx):
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/upload/")
        stops = tab_through_the_menu_bar(page)
    hrefs = [s["href"] for s in stops]
    assert "/dashboard/" in hrefs and "/reports/" in hrefs
    assert [s for s in stops if not s["ring"]] == []
    assert [s for s in stops if not s["name"]] == []
    assert any(s["name"].startswith("表示言語") for s in stops)


def test_the_dashboards_month_is_chosen_with_arrow_keys_then_enter(app, ctx):
    """↓ on the month picker reloaded the page at once (focus lost, one month per reload);
    from the keyboard the page now waits for Enter, while a mouse choice still shows at once."""
    from .report_data import make_dataset

    make_dataset()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/dashboard/?month=2025-05")
        options = page.eval_on_selector_all("#dash-month option", "os => os.map(o => o.value)")
        two_down = options[options.index("2025-05") + 2]
        page.focus("#dash-month")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(500)
        assert page.url.endswith("month=2025-05")
        assert page.input_value("#dash-month") == two_down
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"month={two_down}")
        with page.expect_navigation():
            page.select_option("#dash-month", options[0])  # as a mouse choice: at once
        assert page.url.endswith(f"month={options[0]}")


def test_the_dashboards_definitions_are_reached_with_the_keyboard(app, ctx):
    """The ⓘ definitions were hover-only (a title, the card's ⓘ hidden from screen readers)."""
    from .report_data import make_dataset

    make_dataset()
    with logged_in_page(app, HOSPITAL_A) as (page, base):
        page.goto(f"{base}/dashboard/?month=2025-05")
        infos = page.locator(".dash-info")
        assert infos.count() >= 5
        for i in range(infos.count()):
            info = infos.nth(i)
            assert info.get_attribute("tabindex") == "0" and info.get_attribute("aria-hidden") is None
            assert info.get_attribute("aria-label").startswith("定義: ")
        infos.first.focus()
        shown = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
        assert len(shown) > 10
