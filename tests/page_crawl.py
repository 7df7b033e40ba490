"""Reading every page a demo account reaches, for the language crawls (test_english_crawl,
test_japanese_crawl): the start pages and the pages they link to, as the user sees them."""
from __future__ import annotations

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
        for name in names:
            if name in text:
                text = text.replace(name, " ")
        if text.strip() not in allowed and pattern.search(text):
            left.append(text.strip())
    return left
