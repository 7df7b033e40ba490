"""In Japanese (the default) no list screen shows Flask-AppBuilder's own English words: every
demo account opens its menu pages and the pages they link to, and reads what a user sees —
the text, tooltips and placeholders, and what the list filters show once opened (the
operators and the filters' fields, which FAB's search widget hands its script as JSON).
Names stored in the database (data) are taken out first."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.reports.service import generate_reports

from .page_crawl import ACCOUNTS, crawl, filter_texts, leftovers, sign_in, stored_strings, visible_texts
from .report_data import MONTH, make_dataset
from .test_menu_crawl import navbar_links

# FAB's words (its templates, widgets, filters and ab.js) that a Japanese screen must not show.
ENGLISH_FAB_WORDS = (
    "Add Filter", "Search", "Refresh", "Starts with", "Not Starts with", "Ends with",
    "Not Ends with", "Contains", "Not Contains", "Equal to", "Not Equal to", "Greater than",
    "Smaller than", "In", "Not In", "Relation", "No Relation", "Relation as Many",
    "Record Count", "Page size", "Actions", "Previous", "Next", "First", "Last", "Back",
    "Save", "Add", "Edit", "Delete", "Show", "Detail", "List", "No records found",
    "Select a State", "Select all", "Yes", "No", "Are you sure", "Cancel", "Clear",
    "Sort", "Order by", "Filter", "Empty", "Is Null", "Is Not Null",
)
WORDS = re.compile(r"(?<![A-Za-z])(" + "|".join(
    re.escape(word) for word in sorted(ENGLISH_FAB_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])")
# "OK" stays: it is what Japanese dialogs say (Windows, macOS), and it is the shared dialog's word.
ALLOWED = {"English"}  # the language switcher names English in English
def fab_english(texts: list[str], names: list[str]) -> list[str]:
    return leftovers(texts, names, WORDS, ALLOWED)


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_japanese_list_screens_show_no_english_fab_words(ctx, client, who):
    generate_reports(make_dataset()["hospital"], MONTH)
    db.session.commit()
    sign_in(client, who)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    start = ["/"] + navbar_links(home)

    def read(link: str, html: str) -> list[str]:
        assert '<html lang="ja">' in html, link
        return visible_texts(html) + filter_texts(html)

    pages = crawl(client, start, read)
    assert any("/list/" in link for link in pages) or who not in ("admin", "operator", "orgadmin"), pages.keys()
    names = stored_strings(WORDS)  # data, not screen text
    found = {link: sorted(set(left)) for link, texts in pages.items() if (left := fab_english(texts, names))}
    assert found == {}, found
