"""Organization IP allow-lists, trusted proxies, security headers, CSRF, rate limit."""
import contextlib

import pytest

from app.extensions import db
from app.models import AuditEvent, Organization
from app.seeding.seed import DEMO_PASSWORD

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as


@contextlib.contextmanager
def config(app, **values):
    saved = {key: app.config.get(key) for key in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def allow(code, cidrs):
    org = db.session.query(Organization).filter_by(code=code).one()
    org.ip_allowlist = cidrs
    db.session.commit()


def test_request_outside_allowlist_is_refused_and_audited(client, ctx):
    allow("H0001", "192.0.2.0/24")
    login_as(client, HOSPITAL_A)
    response = client.get("/users/userinfo/")
    assert response.status_code == 403
    assert "許可されていません" in response.get_data(as_text=True)
    event = db.session.query(AuditEvent).filter_by(action="policy.ip_refused").one()
    assert event.ip == "127.0.0.1" and event.actor_email == HOSPITAL_A
    inside = client.get("/users/userinfo/", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert inside.status_code == 200


def test_api_requests_are_refused_too(client, ctx):
    allow("H0001", "192.0.2.0/24")
    login_as(client, HOSPITAL_A)
    response = client.get("/api/v1/classification/")
    assert response.status_code == 403 and response.is_json


def test_forwarded_for_is_trusted_only_for_configured_proxies(app, client, ctx):
    allow("H0001", "203.0.113.0/24")
    login_as(client, HOSPITAL_A)
    request = dict(environ_base={"REMOTE_ADDR": "10.0.0.1"},
                   headers={"X-Forwarded-For": "203.0.113.9"})
    with config(app, TRUSTED_PROXY_COUNT=1):
        assert client.get("/users/userinfo/", **request).status_code == 200
    with config(app, TRUSTED_PROXY_COUNT=0):
        assert client.get("/users/userinfo/", **request).status_code == 403
    event = db.session.query(AuditEvent).filter_by(action="policy.ip_refused").one()
    assert event.ip == "10.0.0.1"


def test_other_organizations_are_not_affected(client, ctx):
    allow("H0002", "192.0.2.0/24")
    login_as(client, HOSPITAL_A)
    assert client.get("/users/userinfo/").status_code == 200


def org_form(org, **overrides):
    fields = ["kind", "code", "name", "postal_code", "prefecture", "city", "address_line1",
              "address_line2", "phone", "notification_emails", "allowed_email_domains",
              "ip_allowlist", "report_rank_count", "analysis_level",
              "manufacturer_selection_count"]
    data = {name: getattr(org, name) or "" for name in fields}
    for flag in ("mfa_required", "allows_manufacturer_access"):
        if getattr(org, flag):
            data[flag] = "y"
    data.update(overrides)
    return data


def test_orgadmin_cannot_save_allowlist_excluding_itself(client, ctx):
    login_as(client, ORGADMIN_A)
    org = db.session.query(Organization).filter_by(code="H0001").one()
    response = client.post(f"/organizations/edit/{org.id}",
                           data=org_form(org, ip_allowlist="192.0.2.0/24"), follow_redirects=True)
    assert "現在の接続元" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Organization, org.id).ip_allowlist
    client.post(f"/organizations/edit/{org.id}", data=org_form(org, ip_allowlist="127.0.0.0/8"))
    db.session.expire_all()
    assert db.session.get(Organization, org.id).ip_allowlist == "127.0.0.0/8"


def test_security_headers_and_nonce(client):
    response = client.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_in_production(app, client):
    with config(app, OPTISERVE_ENV="production"):
        assert "max-age" in client.get("/login/").headers["Strict-Transport-Security"]


def _post_routes(app):
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        values = {arg: "1" for arg in rule.arguments}
        yield rule.rule, rule.endpoint, values


def test_every_form_without_csrf_token_is_400(app, client, ctx):
    login_as(client, ADMIN)
    routes = list(_post_routes(app))
    assert any(r[0] == "/login/" for r in routes) and any("totp" in r[0] for r in routes)
    with config(app, WTF_CSRF_ENABLED=True):
        for rule, endpoint, values in routes:
            with app.test_request_context():
                from flask import url_for

                url = url_for(endpoint, **values)
            response = client.post(url, data={"x": "1"})
            assert response.status_code == 400, (rule, response.status_code)


def test_login_with_csrf_token_works_when_enabled(app, client):
    import re

    with config(app, WTF_CSRF_ENABLED=True):
        page = client.get("/login/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login/", data={"csrf_token": token, "email": HOSPITAL_A,
                                                "password": "OptiServe-demo-2026"})
        assert response.status_code == 302


@pytest.fixture()
def limited_app(app):
    """A second application with the per-IP login rate limit on (off in TestConfig)."""
    from app import create_app
    from config import TestConfig

    class Limited(TestConfig):
        AUTH_RATE_LIMITED = True
        RATELIMIT_ENABLED = True
        AUTH_RATE_LIMIT = "3 per minute"

    return create_app(Limited)


def test_login_posts_are_rate_limited_per_ip(limited_app):
    client = limited_app.test_client()
    data = {"email": "nobody@example.jp", "password": "x"}
    codes = [client.post("/login/", data=data).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    other = client.post("/login/", data=data, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert other.status_code == 200


# ---------------------------------------------------------------- API CSRF

EVIL = {"Origin": "https://evil.example"}


def _api_write_routes(app):
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if rule.rule.startswith("/api/") and methods:
            for method in sorted(methods):
                yield method, rule


def _api_url(app, rule):
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: "1" for arg in rule.arguments})


def _refused(response) -> bool:
    return response.status_code == 403 and "CSRF" in (response.get_json() or {}).get("message", "")


def _csrf_token(client) -> str:
    import re

    page = client.get("/users/userinfo/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_cookie_only_api_writes_from_another_origin_are_refused(app, client, ctx):
    """Every API write route, each method: the browser cookie alone is not enough."""
    login_as(client, ADMIN)
    routes = list(_api_write_routes(app))
    assert any(rule.rule == "/api/v1/uploads/" for _, rule in routes)
    with config(app, WTF_CSRF_ENABLED=True):
        token = _csrf_token(client)
        for method, rule in routes:
            url = _api_url(app, rule)
            for headers in (EVIL, {}, {"Origin": "null"}, {"Referer": "https://evil.example/x"},
                            {**EVIL, "X-CSRFToken": "forged"}):
                response = client.open(url, method=method, json={}, headers=headers)
                assert _refused(response), (method, rule.rule, headers, response.status_code)
            # the same request from this application's pages passes the CSRF rule
            for headers in ({"Origin": "http://localhost"}, {"Referer": "http://localhost/upload/"},
                            {"Origin": "http://127.0.0.1:5000"}, {**EVIL, "X-CSRFToken": token}):
                response = client.open(url, method=method, json={}, headers=headers)
                assert not _refused(response), (method, rule.rule, headers)
    refused = db.session.query(AuditEvent).filter_by(action="policy.csrf_refused").count()
    assert refused == 5 * len(routes)


def test_cross_site_upload_with_the_cookie_stores_nothing(app, client, ctx):
    """The reported attack: POST /api/v1/uploads/ with the cookie, no token, evil Origin."""
    import io

    from app.models import UploadFile

    from .test_upload import LENDING_CSV, month

    login_as(client, HOSPITAL_A)

    def upload(headers):
        return client.post("/api/v1/uploads/", headers=headers, content_type="multipart/form-data",
                           data={"month": month(), "file_type": "2",
                                 "file": (io.BytesIO(LENDING_CSV), "lend.csv")})

    with config(app, WTF_CSRF_ENABLED=True):
        assert _refused(upload(EVIL))
        assert db.session.query(UploadFile).count() == 0
        response = upload({**EVIL, "X-CSRFToken": _csrf_token(client)})
        assert response.status_code == 201, response.get_data(as_text=True)
    assert db.session.query(UploadFile).count() == 1


def test_api_key_clients_are_exempt(app, client, ctx):
    from .conftest import user_by_email

    key = app.appbuilder.sm.create_api_key(user_by_email(ADMIN), "csrf-test")["key"]
    machine = app.test_client()
    login_as(client, HOSPITAL_A)  # a browser cookie beside the key changes nothing
    with config(app, WTF_CSRF_ENABLED=True):
        for method, rule in _api_write_routes(app):
            url = _api_url(app, rule)
            for caller in (machine, client):
                response = caller.open(url, method=method, json={}, headers={
                    **EVIL, "Authorization": f"Bearer {key}"})
                assert not _refused(response), (method, rule.rule)


def test_private_pages_are_kept_out_of_the_browser_cache(client):
    """The back button after logout (or the next person at a shared PC) must not bring
    back a user list, a profile or an audit log from the browser's cache."""
    login_as(client, ORGADMIN_A)
    for url in ("/", "/users/list/", "/users/userinfo/", "/audit/list/", "/dealer-permissions/",
                "/apikeys/", "/users/show/1"):
        response = client.get(url)
        assert "no-store" in response.headers.get("Cache-Control", ""), url
    client.get("/logout/")
    assert "no-store" in client.get("/login/").headers.get("Cache-Control", "")


def test_the_totp_enrollment_page_is_not_cached(client):
    response = client.post("/login/", data={"email": HOSPITAL_A, "password": DEMO_PASSWORD})
    assert response.location.endswith("/login/enroll")
    assert "no-store" in client.get("/login/enroll").headers.get("Cache-Control", "")


def test_static_files_stay_cacheable(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
