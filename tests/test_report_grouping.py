"""Report by SMDS group (screen 6): one real class spelled four ways in a hand-kept ledger is
four classes under the hospital's own grouping and one under SMDS grouping, in ⑥, the
automatic top-N and the dashboard; only the hospital (or its level-2/3 dealer) changes it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Classification, Equipment, Lending, Organization, ReportSelection
from app.services.ledger.device_months import list_devices
from app.services.partners import dealers
from app.services.reports.figures import compute_figures
from app.services.reports.selection import SelectionError, save_grouping, save_selection
from app.services.unit_of_work import unit_of_work

from .conftest import DEALER, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email

MONTH = dt.date(2025, 5, 1)
H = 744
# spelling → devices; every device lent 10 h in May, the first of each spelling 24 h more.
SPELLINGS = {"ポンプ(輸液)": 4, "輸液ポンプ": 3, "汎用輸液ポンプ": 2, "ユエキポンプ": 1}


def org(code) -> Organization:
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def own_class(hospital_id, name, level=1):
    found = db.session.scalars(select(Classification).where(
        Classification.hospital_id == hospital_id, Classification.level == level,
        Classification.parent_id.is_(None), Classification.name == name)).first()
    if found is None:
        found = Classification(hospital_id=hospital_id, level=level, name=name, normalized_name=name)
        db.session.add(found)
        db.session.flush()
    return found


def common(name) -> Classification:
    return db.session.scalars(select(Classification).where(
        Classification.hospital_id.is_(None), Classification.name == name)).one()


@pytest.fixture()
def ledger(ctx):
    h = org("H0001")
    h.analysis_level, h.report_rank_count, h.report_grouping = 1, 5, "own"
    pump = common("輸液ポンプ")
    syringe = common("シリンジポンプ")
    number = 0
    hours = {}
    listed = []  # one ledger, of the report month, lists every device

    def add_devices(cls, count, smds):
        nonlocal number
        cls.smds_classification_id = smds.id if smds else None
        for i in range(count):
            number += 1
            e = Equipment(hospital_id=h.id, device_number=f"G{number:03d}", classification_id=cls.id,
                          model_number="X", default_counts=True)
            db.session.add(e)
            db.session.flush()
            listed.append(e.id)
            extra = 24 if i == 0 else 0
            db.session.add(Lending(hospital_id=h.id, equipment_id=e.id, month=MONTH,
                                   lent_at=dt.datetime(2025, 5, 3),
                                   returned_at=dt.datetime(2025, 5, 3, 10) + dt.timedelta(hours=extra)))
            hours[cls.name] = hours.get(cls.name, 0) + 10 + extra

    for name, count in SPELLINGS.items():
        add_devices(own_class(h.id, name), count, pump)
    add_devices(own_class(h.id, "シリンジ"), 2, syringe)
    add_devices(own_class(h.id, "その他機器"), 1, None)  # not mapped: （未分類） under SMDS grouping
    list_devices(db.session, h.id, MONTH, listed)
    db.session.commit()
    return {"hospital": h.id, "pump": pump.id, "syringe": syringe.id, "hours": hours}


def ranking(hospital_id):
    return {r["name"]: (r["devices"], r["lending_hours"]) for r in compute_figures(hospital_id, MONTH).ranking}


def test_four_spellings_are_four_classes_under_own_grouping(ledger):
    rows = ranking(ledger["hospital"])
    for name, count in SPELLINGS.items():
        assert rows[name] == (count, pytest.approx(ledger["hours"][name]))
    assert "（未分類）" not in rows and len(rows) == 6


def test_one_smds_class_under_smds_grouping(ledger):
    h = db.session.get(Organization, ledger["hospital"])
    save_grouping(db.session, h, "smds")
    db.session.commit()
    figures = compute_figures(h.id, MONTH)
    assert figures.grouping == "smds" and figures.automatic and figures.level == 1
    rows = {r["name"]: r for r in figures.ranking}
    pump_hours = sum(ledger["hours"][name] for name in SPELLINGS)
    assert set(rows) == {"輸液ポンプ", "シリンジポンプ", "（未分類）"}
    assert (rows["輸液ポンプ"]["devices"], rows["輸液ポンプ"]["lending_hours"]) == (10, pytest.approx(pump_hours))
    assert rows["輸液ポンプ"]["utilization"] == pytest.approx(pump_hours / (10 * H))
    assert [r["name"] for r in figures.ranking][-1] == "（未分類）" and rows["（未分類）"]["devices"] == 1
    # The automatic top-N has one pump scope with all ten devices.
    scopes = {s.scope.name: s for s in figures.scopes}
    assert list(scopes) == ["全機器", "輸液ポンプ", "シリンジポンプ"]
    lending = {r.figure.key: r.value for r in scopes["輸液ポンプ"].lending}
    assert lending["devices"] == 10 and lending["lending_hours"] == pytest.approx(pump_hours)
    # Under SMDS grouping the selection is of SMDS classifications, not the hospital's own.
    with pytest.raises(SelectionError):
        save_selection(db.session, h, [own_class(h.id, "輸液ポンプ").id])
    save_selection(db.session, h, [ledger["syringe"]])
    db.session.commit()
    figures = compute_figures(h.id, MONTH)
    assert not figures.automatic and [s.scope.name for s in figures.scopes] == ["全機器", "シリンジポンプ"]
    assert {r.figure.key: r.value for r in figures.scopes[1].lending}["devices"] == 2
    # Back to the hospital's own classifications: the selection is cleared (automatic).
    save_grouping(db.session, h, "own")
    db.session.commit()
    assert db.session.query(ReportSelection).filter_by(hospital_id=h.id).count() == 0
    assert "ユエキポンプ" in ranking(h.id)


def test_screen_6_switches_grouping_and_lists_smds_classes(ledger, client):
    login_as(client, HOSPITAL_A)
    state = client.get("/report-selection/data").get_json()
    assert state["grouping"] == "own"
    assert "ユエキポンプ" in {c["name"] for c in state["classifications"]["1"]}
    response = client.post("/report-selection/grouping", json={"grouping": "smds"})
    assert response.status_code == 200, response.get_data(as_text=True)
    state = response.get_json()["state"]
    assert state["grouping"] == "smds" and state["is_auto"]
    listed = {c["name"]: c["count"] for c in state["classifications"]["1"]}
    assert listed == {"輸液ポンプ": 10, "シリンジポンプ": 2}  # the 2025-05 ledger is still in force
    device = db.session.query(Equipment).filter_by(device_number="G001").one()
    device.override_counts = False  # the one definition: a device that does not count is not listed
    db.session.commit()
    listed = {c["name"]: c["count"] for c in client.get("/report-selection/data").get_json()["classifications"]["1"]}
    assert listed == {"輸液ポンプ": 9, "シリンジポンプ": 2}
    db.session.expire_all()
    assert org("H0001").report_grouping == "smds"
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    assert f'data-scope="c{ledger["pump"]}"' in page and "ユエキポンプ" not in page
    bad = client.post("/report-selection/grouping", json={"grouping": "maker"})
    assert bad.status_code == 400 and "grouping" in bad.get_json()["message"]
    assert client.get("/report-selection/").status_code == 200


def test_hospital_b_cannot_change_a_grouping(ledger, client):
    a = ledger["hospital"]
    login_as(client, HOSPITAL_B)
    assert client.post(f"/report-selection/grouping?hospital_id={a}", json={"grouping": "smds"}).status_code == 404
    assert client.put(f"/api/v1/classification/hospital/{a}/grouping", json={"grouping": "smds"}).status_code == 404
    # B's own call changes B only.
    assert client.post("/report-selection/grouping", json={"grouping": "smds"}).status_code == 200
    b = org("H0002").id
    assert client.put(f"/api/v1/classification/hospital/{b}/grouping", json={"grouping": "own"}).status_code == 200
    db.session.expire_all()
    assert org("H0001").report_grouping == "own" and org("H0002").report_grouping == "own"


def test_dealer_needs_master_maintenance_level(ledger, client):
    a = org("H0001")
    with unit_of_work():
        dealers.grant(a, DEALER, 1, "レポート閲覧のみ", user_by_email(HOSPITAL_A))
    db.session.commit()
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": a.id}).status_code == 302
    refused = client.put(f"/api/v1/classification/hospital/{a.id}/grouping", json={"grouping": "smds"})
    assert refused.status_code in (403, 404)
    with unit_of_work():
        dealers.grant(db.session.get(Organization, a.id), DEALER, 2, "マスタ設定を委託", user_by_email(HOSPITAL_A))
    db.session.commit()
    assert client.put(f"/api/v1/classification/hospital/{a.id}/grouping", json={"grouping": "smds"}).status_code == 200
    db.session.expire_all()
    assert org("H0001").report_grouping == "smds"
