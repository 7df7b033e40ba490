"""What a rison ``q`` on the one model REST API (users) can reach, tried as hospital A's
OrgAdmin: relation filters, ``columns`` selection, ordering and ``_info``'s related values
stay within the scope and the listed columns; ``_info`` prints no build metadata."""
from __future__ import annotations

import prison
from sqlalchemy import select

from app.extensions import db
from app.models import Organization

from .conftest import HOSPITAL_B, ORGADMIN_A, login_as

API = "/api/v1/users/"


def org_id(code: str) -> int:
    return db.session.scalars(select(Organization.id).where(Organization.code == code)).one()


def get(client, path, q):
    return client.get(path, query_string={"q": prison.dumps(q)})


def test_a_relation_filter_on_another_hospital_finds_nothing(client, ctx):
    login_as(client, ORGADMIN_A)
    answer = get(client, API, {"filters": [{"col": "organization", "opr": "rel_o_m", "value": org_id("H0002")}]})
    assert answer.status_code == 200 and answer.get_json()["count"] == 0
    assert HOSPITAL_B not in answer.get_data(as_text=True)


def test_columns_outside_the_list_are_dropped(client, ctx):
    login_as(client, ORGADMIN_A)
    answer = get(client, API, {"columns": ["email", "password", "totp_secret", "organization.ip_allowlist",
                                           "organization.name"]})
    assert answer.status_code == 200
    rows = answer.get_json()["result"]
    assert rows and all(set(row) <= {"email", "organization"} for row in rows)
    assert all(set(row["organization"]) == {"name"} for row in rows)
    assert "scrypt" not in answer.get_data(as_text=True) and "pbkdf2" not in answer.get_data(as_text=True)


def test_filters_and_order_on_unlisted_columns_are_refused(client, ctx):
    login_as(client, ORGADMIN_A)
    assert get(client, API, {"filters": [{"col": "password", "opr": "sw", "value": "s"}]}).status_code == 400
    assert get(client, API, {"order_column": "organization.name"}).status_code == 400
    assert get(client, API, {"order_column": "password"}).status_code == 400


def test_info_offers_only_the_scope_and_no_catalog_header(client, ctx):
    login_as(client, ORGADMIN_A)
    answer = get(client, f"{API}_info", {"add_columns": {"organization": {"page": 0, "page_size": 100}}})
    assert answer.status_code == 200
    fields = {field["name"]: field for field in answer.get_json()["add_columns"]}
    assert [value["id"] for value in fields["organization"]["values"]] == [org_id("H0001")]
    text = answer.get_data(as_text=True)
    assert "Project-Id-Version" not in text and "Babel" not in text
    assert fields["email"]["label"] == "メール" and fields["email"]["description"] == ""
