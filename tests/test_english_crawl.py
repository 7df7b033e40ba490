"""In English mode no page says anything in Japanese but the data: every demo account opens
its menu pages, the start page, the dashboard and screen 4 of a month with figures, and the
links on them, and reads what a user sees (text, tooltips, placeholders). What is left after
taking out every name stored in the database (hospitals, classifications, devices, users…)
must be English — a label, heading, table header, separator or bracket still in Japanese
fails here."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.reports.service import generate_reports

from .page_crawl import ACCOUNTS, crawl, leftovers, sign_in, stored_strings, visible_texts
from .report_data import MONTH, make_dataset
from .test_menu_crawl import navbar_links

# Kana, kanji and the Japanese punctuation (、。「」（）／ and the ideographic space).
JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
ALLOWED = {"日本語"}  # the language switcher names Japanese in Japanese


def stored_names() -> list[str]:
    """Every Japanese string the database holds (data), longest first."""
    return stored_strings(JAPANESE)


def app_japanese(texts: list[str], names: list[str]) -> list[str]:
    return leftovers(texts, names, JAPANESE, ALLOWED)


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_english_pages_show_no_japanese_but_data(ctx, client, who):
    generate_reports(make_dataset()["hospital"], MONTH)
    db.session.commit()
    sign_in(client, who)
    client.get("/lang/en")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    start = ["/", f"/dashboard/?month={MONTH:%Y-%m}", f"/reports/?month={MONTH:%Y-%m}"] + navbar_links(home)
    pages = crawl(client, start, lambda _link, html: visible_texts(html))
    assert len(pages) >= 3, pages.keys()
    names = stored_names()
    found = {link: left for link, texts in pages.items() if (left := app_japanese(texts, names))}
    assert found == {}, found
