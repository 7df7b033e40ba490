"""In Japanese (the default) no list screen shows Flask-AppBuilder's own English words: every
demo account opens its menu pages and the pages they link to, and reads what a user sees —
the text, tooltips and placeholders, and what the list filters show once opened (the
operators and the filters' fields, which FAB's search widget hands its script as JSON).
Names stored in the database (data) are taken out first."""
from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.services.reports.service import generate_reports

from .conftest import login_as
from .report_data import MONTH, make_dataset
from .test_english_crawl import ACCOUNTS, NOT_FOLLOWED, PAGE_LIMIT, VisibleText
from .test_menu_crawl import choose_dealer_hospital, links, navbar_links

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
FILTERS = re.compile(r"new AdminFilters\(\s*'#filter_form',\s*(.*?)\s*\);", re.S)


def filter_texts(html: str) -> list[str]:
    """What the list's filters show once opened: operator names and the filter fields."""
    found = FILTERS.search(html)
    if not found:
        return []
    labels, fields, operators, _active = json.loads("[" + found.group(1) + "]")
    texts = [name for names in operators.values() for name in names]
    for field in fields.values():
        parser = VisibleText()
        parser.feed(field)
        texts += parser.texts
    return texts


def fab_english(texts: list[str], names: list[str]) -> list[str]:
    left = []
    for text in texts:
        for name in names:
            if name in text:
                text = text.replace(name, " ")
        if text.strip() not in ALLOWED and WORDS.search(text):
            left.append(text.strip())
    return left


def stored_names() -> list[str]:
    """Every string the database holds that contains one of the words (data, not screen text)."""
    from flask_appbuilder import Model
    from sqlalchemy import String, Text, select

    names = set()
    for table in Model.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)) and column.name != "message":
                for (value,) in db.session.execute(select(column).distinct()):
                    if isinstance(value, str) and WORDS.search(value):
                        names.add(value)
    return sorted(names, key=len, reverse=True)


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_japanese_list_screens_show_no_english_fab_words(ctx, client, who):
    generate_reports(make_dataset()["hospital"], MONTH)
    db.session.commit()
    email, dealer_choice = ACCOUNTS[who]
    login_as(client, email)
    if dealer_choice:
        choose_dealer_hospital(client, *dealer_choice)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    start = ["/"] + navbar_links(home)
    queue, seen, pages = list(start), set(), {}
    while queue and len(seen) < PAGE_LIMIT:
        link = queue.pop(0)
        if link in seen:
            continue
        seen.add(link)
        response = client.get(link, follow_redirects=True)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        assert '<html lang="ja">' in html, link
        parser = VisibleText()
        parser.feed(html)
        pages[link] = parser.texts + filter_texts(html)
        if link in start:
            queue += [inner for inner in links(html) if not NOT_FOLLOWED.search(inner) and inner not in seen]
    assert any("/list/" in link for link in pages) or who not in ("admin", "operator", "orgadmin"), pages.keys()
    names = stored_names()
    found = {link: sorted(set(left)) for link, texts in pages.items() if (left := fab_english(texts, names))}
    assert found == {}, found
