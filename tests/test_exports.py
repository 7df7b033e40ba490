"""Issue 14 item 12: CSV downloads (UTF-8 with BOM, CRLF, JST times) of the ledger, mapping,
users, audit and upload history lists, each scoped exactly as its list — hospital A's export
never holds hospital B's rows — and the report download history naming who downloaded."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import insert

from app.core.months import current_month
from app.extensions import db
from app.models import Classification, Download, Equipment, Organization, ReportFile, UploadFile
from app.services.audit import trail as audit

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, ORGADMIN_A, login_as, user_by_email


def org_id(code):
    return db.session.query(Organization.id).filter_by(code=code).scalar()


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert b"\r\n" in raw
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture()
def two_hospitals(ctx):
    a, b = org_id("H0001"), org_id("H0002")
    db.session.execute(insert(Equipment), [
        dict(hospital_id=a, device_number="A-001", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ", default_counts=True),
        dict(hospital_id=a, device_number="A-002", department_use="手術室", product_name="=HYPERLINK(1)",
             model_number="X", maker_name="某社", default_counts=True),
        dict(hospital_id=b, device_number="B-SECRET", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-281A", maker_name="テルモ", default_counts=True),
    ])
    db.session.add_all([
        Classification(hospital_id=a, level=1, name="A病院の分類", normalized_name="a病院の分類"),
        Classification(hospital_id=b, level=1, name="B病院の秘密分類", normalized_name="b病院の秘密分類"),
    ])
    for hospital, name in ((a, "a-ledger.csv"), (b, "b-secret.csv")):
        db.session.add(UploadFile(hospital_id=hospital, month=current_month(), file_type=1,
                                  original_name=name, size=1, sha256=name.ljust(64, "0")[:64],
                                  status="succeeded", uploaded_at=dt.datetime(2026, 11, 29, 23, 30),
                                  uploaded_by_id=user_by_email(HOSPITAL_A if hospital == a else HOSPITAL_B).id))
    db.session.commit()
    return a, b


def test_ledger_csv_is_the_list_filtered_and_scoped(client, two_hospitals):
    _a, b = two_hospitals
    login_as(client, HOSPITAL_A)
    rows = read_csv(client.get("/ledger/export.csv"))
    assert rows[0][:4] == ["集計対象", "変更あり", "利用部門", "機器番号"]
    numbers = [r[3] for r in rows[1:]]
    assert numbers == ["A-001", "A-002"]
    assert "'=HYPERLINK(1)" in rows[2]  # a formula-like value is kept as text
    rows = read_csv(client.get("/ledger/export.csv?q=ｔｅ－２８１"))
    assert [r[3] for r in rows[1:]] == ["A-001"]
    assert client.get(f"/ledger/export.csv?hospital_id={b}").status_code == 404
    page = client.get("/ledger/").get_data(as_text=True)
    assert 'id="ledger-export"' in page


def test_operator_ledger_csv_follows_the_chosen_hospital(client, two_hospitals):
    _a, b = two_hospitals
    login_as(client, ADMIN)
    rows = read_csv(client.get(f"/ledger/export.csv?hospital_id={b}"))
    assert [r[3] for r in rows[1:]] == ["B-SECRET"]


def test_mapping_csv_is_scoped(client, two_hospitals):
    _a, b = two_hospitals
    login_as(client, HOSPITAL_A)
    rows = read_csv(client.get("/classification-mapping/export.csv"))
    names = [r[1] for r in rows[1:]]
    assert "A病院の分類" in names and "B病院の秘密分類" not in names
    assert client.get(f"/classification-mapping/export.csv?hospital_id={b}").status_code == 404


def test_upload_history_csv_is_scoped_with_uploader_and_jst(client, two_hospitals):
    _a, b = two_hospitals
    login_as(client, HOSPITAL_A)
    rows = read_csv(client.get("/upload/history.csv"))
    files = [r[3] for r in rows[1:]]
    assert files == ["a-ledger.csv"]
    row = rows[1]
    assert row[4] == "2026-11-30 08:30"  # 23:30 UTC is 08:30 the next day in JST
    assert row[5] == user_by_email(HOSPITAL_A).first_name
    assert client.get(f"/upload/history.csv?hospital_id={b}").status_code == 404


def test_users_csv_is_scoped_and_follows_the_search(client, ctx):
    login_as(client, ORGADMIN_A)
    rows = read_csv(client.get("/users/export.csv"))
    emails = {r[2] for r in rows[1:]}
    assert HOSPITAL_A in emails and HOSPITAL_B not in emails
    assert all(e.endswith("sakura-hp.example.jp") for e in emails)
    assert rows[0][:3] == ["組織", "氏名", "メールアドレス"]
    rows = read_csv(client.get("/users/export.csv?_flt_2_email=ＵＳＥＲ＠"))
    assert {r[2] for r in rows[1:]} == {HOSPITAL_A}
    login_as(client, ADMIN)
    emails = {r[2] for r in read_csv(client.get("/users/export.csv"))[1:]}
    assert {HOSPITAL_A, HOSPITAL_B} <= emails
    assert 'csv-export' in client.get("/users/list/").get_data(as_text=True)


def test_audit_csv_is_scoped(client, two_hospitals):
    a, b = two_hospitals
    audit.record("ledger.change", organization_id=a, actor_email="a-actor@sakura-hp.example.jp")
    audit.record("ledger.change", organization_id=b, actor_email="b-actor@minato-hp.example.jp")
    db.session.commit()
    login_as(client, ORGADMIN_A)
    rows = read_csv(client.get("/audit/export.csv"))
    assert rows[0][0] == "日時（JST）"
    actors = {r[1] for r in rows[1:]}
    assert "a-actor@sakura-hp.example.jp" in actors and "b-actor@minato-hp.example.jp" not in actors


def test_hospital_user_cannot_export_users_or_audit(client, ctx):
    login_as(client, HOSPITAL_A)
    assert client.get("/users/export.csv").status_code in (302, 403)
    assert client.get("/audit/export.csv").status_code in (302, 403)


def test_download_history_names_who_downloaded_in_jst(client, ctx):
    a = org_id("H0001")
    report = ReportFile(hospital_id=a, month=dt.date(2026, 10, 1), file_type=1, version=1, file_name="r.xlsx",
                        storage_key="reports/x.xlsx", size=10, status="published",
                        published_at=dt.datetime(2026, 11, 1))
    db.session.add(report)
    db.session.flush()
    user = user_by_email(HOSPITAL_A)
    db.session.add(Download(report_file_id=report.id, hospital_id=a, user_id=user.id,
                            downloaded_at=dt.datetime(2026, 11, 29, 16, 5)))
    db.session.commit()
    login_as(client, HOSPITAL_A)
    page = client.get("/reports/").get_data(as_text=True)
    assert f"{user.first_name} 2026-11-30 01:05" in page
