"""An unknown address costs the login what a known one costs: the same hash method.

FAB's fake hash is scrypt:32768:8:1 whatever ``PASSWORD_HASH_METHOD`` says; with any other
method (the tests' pbkdf2, a stronger scrypt in production) a wrong password for a real account
took a different time than any password for an unknown address, which told the accounts apart.
"""
from __future__ import annotations

from app.services.accounts import login

from .conftest import HOSPITAL_A


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
