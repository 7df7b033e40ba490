"""The audit screen and its CSV show a coded value of 内容 by its label in the reader's
language (状態: 仮登録 → 稼働中, not 0 → 1), chosen by the event's object (a dealer's level 3 is
全機能利用, a classification's 小分類); the stored JSON, which the chain hashes, keeps the codes."""
import csv
import io

from app.extensions import db
from app.models import AuditEvent, Classification, DealerPermission, Organization, UploadFile, User
from app.services.audit import trail as audit

from .conftest import ADMIN, ORGADMIN_A, login_as

EVENTS = [  # (action, object's class, stored changes)
    ("user.reactivate", User, {"status": [9, 0], "inactive_reason": [1, None]}),
    ("upload.ingest", UploadFile, {"status": "succeeded_with_rejections", "rows_total": 3}),
    ("upload.accepted", UploadFile, {"status": "queued", "file_type": 2, "month": "2026-10"}),
    ("dealer_permission.grant", DealerPermission, {"level": [None, 3], "reason": [None, "保守契約"]}),
    ("smds_classification.move", Classification, {"level": [1, 3]}),
    ("auth.login_failed", User, {"stage": "totp"}),
    ("auth.login", User, {"second_factor": "recovery_code"}),
    ("user.role_grant_refused", User, {"roles": ["Admin"], "reason": "role not grantable by the actor"}),
]
JAPANESE = {
    "user.reactivate": ["状態: 利用停止 → 仮登録", "利用停止の理由: 組織退会 → （なし）"],
    "upload.ingest": ["状態: 完了（取り込めない行あり）", "行数: 3"],
    "upload.accepted": ["状態: 待機中", "ファイル種別: 貸出履歴", "対象月: 2026-10"],
    "dealer_permission.grant": ["レベル: （なし） → 3 全機能利用", "理由: （なし） → 保守契約"],
    "smds_classification.move": ["レベル: 1 大分類 → 3 小分類"],
    "auth.login_failed": ["段階: 二要素認証"],
    "auth.login": ["二要素認証の方法: リカバリーコード"],
    "user.role_grant_refused": ["理由: 付与する権限のないロール"],
}
ENGLISH = {
    "user.reactivate": ["Status: Suspended → Provisional registration",
                        "Reason for suspension: Left the organization → (none)"],
    "upload.ingest": ["Status: Completed (some rows could not be imported)"],
    "upload.accepted": ["Status: Queued", ": Lending history", ": 2026-10"],
    "dealer_permission.grant": ["Level: (none) → 3 Full access"],
    "smds_classification.move": ["Level: 1 Major classification → 3 Minor classification"],
    "auth.login_failed": ["Stage: Two-factor authentication"],
    "auth.login": ["Second factor: Recovery code"],
    "user.role_grant_refused": ["A role the user may not grant"],
}


def record_events() -> dict[str, int]:
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    for action, model, changes in EVENTS:
        thing = model()
        thing.id = 999_000
        audit.record(action, thing, organization_id=hospital.id, changes=changes)
    db.session.commit()
    return {action: db.session.query(AuditEvent.id).filter_by(action=action).order_by(
        AuditEvent.id.desc()).first()[0] for action, _model, _changes in EVENTS}


def show(client, event_id: int) -> str:
    return client.get(f"/audit/show/{event_id}").get_data(as_text=True)


def export(client, query: str = "") -> list[dict[str, str]]:
    answer = client.get(f"/audit/export.csv{query}")
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))


def test_the_show_page_labels_coded_values_in_japanese_and_stores_the_codes(client, ctx):
    ids = record_events()
    login_as(client, ADMIN)
    for action, lines in JAPANESE.items():
        page = show(client, ids[action])
        for line in lines:
            assert line in page, (action, line)
    page = show(client, ids["upload.ingest"])
    assert "succeeded_with_rejections" not in page
    db.session.expire_all()
    for action, _model, changes in EVENTS:
        assert db.session.get(AuditEvent, ids[action]).changes == changes
    assert audit.verify_chain().broken_id is None


def test_the_show_page_labels_coded_values_in_english(client, ctx):
    ids = record_events()
    login_as(client, ADMIN)
    client.get("/lang/en")
    for action, lines in ENGLISH.items():
        page = show(client, ids[action])
        for line in lines:
            assert line in page, (action, line)
    assert "仮登録" not in show(client, ids["user.reactivate"])


def test_the_csv_has_the_changes_with_labels_in_the_readers_language(client, ctx):
    ids = record_events()
    login_as(client, ADMIN)
    rows = {row["操作"]: row for row in export(client)}
    assert rows["ユーザー利用再開"]["内容"].splitlines() == ["利用停止の理由: 組織退会 → （なし）", "状態: 利用停止 → 仮登録"]
    assert rows["アップロードの取り込み"]["内容"].splitlines() == ["行数: 3", "状態: 完了（取り込めない行あり）"]
    assert "レベル: （なし） → 3 全機能利用" in rows["ディーラー権限の変更"]["内容"]
    assert rows["SMDS機器分類の移動"]["内容"] == "レベル: 1 大分類 → 3 小分類"
    assert len(ids) == len(EVENTS)
    client.get("/lang/en")
    english = export(client)
    assert "Details" in english[0]
    text = "\n".join(row["Details"] for row in english)
    assert "Status: Suspended → Provisional registration" in text and "Level: (none) → 3 Full access" in text
    assert "Level: 1 Major classification → 3 Minor classification" in text
    assert "succeeded_with_rejections" not in text and "仮登録" not in text


def test_an_orgadmin_exports_only_its_own_hospitals_events(client, ctx):
    record_events()
    other = db.session.query(Organization).filter_by(code="H0002").one()
    audit.record("user.reactivate", organization_id=other.id, changes={"status": [9, 1], "note": "minato"})
    db.session.commit()
    login_as(client, ORGADMIN_A)
    rows = export(client)
    assert rows and all("minato" not in row["内容"] for row in rows)
    assert any("状態: 利用停止 → 仮登録" in row["内容"] for row in rows)
