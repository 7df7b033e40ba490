"""A dealer on the hospital screens: each level's reach, the chosen hospital, and changes
that count on the next request (issue 7 acceptance)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from app.access import dealer_choice
from app.extensions import db
from app.models import Equipment, Organization, UploadFile
from app.services.partners import dealers
from app.services.unit_of_work import unit_of_work
from app.services.uploads import records as uploads

from .conftest import DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows

LEDGER_CSV = csv_bytes([LEDGER_HEADER] + ledger_rows(3))


pytestmark = pytest.mark.usefixtures("empty_queue")


def org(code):
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def set_level(code, level, reason):
    actor = user_by_email(HOSPITAL_A if code == "H0001" else HOSPITAL_B)
    with unit_of_work():  # the service flushes; its caller commits
        dealers.grant(org(code), DEALER, level, reason, actor)


def as_dealer(client, code):
    login_as(client, DEALER)
    response = client.post("/dealer/choose", data={"hospital": org(code).id})
    assert response.status_code == 302


def upload(client):
    return client.post("/upload/", data={
        "month": f"{uploads.default_month():%Y-%m}", "ledger": (io.BytesIO(LEDGER_CSV), "ledger.csv"),
    }, content_type="multipart/form-data")


def device(code, number):
    item = Equipment(hospital_id=org(code).id, device_number=number, product_name=f"製品-{number}",
                     model_number="M-1")
    db.session.add(item)
    db.session.commit()
    return item


def an_upload(code, name):
    row = UploadFile(hospital_id=org(code).id, month=dt.date(2026, 8, 1), file_type=1,
                     original_name=name, sha256="0" * 64, status="succeeded")
    db.session.add(row)
    db.session.commit()
    return row


def test_level_1_uploads_and_downloads_but_not_ledger(client, ctx):
    set_level("H0001", 1, "アップロード代行")
    as_dealer(client, "H0001")
    assert client.get("/upload/").status_code == 200
    assert upload(client).status_code == 302
    db.session.expire_all()
    stored = db.session.scalars(select(UploadFile)).all()
    assert [u.hospital_id for u in stored] == [org("H0001").id]
    assert stored[0].uploaded_by_id == user_by_email(DEALER).id
    assert client.get("/reports/").status_code == 200
    assert client.get("/ledger/").status_code == 403
    item = device("H0001", "L1-001")
    assert client.get(f"/ledger/{item.id}").status_code == 403
    response = client.post("/ledger/change", data={"target": "one", "ids": [item.id], "counts": "0",
                                                    "reason": "x"})
    assert response.status_code == 403
    assert client.get("/classification-mapping/").status_code == 403


def test_level_2_maintains_ledger_only(client, ctx):
    """Level 2 is master maintenance without level 1's files (decision in app/dealers.py)."""
    set_level("H0001", 2, "台帳整備")
    item = device("H0001", "L2-001")
    as_dealer(client, "H0001")
    assert client.get("/ledger/").status_code == 200
    assert client.get(f"/ledger/{item.id}").status_code == 200
    response = client.post("/ledger/change", data={
        "target": "one", "ids": [item.id], "counts": "0", "reason": "廃棄予定のため"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Equipment, item.id).override_counts is False
    assert client.get("/classification-mapping/").status_code == 200
    assert client.get("/report-selection/").status_code == 200
    assert client.get("/upload/").status_code == 403
    assert upload(client).status_code == 403
    assert client.get("/reports/").status_code == 403


def test_level_9_sees_nothing_of_the_hospital(client, ctx):
    item = device("H0001", "L9-SECRET")
    row = an_upload("H0001", "secret-a.csv")
    set_level("H0001", 9, "契約終了")
    set_level("H0002", 9, "契約終了")
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": org("H0001").id}).status_code == 404
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "権限を付与した医療機関がありません" in page
    for url in ("/upload/", "/ledger/", "/reports/", "/classification-mapping/", f"/ledger/{item.id}",
                f"/upload/{row.id}/file", f"/ledger/?hospital_id={org('H0001').id}",
                f"/api/v1/ledger/{item.id}", f"/api/v1/uploads/{row.id}"):
        response = client.get(url, follow_redirects=True)
        body = response.get_data(as_text=True)
        assert "L9-SECRET" not in body and "secret-a.csv" not in body, url
        assert response.status_code in (200, 401, 403, 404), url  # 200 = the "no hospital" page
    assert client.get(f"/ledger/{item.id}").status_code in (302, 403, 404)


def test_history_shows_the_three_changes_with_reasons(client, ctx):
    set_level("H0001", 1, "理由A-アップロード")
    set_level("H0001", 2, "理由B-台帳")
    set_level("H0001", 9, "理由C-終了")
    login_as(client, HOSPITAL_A)
    page = client.get("/dealer-permissions/").get_data(as_text=True)
    history = page[page.index('id="dealer-permission-history"'):]
    positions = [history.index(r) for r in ("理由C-終了", "理由B-台帳", "理由A-アップロード")]
    assert positions == sorted(positions)


def test_lowering_the_level_counts_on_the_next_request(client, ctx):
    as_dealer(client, "H0001")  # seeded level 3
    assert client.get("/ledger/").status_code == 200
    set_level("H0001", 1, "作業範囲の縮小")
    assert client.get("/ledger/").status_code == 403
    assert client.get("/upload/").status_code == 200
    set_level("H0001", 9, "契約終了")
    # Revoked: A is no longer the dealer's hospital; B (level 1) is now its only one.
    client.get("/")
    assert client.get(f"/ledger/?hospital_id={org('H0001').id}").status_code in (403, 404)
    with client.session_transaction() as session:
        assert session[dealer_choice.SESSION_KEY] == org("H0002").id


def test_dealer_sees_only_the_chosen_hospital_and_switching_changes_it(client, ctx):
    set_level("H0002", 3, "両院の作業代行")
    device_a, device_b = device("H0001", "DEV-AAA"), device("H0002", "DEV-BBB")
    upload_a, upload_b = an_upload("H0001", "file-aaa.csv"), an_upload("H0002", "file-bbb.csv")
    as_dealer(client, "H0001")
    page = client.get("/ledger/").get_data(as_text=True)
    assert "DEV-AAA" in page and "DEV-BBB" not in page
    page = client.get("/upload/").get_data(as_text=True)
    assert "file-aaa.csv" in page and "file-bbb.csv" not in page
    assert client.get(f"/ledger/{device_b.id}").status_code == 404
    assert client.get(f"/upload/{upload_b.id}/file").status_code == 404
    assert client.get(f"/ledger/?hospital_id={org('H0002').id}").status_code == 404

    assert client.post("/dealer/choose", data={"hospital": org("H0002").id}).status_code == 302
    page = client.get("/ledger/").get_data(as_text=True)
    assert "DEV-BBB" in page and "DEV-AAA" not in page
    assert f"{org('H0002').name}の作業に切り替えました。" in page  # no space before the particle
    page = client.get("/upload/").get_data(as_text=True)
    assert "file-bbb.csv" in page and "file-aaa.csv" not in page
    assert client.get(f"/ledger/{device_a.id}").status_code == 404
    assert client.get(f"/upload/{upload_a.id}/file").status_code == 404
    assert client.get(f"/api/v1/ledger/{device_a.id}").status_code == 404
