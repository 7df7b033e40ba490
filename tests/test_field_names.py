"""Every field of the monthly screens has a name a screen reader reads: a <label>, a label
around it, or aria-label. A placeholder is no name (it disappears once something is typed),
and the ledger's search box had only that."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from .conftest import HOSPITAL_A, ORGADMIN_A, login_as


class Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.label_for, self.fields, self.open_labels = set(), [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button", "reset"):
            if "hidden" not in a:
                self.fields.append((a, self.open_labels > 0))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)

    def unnamed(self):
        return [a for a, in_label in self.fields
                if not in_label and not a.get("aria-label") and not a.get("aria-labelledby")
                and a.get("id") not in self.label_for]


@pytest.mark.parametrize("email, url", [
    (HOSPITAL_A, "/ledger/"), (HOSPITAL_A, "/upload/"), (HOSPITAL_A, "/classification-mapping/"),
    (HOSPITAL_A, "/report-selection/"), (HOSPITAL_A, "/dashboard/"), (ORGADMIN_A, "/users/userinfo/"),
])
def test_every_field_has_a_name(client, email, url):
    login_as(client, email)
    response = client.get(url)
    assert response.status_code == 200
    parser = Fields()
    parser.feed(response.get_data(as_text=True))
    assert parser.unnamed() == []


def test_the_login_steps_open_with_the_focus_in_their_first_field(client):
    from app.seeding.seed import DEMO_PASSWORD

    page = client.get("/login/").get_data(as_text=True)
    assert "autofocus" in page.split('name="email"')[0].rsplit("<input", 1)[1] + page.split('name="email"')[1].split(">")[0]
    assert page.count("autofocus") == 1
    client.post("/login/", data={"email": HOSPITAL_A, "password": DEMO_PASSWORD})
    page = client.get("/login/enroll").get_data(as_text=True)
    tag = page.split('name="code"')[0].rsplit("<input", 1)[1] + page.split('name="code"')[1].split(">")[0]
    assert "autofocus" in tag


def test_the_profile_does_not_jump_into_its_forms(client):
    login_as(client, ORGADMIN_A)
    assert "autofocus" not in client.get("/users/userinfo/").get_data(as_text=True)
