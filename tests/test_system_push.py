"""System pushes: masters (idempotent upserts by on-prem id, full push deactivates, all or
nothing) and the cleaned ledger (the path of an uploaded ledger); System only."""
from __future__ import annotations

import copy

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.ingest import ingest_job
from app.models import (
    AuditEvent,
    Classification,
    Equipment,
    Maker,
    MakerAlias,
    Organization,
    UploadFile,
    UploadStatus,
)
from app.services.partners.manufacturers import candidate_hospitals
from app.services.sync import masters
from app.services.uploads.records import history

from .conftest import ADMIN, DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .ingest_helpers import LEDGER_HEADER, MONTH, csv_bytes, ledger_rows
from .test_api_keys import bearer, key_for

SYSTEM = "system@smds.example"

PAYLOAD = {
    "hospitals": [
        {"id": "HP-1", "code": "H0002", "name": "みなと中央病院", "prefecture": "神奈川県"},  # adopts the demo one
        {"id": "HP-9", "code": "H9001", "name": "ひかり台病院", "postal_code": "100-0001", "city": "千代田区"},
    ],
    "dealers": [{"id": "DL-1", "code": "D9001", "name": "北辰メディカル株式会社"}],
    "manufacturers": [{"id": "MF-1", "code": "M9001", "name": "東都医科工業株式会社"}],
    "smds_classifications": [
        {"id": "S-1", "level": 1, "name": "人工呼吸器（推送）", "code": "901"},
        {"id": "S-2", "level": 2, "parent_id": "S-1", "name": "成人用人工呼吸器"},
        {"id": "S-3", "level": 1, "name": "透析装置（推送）", "code": "902"},
    ],
    "hospital_classifications": [
        {"id": "C-1", "hospital_id": "HP-9", "level": 1, "name": "呼吸器", "smds_id": "S-1"},
        {"id": "C-2", "hospital_id": "HP-9", "level": 2, "parent_id": "C-1", "name": "人工呼吸器", "smds_id": "S-2"},
    ],
    "makers": [{"id": "MK-1", "name": "東都医科工業株式会社", "aliases": ["トウト医科工業(株)", "TOTO IKA"],
                "manufacturer_id": "MF-1"}],
}


@pytest.fixture()
def system_key(app, ctx):
    return key_for(app, SYSTEM)


def push(client, key, payload, idem="m-1"):
    return client.post("/api/v1/system/masters/", json=payload, headers={**bearer(key), "Idempotency-Key": idem})


def org(code) -> Organization | None:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one_or_none()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def state() -> dict:
    """Everything a push may touch, with the timestamps."""
    db.session.expire_all()
    return {
        "organizations": sorted((o.code, o.name, o.external_id, o.is_active, o.changed_on)
                                for o in db.session.scalars(select(Organization))),
        "classifications": sorted((c.id, c.name, c.external_id, c.is_active, c.parent_id, c.smds_classification_id,
                                   c.mapped_at) for c in db.session.scalars(select(Classification))),
        "makers": sorted((m.id, m.name, m.external_id, m.organization_id) for m in db.session.scalars(select(Maker))),
        "aliases": count(MakerAlias),
        # audit rows about data (the API key's own log of every write call is not one)
        "audit": count(AuditEvent, AuditEvent.action.notin_(["api_key.write", "access.refused"])),
    }


def test_push_upserts_by_onprem_id_and_the_same_payload_twice_changes_nothing(client, system_key):
    demo_minato = org("H0002").id
    first = push(client, system_key, PAYLOAD)
    assert first.status_code == 200, first.get_json()
    counts = first.get_json()["result"]["counts"]
    assert counts["hospitals"] == {"created": 1, "updated": 1, "unchanged": 0, "deactivated": 0}
    assert counts["smds_classifications"]["created"] == 3 and counts["makers"]["created"] == 1
    assert org("H0002").id == demo_minato and org("H0002").external_id == "HP-1"  # adopted, not duplicated
    hikari = org("H9001")
    assert (hikari.kind, hikari.name, hikari.city, hikari.is_active) == ("hospital", "ひかり台病院", "千代田区", True)
    assert org("D9001").kind == "dealer" and org("M9001").kind == "manufacturer"
    child = db.session.scalars(select(Classification).where(Classification.external_id == "C-2")).one()
    assert child.hospital_id == hikari.id and child.parent.name == "呼吸器"
    assert child.smds_classification.name == "成人用人工呼吸器" and child.mapping_method == "onprem"
    assert child.smds_classification.parent.name == "人工呼吸器（推送）"
    maker = db.session.scalars(select(Maker).where(Maker.external_id == "MK-1")).one()
    assert maker.organization_id == org("M9001").id
    assert {a.alias for a in maker.aliases} >= {"トウト医科工業(株)", "TOTO IKA"}
    assert count(AuditEvent, AuditEvent.action == "masters.push") == 1

    before = state()
    again = push(client, system_key, copy.deepcopy(PAYLOAD), idem="m-2")  # a new key: really applied again
    assert again.status_code == 200
    result = again.get_json()["result"]
    assert result["changed"] is False
    assert all(c["created"] == c["updated"] == c["deactivated"] == 0 for c in result["counts"].values())
    assert state() == before  # no row, timestamp or audit row more

    replay = push(client, system_key, PAYLOAD, idem="m-1")
    assert replay.get_json() == first.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    assert push(client, system_key, {"hospitals": PAYLOAD["hospitals"][:1]}, idem="m-1").status_code == 409
    assert state() == before


def test_a_changed_field_is_updated_and_audited(client, system_key):
    push(client, system_key, PAYLOAD)
    changed = copy.deepcopy(PAYLOAD)
    changed["hospitals"][1]["name"] = "ひかり台総合病院"
    changed["hospital_classifications"][1]["smds_id"] = "S-3"
    answer = push(client, system_key, changed, idem="m-2").get_json()["result"]
    assert answer["counts"]["hospitals"]["updated"] == 1 and answer["counts"]["hospital_classifications"]["updated"] == 1
    assert org("H9001").name == "ひかり台総合病院"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "masters.push")
                               .order_by(AuditEvent.id.desc())).first()
    assert {"section": "hospitals", "id": "HP-9", "change": "updated",
            "fields": {"name": ["ひかり台病院", "ひかり台総合病院"]}} in event.changes["changes"]


def test_full_push_deactivates_missing_rows_never_deletes_and_they_are_refused(client, system_key):
    assert push(client, system_key, PAYLOAD).status_code == 200
    org("H0002").allows_manufacturer_access = True
    db.session.commit()
    assert org("H0002") in candidate_hospitals()
    minato_key = key_for(client.application, HOSPITAL_B)
    assert client.get("/api/v1/uploads/", headers=bearer(minato_key)).status_code == 200
    full = copy.deepcopy(PAYLOAD)
    full["full"] = True
    full["hospitals"] = full["hospitals"][1:]  # みなと中央病院 (HP-1) no longer listed
    full["smds_classifications"] = full["smds_classifications"][:2]  # S-3 no longer listed
    answer = push(client, system_key, full, idem="full-1")
    assert answer.status_code == 200, answer.get_json()
    counts = answer.get_json()["result"]["counts"]
    assert counts["hospitals"]["deactivated"] == 1 and counts["smds_classifications"]["deactivated"] == 1
    minato = org("H0002")
    assert minato is not None and minato.is_active is False  # kept, deactivated
    assert org("H0001").is_active is True  # never pushed: left alone
    assert org("H0002") not in candidate_hospitals()  # no longer offered to manufacturers
    s3 = db.session.scalars(select(Classification).where(Classification.external_id == "S-3")).one()
    assert s3.is_active is False
    assert push(client, system_key, full, idem="full-2").get_json()["result"]["changed"] is False

    # its users are refused, by API key and on screen
    assert client.get("/api/v1/uploads/", headers=bearer(minato_key)).status_code == 403
    browser = client.application.test_client()
    login_as(browser, HOSPITAL_B)
    page = browser.get("/upload/")
    assert page.status_code == 403 and "無効" in page.get_data(as_text=True)
    # the System APIs refuse it
    ledger = push_ledger(client, system_key, "H0002", rows=[{"device_number": "ME1"}])
    assert ledger.status_code == 400 and "無効" in ledger.get_json()["message"]
    # the deactivated SMDS classification can no longer be chosen on screen 7
    a_key = key_for(client.application, HOSPITAL_A)
    own = db.session.scalars(select(Classification).where(Classification.hospital_id == org("H0001").id)).first()
    refused = client.put(f"/api/v1/classification/{own.id}/mapping", json={"smds_classification_id": s3.id},
                         headers=bearer(a_key))
    assert refused.status_code == 400
    mapping = client.get(f"/api/v1/classification/hospital/{org('H0001').id}/mapping", headers=bearer(a_key))
    assert s3.id not in {s["id"] for row in mapping.get_json()["result"] for s in row["suggestions"]}

    # listed again → active again
    back = push(client, system_key, PAYLOAD, idem="back")
    assert back.get_json()["result"]["counts"]["hospitals"]["updated"] == 1
    db.session.expire_all()
    assert org("H0002").is_active is True
    assert client.get("/api/v1/uploads/", headers=bearer(minato_key)).status_code == 200


@pytest.mark.parametrize("payload, message", [
    ([1, 2], "payload: 送信内容は JSON オブジェクトにしてください。"),
    ({"full": True}, "payload: 送信内容にマスタの一覧がありません。"),
    ({"hospitals": [{"id": "X", "code": "H9100", "name": "ok"}, {"id": "Y", "code": "H9101"}]},
     "hospitals[1].name: 入力してください。"),
    ({"hospitals": [{"id": "X", "code": "H9100", "name": "ok", "fax": "1"}]}, "hospitals[0].fax: 不明な項目です。"),
    ({"hospitals": [{"id": "X", "code": "H9100", "name": "ok"}, {"id": "X", "code": "H9101", "name": "b"}]},
     "hospitals[1]: id X が重複しています（hospitals[0] と同じ）。"),
    ({"hospitals": [{"id": "X", "code": "D0001", "name": "ok"}]},
     "hospitals[0]: コード D0001 は別の組織（東和メディカルサービス株式会社）で使われています。"),
    ({"smds_classifications": [{"id": "S", "level": 2, "parent_id": "nope", "name": "x"}]},
     "smds_classifications[0].parent_id: 親の分類 nope がありません。"),
    ({"smds_classifications": [{"id": "S", "level": 4, "name": "x"}]},
     "smds_classifications[0].level: 1・2・3 のいずれかにしてください。"),
    ({"hospitals": [{"id": "X", "code": "H9100", "name": "ok"}],
      "hospital_classifications": [{"id": "C", "hospital_id": "X", "level": 1, "name": "x", "smds_id": "none"}]},
     "hospital_classifications[0].smds_id: 有効なSMDS機器分類 none がありません。"),
    ({"makers": [{"id": "A", "name": "甲社", "aliases": ["共通表記"]}, {"id": "B", "name": "乙社", "aliases": ["共通表記"]}]},
     "makers[1].aliases: 表記「共通表記」は別のメーカー（甲社）のものです。"),
    ({"full": True, "dealers": []}, "dealers: 全件送信（full）で空の一覧は受け付けません。"),
])
def test_bad_payload_is_400_with_the_problem_and_stores_nothing(client, system_key, payload, message):
    before = state()
    answer = push(client, system_key, payload)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["message"] == message and message in body["errors"]
    assert state() == before  # all or nothing: the valid rows before it are not stored either


def test_error_messages_are_translated(app, ctx):
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(masters.MastersInvalid) as caught:
            masters.push({"hospitals": [{"id": "X", "code": "H9100"}], "makers": "x"}, None)
    assert caught.value.errors == ["hospitals[0].name: Enter a value.", "makers: Must be an array."]


def test_a_maker_an_upload_created_is_merged_into_the_pushed_one(client, system_key):
    stray = Maker(name="トウト医科")
    db.session.add(stray)
    db.session.flush()
    db.session.add(MakerAlias(maker_id=stray.id, alias="トウト医科", normalized_alias="トウト医科"))
    db.session.commit()
    from app.core.normalize import maker_key

    alias = db.session.scalars(select(MakerAlias).where(MakerAlias.maker_id == stray.id)).one()
    alias.normalized_alias = maker_key("トウト医科")
    db.session.commit()
    payload = {"makers": [{"id": "MK-1", "name": "東都医科工業株式会社", "aliases": ["トウト医科"]}]}
    assert push(client, system_key, payload).status_code == 200
    maker = db.session.scalars(select(Maker).where(Maker.external_id == "MK-1")).one()
    assert count(Maker, Maker.name == "トウト医科") == 0
    assert db.session.scalars(select(MakerAlias).where(MakerAlias.normalized_alias == maker_key("トウト医科"))).one().maker_id == maker.id


# ---------------------------------------------------------------- ledger push

FIELDS = ["device_number", "department_use", "product_name", "model_number", "maker_name", "serial_number",
          "delivered_on", "expires_on", "classification"]
assert len(FIELDS) == len(LEDGER_HEADER)


def push_ledger(client, key, code, rows, month=f"{MONTH:%Y-%m}", idem="l-1"):
    return client.post("/api/v1/system/ledger/", json={"organization_code": code, "month": month, "rows": rows},
                       headers={**bearer(key), "Idempotency-Key": idem})


def ledger_state(hospital_id) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(Equipment).where(Equipment.hospital_id == hospital_id))
    return sorted((e.device_number, e.product_name, e.model_number, e.maker_id, e.serial_number, e.delivered_on,
                   e.expires_on, e.department_use, e.classification.normalized_name if e.classification else None)
                  for e in rows)


def test_ledger_push_takes_the_path_of_an_uploaded_ledger(app, client, system_key):
    rows = ledger_rows(12)
    rows[3][0] = ""  # a row the ingest rejects, as it would in a file
    pushed = push_ledger(client, system_key, "H0001", [dict(zip(FIELDS, r)) for r in rows])
    assert pushed.status_code == 202, pushed.get_json()
    result = pushed.get_json()["result"]
    assert result["status"] == UploadStatus.queued.value and result["hospital_code"] == "H0001"
    # the same rows uploaded as a file by みなと中央病院's user, on screen 3's API
    b_key = key_for(app, HOSPITAL_B)
    upload = client.post("/api/v1/uploads/", headers=bearer(b_key), content_type="multipart/form-data", data={
        "month": f"{MONTH:%Y-%m}", "ledger": (__import__("io").BytesIO(csv_bytes([LEDGER_HEADER, *rows])), "台帳.csv")})
    assert upload.status_code == 201, upload.get_json()
    file_id = upload.get_json()["result"][0]["id"]
    for upload_id in (result["id"], file_id):
        ingest_job(upload_id)
    db.session.expire_all()
    via_push, via_file = db.session.get(UploadFile, result["id"]), db.session.get(UploadFile, file_id)
    assert via_push.status == via_file.status == UploadStatus.succeeded_with_rejections.value
    assert (via_push.rows_total, via_push.rows_imported, via_push.rows_rejected) == (12, 11, 1)
    assert (via_file.rows_total, via_file.rows_imported, via_file.rows_rejected) == (12, 11, 1)
    assert via_push.file_type == 1 and via_push.uploaded_by_id == user_by_email(SYSTEM).id
    a, b = org("H0001").id, org("H0002").id
    assert ledger_state(a) == ledger_state(b) and len(ledger_state(a)) >= 11
    strip = [{k: v for k, v in h.items() if k != "date"} for h in history(a)]
    assert strip == [{k: v for k, v in h.items() if k != "date"} for h in history(b)]
    # it shows in the hospital's own upload history
    a_key = key_for(app, HOSPITAL_A)
    listed = client.get("/api/v1/uploads/", headers=bearer(a_key)).get_json()["result"]
    assert result["id"] in [u["id"] for u in listed]

    # the same rows again (another key): the uploaded-ledger rule for an identical file
    again = push_ledger(client, system_key, "H0001", [dict(zip(FIELDS, r)) for r in rows], idem="l-2")
    assert again.status_code == 202 and again.get_json()["result"]["status"] == UploadStatus.duplicate.value
    # a ledger of a later month without two devices: they stop counting from that month
    later = push_ledger(client, system_key, "H0001", [dict(zip(FIELDS, r)) for r in rows[:10]],
                        month="2025-11", idem="l-3")
    ingest_job(later.get_json()["result"]["id"])
    db.session.expire_all()
    assert "含まれません" in db.session.get(UploadFile, later.get_json()["result"]["id"]).message


def test_ledger_push_as_a_file(client, system_key):
    data = csv_bytes([LEDGER_HEADER, *ledger_rows(3)])
    answer = client.post("/api/v1/system/ledger/", content_type="multipart/form-data",
                         headers={**bearer(system_key), "Idempotency-Key": "f-1"},
                         data={"organization_code": "H0001", "month": f"{MONTH:%Y-%m}",
                               "file": (__import__("io").BytesIO(data), "ledger.csv")})
    assert answer.status_code == 202, answer.get_json()
    ingest_job(answer.get_json()["result"]["id"])
    db.session.expire_all()
    assert db.session.get(UploadFile, answer.get_json()["result"]["id"]).rows_imported == 3


@pytest.mark.parametrize("code, rows, month, status, message", [
    ("H0001", [{"device_number": "ME1", "colour": "red"}], "2025-10", 400, "rows[0].colour: 不明な項目です。"),
    ("H0001", [{"device_number": ["ME1"]}], "2025-10", 400, "rows[0].device_number: 文字列・数値・null のいずれかにしてください。"),
    ("H0001", [], "2025-10", 400, "rows には台帳の行（オブジェクト）の配列を1行以上指定してください。"),
    ("H0001", [{"device_number": "ME1"}], "2099-01", 400, "は未来の月のためアップロードできません"),
    ("H0001", [{"device_number": "ME1"}], "10/2025", 400, "対象年月を YYYY-MM の形式で指定してください"),
    ("H9999", [{"device_number": "ME1"}], "2025-10", 404, "医療機関コード H9999 の医療機関が見つかりません。"),
    (1, [{"device_number": "ME1"}], 202510, 404, "医療機関コード 1 の医療機関が見つかりません。"),
    ("H0001", [{"device_number": "ME1"}], 202510, 400, "対象年月を YYYY-MM の形式で指定してください"),
    ("H0001", {"device_number": "ME1"}, "2025-10", 400, "rows には台帳の行"),
])
def test_bad_ledger_push_is_refused_and_stores_nothing(client, system_key, code, rows, month, status, message):
    answer = push_ledger(client, system_key, code, rows, month=month)
    assert answer.status_code == status
    assert message in answer.get_json()["message"]
    assert count(UploadFile) == 0


# ---------------------------------------------------------------- System only

@pytest.mark.parametrize("email", [HOSPITAL_A, DEALER])
def test_other_keys_cannot_push(app, client, ctx, email):
    key = key_for(app, email)
    before = state()
    assert push(client, key, PAYLOAD).status_code == 403
    assert push_ledger(client, key, "H0001", [{"device_number": "ME1"}]).status_code == 403
    db.session.expire_all()
    assert count(UploadFile) == 0
    assert state() == before


def test_session_cannot_push_even_as_admin(client, ctx):
    login_as(client, ADMIN)
    answer = client.post("/api/v1/system/masters/", json=PAYLOAD, headers={"Idempotency-Key": "s-1"})
    assert answer.status_code in (401, 403)
    assert org("H9001") is None


def test_push_without_idempotency_key_is_400(client, system_key):
    answer = client.post("/api/v1/system/masters/", json=PAYLOAD, headers=bearer(system_key))
    assert answer.status_code == 400 and "Idempotency-Key" in answer.get_json()["message"]
    assert org("H9001") is None


def test_pushed_rows_with_iso_dates_and_three_level_classifications(client, system_key):
    rows = [{"device_number": "ME90001", "product_name": "人工呼吸器", "delivered_on": "2021-04-01",
             "expires_on": "2031-03-31", "classification_1": "呼吸器", "classification_2": "人工呼吸器",
             "classification_3": "成人用", "maker_name": "テルモ株式会社", "serial_number": 12345}]
    answer = push_ledger(client, system_key, "H0003", rows)
    assert answer.status_code == 202, answer.get_json()
    ingest_job(answer.get_json()["result"]["id"])
    db.session.expire_all()
    device = db.session.scalars(select(Equipment).where(Equipment.device_number == "ME90001")).one()
    assert device.delivered_on.isoformat() == "2021-04-01" and device.expires_on.isoformat() == "2031-03-31"
    assert device.serial_number == "12345" and device.maker_id is not None
    assert device.classification.name == "成人用" and device.classification.parent.parent.name == "呼吸器"
