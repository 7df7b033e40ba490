"""Another site cannot log a user out of every device.

/logout/ is a GET (FAB's navbar link) and ends every session of the user; the session cookie
is SameSite=Lax, so a link or redirect from any other site carried it and ended them all."""
from __future__ import annotations

from .test_auth_login import is_logged_in
from .test_auth_sessions import signed_in  # noqa: F401 (fixture)


def test_a_cross_site_logout_link_ends_nothing(signed_in):  # noqa: F811
    client, thief = signed_in
    response = client.get("/logout/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 302 and not response.location.endswith("/login/")
    assert is_logged_in(client) and is_logged_in(thief)


def test_the_navbar_logout_still_ends_every_session(signed_in):  # noqa: F811
    client, thief = signed_in
    client.get("/logout/", headers={"Sec-Fetch-Site": "same-origin"})
    assert not is_logged_in(client) and not is_logged_in(thief)
