"""In English mode no page says anything in Japanese but the data: every demo account opens
its menu pages, the start page, the dashboard and screen 4 of a month with figures, and the
links on them, and reads what a user sees (text, tooltips, placeholders, the list filters once
opened, the words page scripts show from ``data-*`` attributes). Two rules:

- everything read, once every name stored in the database (hospitals, classifications,
  devices, users…) is taken out, must be English — a label, heading, table header, separator
  or bracket still in Japanese fails here;
- UI chrome (the menu bar, headings, table headers, labels, buttons, messages, hints) quotes
  no data but the names of organizations, users, makers and classifications: with only those
  taken out it must be English. This rule does not depend on what else the database holds, so
  a chrome word that happens to equal some stored string (その他) cannot hide behind it.

The pages before login and the error pages are read the same way.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Classification, Maker, Organization, User
from app.services.reports.service import generate_reports

from .conftest import ORGADMIN_A, login_as, user_by_email
from .page_crawl import (
    ACCOUNTS,
    chrome_texts,
    crawl,
    filter_texts,
    leftovers,
    page_texts,
    sign_in,
    stored_strings,
    visible_texts,
)
from .report_data import MONTH, make_dataset
from .test_invitation_resend import invited_user
from .test_menu_crawl import navbar_links

# Kana, kanji and the Japanese punctuation (、。「」（）／ and the ideographic space).
JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
ALLOWED = {"日本語"}  # the language switcher names Japanese in Japanese


def stored_names() -> list[str]:
    """Every Japanese string the database holds (data), longest first."""
    return stored_strings(JAPANESE)


def app_japanese(texts: list[str], names: list[str]) -> list[str]:
    return leftovers(texts, names, JAPANESE, ALLOWED)


def quoted_names() -> list[str]:
    """The only data UI chrome quotes: the names of organizations, users, makers and
    classifications (a title's hospital, the menu's own name, a checkbox's maker), longest first."""
    names = set()
    for column in (Organization.name, User.first_name, Maker.name, Classification.name):
        names.update(value for value in db.session.scalars(select(column).distinct()) if value)
    return sorted(names, key=len, reverse=True)


def chrome_japanese(texts: list[str], names: list[str]) -> list[str]:
    """``element: text`` of chrome still in Japanese once those names are taken out."""
    left = []
    for text in texts:
        where, _sep, shown = text.partition(": ")
        if not JAPANESE.search(shown):
            continue
        for name in names:
            if name in shown:
                shown = shown.replace(name, " ")
        if shown.strip() not in ALLOWED and JAPANESE.search(shown):
            left.append(f"{where}: {shown.strip()}")
    return left


def pending_and_locked() -> None:
    """A user still to log in and a locked one: the users list and the start page then show
    their 「招待メールを再送」 and 「ロック中」."""
    invited_user()
    locked = user_by_email("user@sakura-hp.example.jp")
    locked.locked_until = dt.datetime.utcnow() + dt.timedelta(minutes=10)
    db.session.commit()


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_english_pages_show_no_japanese_but_data(ctx, client, who):
    generate_reports(make_dataset()["hospital"], MONTH)
    pending_and_locked()
    sign_in(client, who)
    client.get("/lang/en")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    start = ["/", f"/dashboard/?month={MONTH:%Y-%m}", f"/reports/?month={MONTH:%Y-%m}"] + navbar_links(home)
    chrome = {}

    def read(link: str, html: str) -> list[str]:
        assert '<html lang="en">' in html, link
        visible, chrome[link] = page_texts(html)
        return visible + filter_texts(html)

    pages = crawl(client, start, read)
    assert len(pages) >= 3, pages.keys()
    names = stored_names()
    found = {link: left for link, texts in pages.items() if (left := app_japanese(texts, names))}
    assert found == {}, found
    quoted = quoted_names()
    found = {link: sorted(set(left)) for link, texts in chrome.items() if (left := chrome_japanese(texts, quoted))}
    assert found == {}, found


def test_the_chrome_rule_reads_what_a_user_sees(ctx, client):
    """The rule itself: in Japanese it finds the menu, headings, buttons and filters; the
    names it leaves alone are data."""
    pending_and_locked()
    login_as(client, ORGADMIN_A)
    page = client.get("/users/list/").get_data(as_text=True)
    left = chrome_japanese(chrome_texts(page), quoted_names())
    for expected in ("div.navbar: ユーザーメンテナンス", "th: メールアドレス", "button: 招待メールを再送", "h4: ユーザー一覧"):
        assert expected in left, expected
    assert not any("桜井 管理" in text or "さくら台総合病院" in text for text in left)  # names are data
    assert "～から開始" in filter_texts(page)  # FAB's filter operators, translated


def test_pages_before_login_and_error_pages_are_english(ctx, app, client):
    """No crawl reaches these: the login screens, an expired link, a page one may not open,
    one that does not exist."""
    client.get("/lang/en")
    pages = {}
    for url in ("/login/", "/forgot-password", "/first-login/expired-or-unknown", "/users/list/"):
        pages[url] = client.get(url, follow_redirects=True).get_data(as_text=True)
    pages["wrong password"] = client.post("/login/", data={"email": "user@sakura-hp.example.jp",
                                                           "password": "wrong"}).get_data(as_text=True)
    signed_in = app.test_client()
    login_as(signed_in, "user@sakura-hp.example.jp")
    signed_in.get("/lang/en")
    for url in ("/users/list/", "/audit/show/1", "/no-such-page"):
        pages[f"hospital user {url}"] = signed_in.get(url).get_data(as_text=True)
    names = stored_names()
    for what, html in pages.items():
        assert '<html lang="en">' in html, what
    found = {what: left for what, html in pages.items() if (left := app_japanese(visible_texts(html), names))}
    assert found == {}, found
    assert "Log in" in pages["/login/"] and "invalid or has expired" in pages["/first-login/expired-or-unknown"]
