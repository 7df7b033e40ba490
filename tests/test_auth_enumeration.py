"""An unknown address costs the login what a known one costs: the same hash method; granting a
dealer permission answers a stopped dealer's address as an unknown one.

FAB's fake hash is scrypt:32768:8:1 whatever ``PASSWORD_HASH_METHOD`` says; with any other
method (the tests' pbkdf2, a stronger scrypt in production) a wrong password for a real account
took a different time than any password for an unknown address, which told the accounts apart.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DealerPermission, Organization, UserStatus
from app.services.accounts import login
from app.services.partners import dealers

from .conftest import DEALER, HOSPITAL_A, ORGADMIN_A, delete_dealer_permissions, login_as, user_by_email


def test_unknown_and_known_addresses_check_a_hash_of_the_same_method(app, client, monkeypatch):
    methods = []
    real = login.check_password_hash

    def recording(pwhash, password):
        methods.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(login, "check_password_hash", recording)
    for email in ("nobody@sakura-hp.example.jp", HOSPITAL_A):
        response = client.post("/login/", data={"email": email, "password": "wrong-password-1234"})
        assert response.status_code == 200
    assert methods == [app.config["FAB_PASSWORD_HASH_METHOD"]] * 2


# --- granting a dealer permission -------------------------------------------------------


def _grant_answer(client, email: str) -> tuple[int, str]:
    response = client.post("/dealer-permissions/save", data={"email": email, "level": "1", "reason": "代行"})
    page = response.get_data(as_text=True)
    start = page.index(email)  # the message names the address typed; compare the rest
    return response.status_code, page[start - 200:start + 200].replace(email, "ADDRESS")


@pytest.mark.parametrize("stopped", ["user", "company"])
def test_a_stopped_dealer_address_is_answered_as_an_unknown_one(client, ctx, stopped):
    """「利用停止中のユーザーです」 told a hospital's administrator that the address has an
    account (at a dealer): the answer is now the unknown address's, word for word."""
    dealer = user_by_email(DEALER)
    hospital = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
    delete_dealer_permissions(hospital_id=hospital.id, dealer_user_id=dealer.id)
    if stopped == "user":
        dealer.status, dealer.active = UserStatus.inactive, False
    else:
        dealer.organization.is_active = False
    db.session.commit()
    login_as(client, ORGADMIN_A)
    unknown = "nobody@towa-medical.example.jp"
    status, answer = _grant_answer(client, DEALER)
    assert (status, answer) == _grant_answer(client, unknown)
    assert "ディーラーのユーザーではありません" in answer and "利用停止中" not in answer
    assert db.session.query(DealerPermission).filter_by(hospital_id=hospital.id, dealer_user_id=dealer.id).count() == 0


def test_a_stopped_dealer_the_hospital_already_lists_is_named_as_stopped(ctx):
    """The hospital's permissions screen already names the dealers it granted, so for those
    the precise answer reveals nothing."""
    dealer = user_by_email(DEALER)
    dealer.status, dealer.active = UserStatus.inactive, False
    db.session.commit()
    hospital = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
    with pytest.raises(dealers.DealerPermissionError, match="利用停止中のユーザーです"):
        dealers.grant(hospital, DEALER, 9, "契約終了", user_by_email(ORGADMIN_A))
