"""A hospital administrator cannot learn which addresses of another organization have an
account by creating (or re-addressing) a user with them.

The duplicate check ran before the allowed-domain check, so another hospital's staff address
answered 「既に登録されています」 while an unknown one of the same domain answered the domain
refusal."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Organization

from .conftest import HOSPITAL_A, HOSPITAL_B, ORGADMIN_A, login_as, user_by_email

API = "/api/v1/users/"
ORIGIN = {"Origin": "http://localhost"}


def create(client, email):
    sakura = db.session.scalars(select(Organization.id).where(Organization.code == "H0001")).one()
    role = client.application.appbuilder.sm.find_role("HospitalUser").id
    return client.post(API, json={"first_name": "確認 太郎", "email": email, "organization": sakura,
                                  "roles": [role]}, headers=ORIGIN)


def test_another_hospitals_address_is_answered_like_an_unknown_one(client, ctx):
    login_as(client, ORGADMIN_A)
    existing, unknown = create(client, HOSPITAL_B), create(client, "nobody@minato-hp.example.jp")
    assert existing.status_code == unknown.status_code == 400
    assert existing.get_json() == unknown.get_json()
    assert "既に登録" not in existing.get_json()["message"]


def test_re_addressing_a_user_answers_alike_too(client, ctx):
    login_as(client, ORGADMIN_A)
    user_id = user_by_email(HOSPITAL_A).id
    answers = [client.put(f"{API}{user_id}", json={"email": email}, headers=ORIGIN)
               for email in (HOSPITAL_B, "nobody@minato-hp.example.jp")]
    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].get_json() == answers[1].get_json()


def test_an_own_duplicate_is_still_named(client, ctx):
    login_as(client, ORGADMIN_A)
    answer = create(client, HOSPITAL_A)
    assert answer.status_code == 400 and "既に登録" in answer.get_json()["message"]
