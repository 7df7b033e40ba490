"""The e-mail rule of every screen and API (app.core.validation.email_error, by email-validator)."""
import pytest

from app.core.validation import email_error


@pytest.mark.parametrize("address", ["user@sakura-hp.example.jp", "a.b+tag@towa-medical.example.jp",
                                     "MIXED.Case@Example.JP"])
def test_ordinary_addresses_pass(address):
    assert email_error(address) is None


@pytest.mark.parametrize("address", ["", "user", "user@host", "a b@c.jp", "a@@c.jp", ".a@c.jp", "a..b@c.jp",
                                     "a.@c.jp", "日本@c.jp", "a@-c.jp", "a@c..jp", "a@[127.0.0.1]", '"a b"@c.jp',
                                     "a@" + "x" * 61 + ".jp"])
def test_malformed_addresses_get_the_screen_message(address, app):
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert str(email_error(address)) == "メールアドレスの形式が正しくありません"
