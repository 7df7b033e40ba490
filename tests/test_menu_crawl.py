"""Menus offer only what the user can open (issue 14 item 4): for every demo account — the
dealer acting for its level-1 hospital and for its level-3 hospital through the real switcher,
and the API-only System account — every link of the navigation bar, and every link on the
pages they open, answers without 403, 404 or 500. Refusals are Japanese pages in the app's
layout."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DealerPermission, Organization

from .conftest import (
    ADMIN,
    DEALER,
    HOSPITAL_A,
    HOSPITAL_B,
    MANUFACTURER,
    OPERATOR,
    ORGADMIN_A,
    login_as,
)

SYSTEM = "system@smds.example"
SKIP = ("/static/", "/logout", "/lang/", "/dealer/choose", "/swagger", "/api/")
BAD = (403, 404, 500)


def links(html: str) -> list[str]:
    found = []
    for href in re.findall(r'href="(/[^"#]*)"', html):
        href = href.replace("&amp;", "&")
        if not href.startswith(SKIP) and href not in found:
            found.append(href)
    return found


def navbar_links(html: str) -> list[str]:
    start = html.find('<header class="top"')
    end = html.find("</header>", start)
    assert start >= 0 and end > start, "no navigation bar"
    return links(html[start:end])


def choose_dealer_hospital(client, code: str, level: int) -> None:
    with client.application.app_context():
        hospital = db.session.scalars(select(Organization).where(Organization.code == code)).one()
        permission = db.session.scalars(select(DealerPermission).where(
            DealerPermission.hospital_id == hospital.id)).one()
        assert permission.level == level, "the demo dealer's levels changed"
        hospital_id = hospital.id
    response = client.post("/dealer/choose", data={"hospital": hospital_id})
    assert response.status_code == 302


ACCOUNTS = {
    "admin": (ADMIN, None),
    "operator": (OPERATOR, None),
    "orgadmin": (ORGADMIN_A, None),
    "hospital_a": (HOSPITAL_A, None),
    "hospital_b": (HOSPITAL_B, None),
    "manufacturer": (MANUFACTURER, None),
    "dealer_level_1": (DEALER, ("H0002", 1)),
    "dealer_level_3": (DEALER, ("H0001", 3)),
    "system": (SYSTEM, None),
}


@pytest.mark.parametrize("who", list(ACCOUNTS))
def test_no_menu_link_or_page_link_is_refused(client, who):
    email, dealer_choice = ACCOUNTS[who]
    login_as(client, email)
    if dealer_choice:
        choose_dealer_hospital(client, *dealer_choice)
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    menu = navbar_links(home.get_data(as_text=True))
    failures = {}
    seen = set()
    for link in menu:
        response = client.get(link)
        seen.add(link)
        if response.status_code in BAD:
            failures[link] = response.status_code
            continue
        if response.status_code != 200:
            continue
        for inner in links(response.get_data(as_text=True)):  # one level deeper: links on the page
            if inner in seen or re.search(r"/(download|file|rejected)\b", inner):
                continue
            seen.add(inner)
            status = client.get(inner).status_code
            if status in BAD:
                failures[f"{link} → {inner}"] = status
    assert failures == {}, failures
    if who != "system":
        assert len(menu) >= 2, menu
    if who in ("admin", "hospital_a", "dealer_level_3"):
        assert len(seen) > len(menu), "the pages' own links were not followed"
    if who == "dealer_level_1":
        assert not {"/ledger/", "/report-selection/", "/classification-mapping/"} & set(menu), menu
        assert {"/upload/", "/reports/"} <= set(menu)
    if who == "dealer_level_3":
        assert {"/ledger/", "/upload/", "/classification-mapping/"} <= set(menu)
    if who == "admin":
        assert not any(link.startswith("/manufacturer/") for link in menu), menu
    if who == "system":
        assert not {"/upload/", "/reports/", "/ledger/", "/users/list/"} & set(menu), menu


@pytest.mark.parametrize("url", ["/users/list/", "/roles/list/", "/organizations/list/", "/makers/"])
def test_refusal_is_a_japanese_page_in_the_layout(client, url):
    login_as(client, HOSPITAL_A)
    response = client.get(url)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "アクセスできません" in html and "権限がありません" in html
    assert '<header class="top"' in html  # the app's navigation bar
    for english in ("Forbidden", "Access is Denied", "You don't have the permission"):
        assert english not in html


def test_unknown_page_is_a_japanese_404_in_the_layout(client):
    login_as(client, HOSPITAL_A)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "ページが見つかりません" in html and '<header class="top"' in html and "Not Found" not in html
