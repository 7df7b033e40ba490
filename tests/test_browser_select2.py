"""Flask-AppBuilder's select2 widgets in headless Chromium: each is named by its field's label
(a screen reader says which field it is), and speaks the reader's language."""
from __future__ import annotations

import re

from .browser import BROWSER_TEST, logged_in_page
from .conftest import ADMIN

pytestmark = BROWSER_TEST


def _names(page) -> list[str]:
    """The accessible name of every select2 on the page, as the browser computes it."""
    names = []
    for box in page.locator(".select2-selection").all():
        ids = (box.get_attribute("aria-labelledby") or "").split()
        names.append(" ".join(page.locator(f"#{i}").inner_text().strip() for i in ids))
    return names


def test_form_select2s_are_named_by_their_labels_and_speak_japanese(app):
    with logged_in_page(app, ADMIN) as (page, base):
        page.goto(f"{base}/users/add")
        labels = {page.inner_text(f"label[for='{box.get_attribute('id')}']").strip()
                  for box in page.locator("select.my_select2").all()}
        assert labels, "the user form has select2 fields"
        names = _names(page)
        assert len(names) == page.locator("select.my_select2").count()
        for label in labels:
            assert any(name.startswith(label) for name in names), (label, names)
            assert page.get_by_role("combobox", name=re.compile(re.escape(label))).count() >= 1
        page.locator(".select2-selection").first.click()
        search = page.locator(".select2-container--open .select2-search__field")
        assert search.get_attribute("aria-label") in labels
        search.fill("zzzzzz-no-such-thing")
        page.wait_for_selector("text=見つかりませんでした")
        assert "No results found" not in page.inner_text("body")
        assert "Select a State" not in page.inner_text("body")


def test_filter_select2s_are_named_and_speak_english_when_chosen(app):
    with logged_in_page(app, ADMIN) as (page, base):
        page.goto(f"{base}/lang/en")
        page.goto(f"{base}/users/list/")
        page.click("a.accordion-toggle")
        page.click("button.dropdown-toggle:has(+ ul a.filter)")
        page.click("a.filter[name=organization]")
        page.wait_for_selector("select.filter-op + .select2-container")
        names = _names(page)
        assert any(name.startswith("Organization condition") for name in names), names
        assert any(name.startswith("Organization") and "condition" not in name for name in names), names
        page.goto(f"{base}/users/add")
        page.locator(".select2-selection").first.click()
        search = page.locator(".select2-container--open .select2-search__field")
        search.fill("zzzzzz-no-such-thing")
        page.wait_for_selector("text=No results found")
