"""The audit log's ledger entries (機器台帳の変更 / 機器台帳の変更取消) read as what was done:
集計対象: 集計対象外, 機器分類 by name, 機器数: 1 台, 理由, 元に戻した設定: 3 件 (English in the en
locale), with the hospital's ledger as 対象, rather than 「件数の内訳: false」 and an empty
機器分類. The events are recorded as app/views/ledger.py apply_change / apply_restore record them
(the hospital as organization, no object); the stored JSON keeps its keys and values."""
import csv
import io

from app.extensions import db
from app.models import AuditEvent, Classification, Organization
from app.services.audit import trail as audit

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as


def _hospital(code: str) -> Organization:
    return db.session.query(Organization).filter_by(code=code).one()


def _classification(hospital: Organization, name: str) -> Classification:
    cls = Classification(hospital_id=hospital.id, name=name, normalized_name=name, level=1)
    db.session.add(cls)
    db.session.flush()
    return cls


def _change(hospital, counts, classification_id, devices=1, reason="点検のため") -> int:
    audit.record("ledger.change", organization_id=hospital.id,
                 changes={"devices": devices, "counts": counts, "classification_id": classification_id,
                          "reason": reason})
    db.session.commit()
    return db.session.query(AuditEvent.id).order_by(AuditEvent.id.desc()).first()[0]


def _restore(hospital, values=3) -> int:
    audit.record("ledger.restore", organization_id=hospital.id, changes={"values": values})
    db.session.commit()
    return db.session.query(AuditEvent.id).order_by(AuditEvent.id.desc()).first()[0]


def _show(client, event_id) -> str:
    response = client.get(f"/audit/show/{event_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_ledger_change_shows_its_settings_classification_devices_reason_and_hospital(client, ctx):
    a = _hospital("H0001")
    pump = _classification(a, "監査用ポンプ")
    excluded = _change(a, False, pump.id, devices=1)
    untouched = _change(a, None, None, devices=1200, reason="分類だけ")
    counted = _change(a, True, None)
    restored = _restore(a, 3)
    login_as(client, ADMIN)

    page = _show(client, excluded)
    assert "機器台帳の変更" in page
    assert "集計対象: 集計対象外" in page and "機器分類: 監査用ポンプ" in page
    assert "機器数: 1 台" in page and "理由: 点検のため" in page
    assert "件数の内訳" not in page and "false" not in page
    assert f"{a.name}（H0001）の機器台帳" in page  # 対象: the hospital's ledger, not blank

    page = _show(client, untouched)
    assert "集計対象: 変更しない" in page and "機器分類: 変更しない" in page and "機器数: 1,200 台" in page
    assert "集計対象: 集計対象" in _show(client, counted)

    page = _show(client, restored)
    assert "機器台帳の変更取消" in page and "元に戻した設定: 3 件" in page and "値: 3" not in page
    assert f"{a.name}（H0001）の機器台帳" in page

    # the list names the hospital's ledger as 対象 (and its id as 対象ID)
    listing = client.get("/audit/list/").get_data(as_text=True)
    assert listing.count(f"{a.name}（H0001）の機器台帳") >= 4
    assert f"<td>{a.id}</td>" in listing.replace(" ", "").replace("\n", "")

    # the CSV shows the same words
    text = client.get("/audit/export.csv").data.decode("utf-8-sig")
    changes = [row[-1] for row in csv.reader(io.StringIO(text))]
    assert any("集計対象: 集計対象外" in c and "機器分類: 監査用ポンプ" in c and "機器数: 1 台" in c for c in changes)
    assert "元に戻した設定: 3 件" in changes

    # stored as recorded: the chain hashes the keys and values, not the labels
    db.session.expire_all()
    assert db.session.get(AuditEvent, excluded).changes == {
        "devices": 1, "counts": False, "classification_id": pump.id, "reason": "点検のため"}
    assert audit.verify_chain().broken_id is None


def test_a_ledger_change_in_english(client, ctx):
    a = _hospital("H0001")
    pump = _classification(a, "監査用ポンプ")
    excluded = _change(a, False, pump.id, devices=2, reason="点検のため")
    untouched = _change(a, None, None)
    restored = _restore(a, 3)
    login_as(client, ADMIN)
    client.get("/lang/en")
    page = _show(client, excluded)
    assert "Counts in analysis: Excluded from analysis" in page
    assert "Device classification: 監査用ポンプ" in page and "Devices: 2 device(s)" in page
    assert f"Equipment ledger of {a.name} (H0001)" in page
    assert "2 台" not in page and "集計対象" not in page
    page = _show(client, untouched)
    assert "Counts in analysis: No change" in page and "Device classification: No change" in page
    assert "変更しない" not in page
    page = _show(client, restored)
    assert "Settings restored: 3" in page and "元に戻した設定" not in page and "3 件" not in page


def test_a_classification_outside_the_hospital_or_gone_shows_its_id(client, ctx):
    a, b = _hospital("H0001"), _hospital("H0002")
    other = _classification(b, "他院の分類")
    foreign = _change(a, None, other.id)
    gone = _change(a, None, 987_654)
    own_b = _change(b, None, other.id)
    login_as(client, ADMIN)
    page = _show(client, foreign)
    assert f"機器分類: 機器分類ID {other.id}" in page and "他院の分類" not in page
    assert "機器分類: 機器分類ID 987654" in _show(client, gone)
    assert "機器分類: 他院の分類" in _show(client, own_b)  # B's own entry names B's classification


def test_older_ledger_entries_of_another_shape_stay_readable(client, ctx):
    a = _hospital("H0001")
    odd = _change(a, "yes", "12", devices="3")
    login_as(client, ADMIN)
    page = _show(client, odd)
    assert "集計対象: yes" in page and "機器分類: 12" in page and "機器数: 3" in page


def test_hospital_users_see_only_their_own_hospitals_ledger_entries(client, ctx):
    a, b = _hospital("H0001"), _hospital("H0002")
    mine = _change(a, False, None, reason="自院の変更")
    theirs = _change(b, True, _classification(b, "他院の分類").id, reason="他院の変更")
    theirs_restore = _restore(b, 5)
    login_as(client, ORGADMIN_A)
    assert "理由: 自院の変更" in _show(client, mine)
    for event_id in (theirs, theirs_restore):
        response = client.get(f"/audit/show/{event_id}")
        assert response.status_code == 404
        assert "他院の" not in response.get_data(as_text=True)
    listing = client.get("/audit/list/").get_data(as_text=True)
    assert f"{a.name}（H0001）の機器台帳" in listing and b.name not in listing
    text = client.get("/audit/export.csv").data.decode("utf-8-sig")
    assert "自院の変更" in text and "他院の変更" not in text and "他院の分類" not in text
    # a plain hospital user has no audit log at all, not even its own hospital's entries
    login_as(client, HOSPITAL_A)
    assert client.get(f"/audit/show/{mine}").status_code in (302, 403)
    assert client.get(f"/audit/show/{theirs}").status_code in (302, 403)
