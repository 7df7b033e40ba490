"""Issue 14 item 11: every search box ignores full/half width and case (NFKC and case folding
on both sides), on SQLite and on PostgreSQL: ＴＥ－２８１Ａ, ｉｃｕ and ﾃﾙﾓ find TE-281A, ICU
and テルモ in the ledger, the users, the organizations and the audit log."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import insert, select
from sqlalchemy import text as sql_text

from app.core import search
from app.extensions import db
from app.models import Equipment, Organization
from app.services.audit import trail as audit
from app.services.ledger import listing
from app.services.ledger import maintenance as ledger

from .conftest import ADMIN, HOSPITAL_A, login_as, user_by_email


def org_id(code):
    return db.session.query(Organization.id).filter_by(code=code).scalar()


@pytest.fixture()
def devices(ctx):
    a, b = org_id("H0001"), org_id("H0002")
    rows = [
        dict(hospital_id=a, device_number="ME-101", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ(株)", serial_number="X1", default_counts=True,
             delivered_on=dt.date(2020, 4, 1)),
        dict(hospital_id=a, device_number="ME-102", department_use="HCU", product_name="シリンジポンプ",
             model_number="TE-351", maker_name="ﾃﾙﾓ株式会社", serial_number="X2", default_counts=True),
        dict(hospital_id=a, device_number="ME-103", department_use="手術室", product_name="モニタ",
             model_number="BSM-1", maker_name="日本光電", serial_number="X3", default_counts=True),
        dict(hospital_id=b, device_number="B-101", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ(株)", serial_number="Y1", default_counts=True),
    ]
    db.session.execute(insert(Equipment), rows)
    db.session.commit()
    return a, b


def numbers(a, q=None, **kw):
    return sorted(r["device_number"] for r in listing.page(a, ledger.LedgerFilter(q=q or "", **kw))["rows"])


def test_fold_is_nfkc_and_casefold():
    assert search.fold("ＴＥ－２８１Ａ") == "te-281a"
    assert search.fold("ﾃﾙﾓ") == "テルモ"
    assert search.fold("ｉｃｕ") == search.fold("ICU") == "icu"


def test_the_database_function_folds_like_python(ctx):
    for text in ("ＴＥ－２８１Ａ", "ﾃﾙﾓ(ｶﾌﾞ)", "ｉｃｕ", "㈱テルモ", "Abc"):
        assert db.session.scalar(select(search.folded(text))) == search.fold(text)


def test_ledger_search_ignores_width_and_case(devices):
    a, _b = devices
    assert numbers(a, "ＴＥ－２８１Ａ") == ["ME-101"]
    assert numbers(a, "te-281a") == ["ME-101"]
    assert numbers(a, "ｉｃｕ") == ["ME-101"]
    assert numbers(a, "ﾃﾙﾓ") == ["ME-101", "ME-102"]
    assert numbers(a, "テルモ") == ["ME-101", "ME-102"]  # the half-width maker name is found too
    assert numbers(a, "ｍｅ－１０３") == ["ME-103"]
    assert numbers(a, model="ｔｅ－３５") == ["ME-102"]
    assert numbers(a, "％") == []  # a full-width wildcard stays a literal character


def test_ledger_screen_search_stays_in_its_hospital(client, devices):
    login_as(client, HOSPITAL_A)
    page = client.get("/ledger/?q=ＴＥ－２８１Ａ").get_data(as_text=True)
    assert "ME-101" in page and "B-101" not in page


def test_users_search_ignores_width_and_case(client, ctx):
    user = user_by_email(HOSPITAL_A)
    user.first_name = "ＴＥＳＴ 太郎"
    db.session.commit()
    login_as(client, ADMIN)
    # FAB's list filter "contains" (index 2 of a text column's filters)
    page = client.get("/users/list/?_flt_2_first_name=test").get_data(as_text=True)
    assert HOSPITAL_A in page and "user@minato-hp.example.jp" not in page
    page = client.get("/users/list/?_flt_2_email=ＵＳＥＲ＠ＳＡＫＵＲＡ").get_data(as_text=True)
    assert HOSPITAL_A in page and "user@minato-hp.example.jp" not in page


def test_users_api_search_ignores_width_and_case(client, ctx):
    login_as(client, ADMIN)
    import json

    q = json.dumps({"filters": [{"col": "email", "opr": "ct", "value": "ＵＳＥＲ＠ＳＡＫＵＲＡ"}]})
    response = client.get("/api/v1/users/", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)
    emails = [row["email"] for row in response.json["result"]]
    assert emails == [HOSPITAL_A]


def test_organizations_search_ignores_width(client, ctx):
    login_as(client, ADMIN)
    name = db.session.get(Organization, org_id("H0001")).name  # さくら台総合病院
    page = client.get("/organizations/list/?_flt_2_code=ｈ０００１").get_data(as_text=True)
    assert name in page and db.session.get(Organization, org_id("H0002")).name not in page


def test_audit_search_ignores_width_and_case(client, ctx):
    audit.record("user.profile_update", actor_email="Someone.Special@sakura-hp.example.jp",
                 organization_id=org_id("H0001"))
    audit.record("user.profile_update", actor_email="other.person@sakura-hp.example.jp",
                 organization_id=org_id("H0001"))
    db.session.commit()
    login_as(client, ADMIN)
    page = client.get("/audit/list/?_flt_2_actor_email=ＳＯＭＥＯＮＥ．ｓｐｅｃｉａｌ").get_data(as_text=True)
    assert "Someone.Special@sakura-hp.example.jp" in page
    assert "other.person@sakura-hp.example.jp" not in page


def test_audit_action_search_finds_labels_and_codes(client, ctx):
    """The list shows 「ログイン失敗」, not auth.login_failed: typing what is shown finds it."""
    audit.record("auth.login_failed", actor_email="typed.label@sakura-hp.example.jp",
                 organization_id=org_id("H0001"))
    audit.record("ledger.change", actor_email="ledger.editor@sakura-hp.example.jp",
                 organization_id=org_id("H0001"))
    db.session.commit()
    login_as(client, ADMIN)
    for typed in ("ログイン失敗", "ﾛｸﾞｲﾝ失敗", "AUTH.LOGIN_FAILED"):
        page = client.get(f"/audit/list/?_flt_2_action={typed}").get_data(as_text=True)
        assert "typed.label@sakura-hp.example.jp" in page, typed
        assert "ledger.editor@sakura-hp.example.jp" not in page, typed


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="PostgreSQL only: SQLite has no trigram index (CI runs both modes)")
def test_a_ledger_search_reads_the_trigram_index_not_every_device(ctx):
    """With os_fold inlined (an SQL function) the planner took a fold as nearly free and
    folded every device of the hospital on each search (~75 ms for 15,000 devices under no
    load) rather than read ix_equipment_search_trgm (~4 ms); its COST makes it choose the
    index (migration 0016_search_fold_cost)."""
    hospital = org_id("H0001")
    prefixes = ["TE", "OLV", "TEC", "FCP", "IW", "MS"]

    def model(n):  # common trigrams (te-, -28…), as in real model numbers
        return f"{prefixes[n % 6]}-{100 + n * 37 % 900}"

    db.session.execute(insert(Equipment), [
        dict(hospital_id=hospital, device_number=f"PLAN-{n:05d}", device_key=f"PLAN-{n:05d}",
             department_use=f"{n % 20}階病棟", product_name=f"製品{n % 300}", model_number=model(n),
             maker_name="テルモ株式会社", serial_number=f"S{n * 7919 % 10**8:08d}", default_counts=True)
        for n in range(5000)])
    db.session.commit()
    db.session.execute(sql_text("ANALYZE equipment"))
    clauses = ledger.filter_clauses(hospital, ledger.LedgerFilter.from_mapping({"q": "ＴＥ－２８１"}))
    statement = select(Equipment.id).where(*clauses)
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    plan = "\n".join(db.session.scalars(sql_text(f"EXPLAIN {compiled}")))
    assert "ix_equipment_search_trgm" in plan, plan
    found = db.session.scalars(statement).all()
    assert sorted(db.session.scalars(select(Equipment.device_number).where(Equipment.id.in_(found)))) == [
        f"PLAN-{n:05d}" for n in range(5000) if model(n).startswith("TE-281")]
