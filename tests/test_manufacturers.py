"""Screen 9: a manufacturer's hospitals and its pooled figures (K rule)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app import manufacturers
from app.extensions import db
from app.models import (
    Equipment,
    Failure,
    LedgerListing,
    Lending,
    Maker,
    ManufacturerSelection,
    Organization,
)
from app.scope import scope_of

from .conftest import ADMIN, HOSPITAL_A, MANUFACTURER, login_as, user_by_email

MONTH = dt.date(2026, 9, 1)


def org(code):
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def make_hospitals(n, allows=True, prefix="HX"):
    hospitals = []
    for i in range(n):
        hospital = Organization(kind="hospital", code=f"{prefix}{i:03d}", name=f"テスト病院{prefix}{i}",
                                allows_manufacturer_access=allows)
        db.session.add(hospital)
        hospitals.append(hospital)
    db.session.commit()
    return hospitals


def test_cannot_select_more_than_the_count(ctx):
    manufacturer = org("M0001")
    assert manufacturer.manufacturer_selection_count == 5
    hospitals = make_hospitals(3) + [org("H0001"), org("H0002"), org("H0003")]
    with pytest.raises(manufacturers.SelectionError, match="5件まで"):
        manufacturers.save_selection(manufacturer, [h.id for h in hospitals])
    rows = manufacturers.save_selection(manufacturer, [h.id for h in hospitals[:5]])
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]


def test_cannot_select_a_hospital_that_does_not_allow_access(ctx):
    closed = make_hospitals(1, allows=False, prefix="HC")[0]
    with pytest.raises(manufacturers.SelectionError, match="許可していない"):
        manufacturers.save_selection(org("M0001"), [org("H0001").id, closed.id])
    with pytest.raises(manufacturers.SelectionError, match="許可していない"):
        manufacturers.save_selection(org("M0001"), [org("D0001").id])


def test_screen_refuses_a_sixth_hospital(client, ctx):
    ids = [h.id for h in make_hospitals(3)] + [org(c).id for c in ("H0001", "H0002", "H0003")]
    login_as(client, MANUFACTURER)
    response = client.post("/manufacturer/selection", data={"hospital_id": [str(i) for i in ids]})
    assert response.status_code == 400
    assert "5件まで" in response.get_data(as_text=True)
    response = client.post("/manufacturer/selection", data={"hospital_id": [str(i) for i in reversed(ids[:5])]})
    assert response.status_code == 302
    db.session.expire_all()
    saved = [r.hospital_id for r in manufacturers.selection(org("M0001").id)]
    assert saved == list(reversed(ids[:5]))


def test_selection_page_lists_only_hospitals_allowing_access(client, ctx):
    make_hospitals(1, allows=False, prefix="HC")
    login_as(client, MANUFACTURER)
    page = client.get("/manufacturer/selection").get_data(as_text=True)
    assert "さくら台総合病院" in page and "テスト病院HC0" not in page
    assert "ordered-list.js" in page


def test_withdrawn_consent_drops_out_of_the_aggregate_scope(ctx):
    user = user_by_email(MANUFACTURER)
    scope = scope_of(user)
    assert scope.aggregate_hospital_ids == {org(c).id for c in ("H0001", "H0002", "H0003")}
    # The manufacturer's row scope never holds a hospital.
    assert scope.organization_ids == {org("M0001").id}
    org("H0002").allows_manufacturer_access = False
    db.session.commit()
    assert org("H0002").id not in scope_of(user).aggregate_hospital_ids


def test_other_roles_cannot_use_the_manufacturer_screens(client, ctx):
    login_as(client, HOSPITAL_A)
    assert client.get("/manufacturer/figures").status_code in (302, 403)
    assert client.post("/manufacturer/selection", data={"hospital_id": ["1"]}).status_code in (302, 403)
    login_as(client, ADMIN)  # Admin sets the count on the organization screen; no manufacturer page
    assert client.get("/manufacturer/figures").status_code == 403


def add_device(hospital, number, model, maker=None, lent_hours=0, failed_hours=0, expires=None,
               class_id=None):
    device = Equipment(hospital_id=hospital.id, device_number=number, model_number=model,
                       maker_id=maker.id if maker else None, maker_name=None if maker else "他社",
                       expires_on=expires, classification_id=class_id)
    db.session.add(device)
    db.session.flush()
    db.session.add(LedgerListing(hospital_id=hospital.id, month=MONTH, equipment_id=device.id))
    start = dt.datetime(2026, 9, 2)
    if lent_hours:
        db.session.add(Lending(hospital_id=hospital.id, equipment_id=device.id, month=MONTH,
                               lent_at=start, returned_at=start + dt.timedelta(hours=lent_hours)))
    if failed_hours:
        db.session.add(Failure(hospital_id=hospital.id, equipment_id=device.id, month=MONTH,
                               failed_at=start, repaired_at=start + dt.timedelta(hours=failed_hours)))
    return device


def test_pooled_figures_hide_cells_under_k(ctx):
    own = Maker(name="日本メディテック", organization_id=org("M0001").id)
    db.session.add(own)
    db.session.flush()
    a, b, c = org("H0001"), org("H0002"), org("H0003")
    # Model "P-100" in three hospitals, "Q-9" in one.
    add_device(a, "1", "P-100", own, lent_hours=72, expires=dt.date(2027, 3, 1))
    add_device(b, "1", "P-100", own, lent_hours=144, failed_hours=72)
    add_device(c, "1", "P-100", own)
    add_device(a, "2", "Q-9", lent_hours=10)
    db.session.commit()
    figures = manufacturers.pooled_figures(org("M0001").id, [a.id, b.id, c.id], MONTH, min_hospitals=3)
    assert figures.month_hours == 720
    rows = {row.key[2]: row for row in figures.by_model}
    p100, q9 = rows["P-100"], rows["Q-9"]
    assert p100.visible and p100.own_maker and p100.hospital_count == 3 and p100.devices == 3
    assert p100.rate(p100.lending_hours, 720) == pytest.approx(216 / (3 * 720))
    assert p100.rate(p100.failure_hours, 720) == pytest.approx(72 / (3 * 720))
    assert p100.ending_within_year == 1
    assert not q9.visible and not q9.own_maker
    assert "1施設" in q9.hidden_reason and "3施設未満" in q9.hidden_reason
    total = figures.by_classification[0]
    assert total.visible and total.devices == 4


def test_figures_page_shows_hidden_reason_and_highlights_own_maker(client, ctx, app):
    own = Maker(name="日本メディテック", organization_id=org("M0001").id)
    db.session.add(own)
    db.session.flush()
    add_device(org("H0001"), "1", "P-100", own, lent_hours=5)
    add_device(org("H0002"), "1", "P-100", own)
    add_device(org("H0001"), "2", "Q-9")
    db.session.commit()
    login_as(client, MANUFACTURER)
    page = client.get("/manufacturer/figures?month=2026-09").get_data(as_text=True)
    assert "3施設未満のため" in page
    assert "own-maker" in page and "自社" in page
    # Pooled over two hospitals only: no figure of a single hospital is printed.
    assert "hidden-figure" in page


def test_figures_never_include_unselected_hospitals(ctx):
    db.session.execute(ManufacturerSelection.__table__.delete())
    db.session.commit()
    manufacturers.save_selection(org("M0001"), [org("H0001").id])
    add_device(org("H0002"), "1", "SECRET-MODEL")
    db.session.commit()
    scope = scope_of(user_by_email(MANUFACTURER))
    figures = manufacturers.pooled_figures(org("M0001").id, scope.aggregate_hospital_ids, MONTH)
    assert all("SECRET-MODEL" not in row.key for row in figures.by_model)
