"""Seeds and production: masters anywhere, demo accounts never in production, and the first
Admin of a production instance through a one-time first-login link."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pyotp
from sqlalchemy import func, select

from app.extensions import db
from app.models import Classification, Maker, MakerAlias, Organization, User, UserStatus

from .test_auth_links import first_login_form


@contextmanager
def environment(app, name):
    saved = app.config["OPTISERVE_ENV"]
    app.config["OPTISERVE_ENV"] = name
    try:
        yield
    finally:
        app.config["OPTISERVE_ENV"] = saved


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["optiserve", *args])


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_refuses_in_production(app, ctx):
    users = count(User)
    db.session.query(User).filter_by(email="admin@smds.example").delete()
    db.session.commit()
    with environment(app, "production"):
        result = invoke(app, "seed", "demo")
    assert result.exit_code != 0
    assert "OPTISERVE_ENV=production" in result.output and "create-admin" in result.output
    db.session.expire_all()
    assert count(User) == users - 1  # the deleted demo Admin did not come back
    assert db.session.query(User).filter_by(email="admin@smds.example").one_or_none() is None


def test_seed_demo_outside_production_restores_demo_accounts(app, ctx):
    db.session.query(User).filter_by(email="admin@smds.example").delete()
    db.session.commit()
    result = invoke(app, "seed", "demo", "--no-activity")
    assert result.exit_code == 0, result.output
    assert "demo users created: 1" in result.output
    assert db.session.query(User).filter_by(email="admin@smds.example").one().status == UserStatus.active


def test_seed_masters_in_production_loads_no_account(app, ctx):
    db.session.query(MakerAlias).delete()
    db.session.query(Maker).delete()
    db.session.commit()
    organizations, users = count(Organization), count(User)
    with environment(app, "production"):
        result = invoke(app, "seed", "masters")
    assert result.exit_code == 0, result.output
    assert count(Maker) > 5
    assert db.session.scalar(select(func.count()).select_from(Classification)
                             .where(Classification.hospital_id.is_(None))) > 10
    assert (count(Organization), count(User)) == (organizations, users)


def test_bare_seed_loads_nothing(app, ctx):
    users = count(User)
    result = invoke(app, "seed")
    assert "masters" in result.output and "demo" in result.output  # the usage lists both
    assert count(User) == users


def test_create_admin_prints_a_working_first_login_link(app, ctx, client):
    with environment(app, "production"):
        result = invoke(app, "create-admin", "--email", "Chief@Ops.Example.jp", "--name", "初代 管理者",
                        "--organization", "OPX")
    assert result.exit_code == 0, result.output
    link = re.search(r"(https?://\S+/first-login/(\S+))", result.output)
    assert link, result.output
    user = db.session.query(User).filter_by(email="chief@ops.example.jp").one()
    assert user.status == UserStatus.temporary and not user.password
    assert [r.name for r in user.roles] == ["Admin"]
    assert (user.organization.code, user.organization.kind) == ("OPX", "operator")

    path = f"/first-login/{link.group(2)}"
    page = client.get(path)
    assert page.status_code == 200
    assert "chief@ops.example.jp" in page.get_data(as_text=True)
    assert client.get("/first-login/not-a-token").status_code == 410
    response = client.post(path, data=first_login_form(first_name="初代 管理者", phone="03-0000-0001"))
    assert response.location.endswith("/login/enroll")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.get("/login/enroll").get_data(as_text=True)).group(1)
    client.post("/login/enroll", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/users/list/").status_code == 200  # an Admin's screen
    db.session.expire_all()
    assert db.session.query(User).filter_by(email="chief@ops.example.jp").one().status == UserStatus.active
    client.get("/logout/")
    assert client.get(path).status_code == 410  # one time only

    again = invoke(app, "create-admin", "--email", "chief@ops.example.jp", "--name", "x", "--organization", "OPX")
    assert again.exit_code != 0 and "already has an account in use" in again.output


def test_create_admin_again_before_first_login_gives_a_new_link(app, ctx):
    first = invoke(app, "create-admin", "--email", "chief@smds.example", "--name", "初代")
    second = invoke(app, "create-admin", "--email", "chief@smds.example", "--name", "初代")
    assert first.exit_code == second.exit_code == 0
    links = [re.search(r"/first-login/(\S+)", r.output).group(1) for r in (first, second)]
    assert links[0] != links[1]
    assert db.session.query(User).filter_by(email="chief@smds.example").one().organization.code == "OP0001"


def test_create_admin_refuses_an_account_in_use(app, ctx):
    result = invoke(app, "create-admin", "--email", "admin@smds.example", "--name", "x")
    assert result.exit_code != 0 and "already has an account in use" in result.output
