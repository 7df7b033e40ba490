"""Reading every page a demo account reaches, for the language crawls (test_english_crawl,
test_japanese_crawl): the start pages and the pages they link to, as the user sees them."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

from flask_appbuilder import Model
from sqlalchemy import String, Text, select

from app.extensions import db

from .conftest import ADMIN, DEALER, HOSPITAL_A, MANUFACTURER, OPERATOR, ORGADMIN_A, login_as
from .test_menu_crawl import choose_dealer_hospital, links

NOT_FOLLOWED = re.compile(r"/(download|file|rejected|export|print|lang|logout|static|api|swagger)\b")
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
PAGE_LIMIT = 120
FILTERS = re.compile(r"new AdminFilters\(\s*'#filter_form',\s*(.*?)\s*\);", re.S)

ACCOUNTS = {
    "admin": (ADMIN, None),
    "operator": (OPERATOR, None),
    "orgadmin": (ORGADMIN_A, None),
    "hospital": (HOSPITAL_A, None),
    "manufacturer": (MANUFACTURER, None),
    "dealer_level_3": (DEALER, ("H0001", 3)),
    "dealer_level_1": (DEALER, ("H0002", 1)),
}


def sign_in(client, who: str) -> None:
    """Log in as the demo account ``who`` (a key of ACCOUNTS), a dealer acting for its hospital."""
    email, dealer_choice = ACCOUNTS[who]
    login_as(client, email)
    if dealer_choice:
        choose_dealer_hospital(client, *dealer_choice)


class VisibleText(HTMLParser):
    """The text a user reads: text outside <script>/<style>, and tooltips and placeholders."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.texts += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


def filter_texts(html: str) -> list[str]:
    """What the list's filters show once opened: operator names and the filter fields."""
    found = FILTERS.search(html)
    if not found:
        return []
    labels, fields, operators, _active = json.loads("[" + found.group(1) + "]")
    texts = [name for names in operators.values() for name in names]
    for field in fields.values():
        texts += visible_texts(field)
    return texts


def crawl(client, start: list[str], read: Callable[[str, str], list[str]]) -> dict[str, list[str]]:
    """GET the start pages and the pages they link to (at most PAGE_LIMIT); ``read(link, html)``
    gives what a page shows. Downloads, the language switch and logout are not followed."""
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
        pages[link] = read(link, html)
        if link in start:  # and the pages these link to
            queue += [inner for inner in links(html) if not NOT_FOLLOWED.search(inner) and inner not in seen]
    return pages


def stored_strings(pattern: re.Pattern) -> list[str]:
    """Every string the database holds (data) that ``pattern`` finds, longest first; stored
    messages excepted, as they are rendered in the reader's language."""
    names = set()
    for table in Model.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)) and column.name != "message":
                for (value,) in db.session.execute(select(column).distinct()):
                    if isinstance(value, str) and pattern.search(value):
                        names.add(value)
    return sorted(names, key=len, reverse=True)


def leftovers(texts: list[str], names: list[str], pattern: re.Pattern, allowed: set[str]) -> list[str]:
    """The texts in which ``pattern`` still finds something once the stored names are taken out."""
    left = []
    for text in texts:
        if not pattern.search(text):
            continue  # nothing to look for: no need to take the names out
        for name in names:
            if name in text:
                text = text.replace(name, " ")
        if text.strip() not in allowed and pattern.search(text):
            left.append(text.strip())
    return left


# UI chrome: what the app itself labels — the menu bar, headings, table headers, form labels,
# buttons, messages and hints. Their text is app text, apart from a few names it quotes.
CHROME_TAGS = {"header", "nav", "th", "label", "button", "h1", "h2", "h3", "h4", "legend", "caption",
               "dt", "title"}
CHROME_CLASSES = {"alert", "btn", "help-block", "breadcrumb", "panel-heading", "navbar"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
             "source", "track", "wbr"}


class ChromeText(VisibleText):
    """What :class:`VisibleText` reads (``texts``) and, in the same pass, the text inside
    UI-chrome elements as ``element: text`` (the innermost chrome element), with the tooltips,
    placeholders and the words page scripts show from ``data-*`` attributes (``chrome``)."""

    def __init__(self):
        super().__init__()
        self.chrome: list[str] = []
        self._stack: list[tuple[str, str | None]] = []  # (tag, its chrome name or None)

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        for name, value in attrs:
            if value and (name in SHOWN_ATTRIBUTES or name.startswith("data-") and not name.endswith("url")):
                self.chrome.append(f"{tag}[{name}]: {value}")
        if tag in VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split()) & CHROME_CLASSES
        chrome = tag if tag in CHROME_TAGS else (f"{tag}.{min(classes)}" if classes else None)
        self._stack.append((tag, chrome))

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if not any(open_tag == tag for open_tag, _chrome in self._stack):
            return  # a stray end tag
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        super().handle_data(data)
        if self._hidden or not data.strip():
            return
        chrome = [name for _tag, name in self._stack if name]
        if chrome:
            self.chrome.append(f"{chrome[-1]}: {' '.join(data.split())}")


def page_texts(html: str) -> tuple[list[str], list[str]]:
    """``(visible texts, chrome texts)`` of a page, read in one pass."""
    parser = ChromeText()
    parser.feed(html)
    return parser.texts, parser.chrome


def chrome_texts(html: str) -> list[str]:
    return page_texts(html)[1]
