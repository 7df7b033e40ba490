"""The language a reader chose stays chosen across login, logout and an idle logout. The
session is emptied at each of them (app/access/sessions.py), and it used to take the
choice along: someone who picked English on the login page got Japanese screens right
after logging in, and an idle logout explained itself in English above a Japanese form."""
import re

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as
from .test_auth_login import enroll


def page_language(response) -> str:
    return re.search(r'<html lang="(\w+)"', response.get_data(as_text=True)).group(1)


def test_english_chosen_on_the_login_page_stays_after_login_with_a_second_factor(client, ctx):
    response = client.get("/lang/en", follow_redirects=True)
    assert response.request.path == "/login/" and page_language(response) == "en"
    enroll(client, HOSPITAL_A)
    profile = client.get("/users/userinfo/")
    assert profile.status_code == 200 and page_language(profile) == "en"


def test_english_stays_after_logout(client):
    login_as(client, HOSPITAL_B)
    client.get("/lang/en")
    response = client.get("/logout/", follow_redirects=True)
    assert response.request.path == "/login/" and page_language(response) == "en"
    assert "Log in" in response.get_data(as_text=True)


def test_an_idle_logout_explains_itself_on_an_english_login_page(app, client):
    login_as(client, HOSPITAL_B)
    client.get("/lang/en")
    with client.session_transaction() as session:
        session["_os_seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 1
    response = client.get("/users/userinfo/", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.request.path == "/login/" and page_language(response) == "en"
    assert "ログイン" not in text and "log in again" in text.lower()


def test_the_start_page_sends_someone_not_logged_in_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/login/")
