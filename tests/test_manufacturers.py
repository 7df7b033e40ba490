"""Screen 9: a manufacturer's hospitals and its pooled figures (K rule)."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.access.scope import scope_of
from app.core.months import add_months, current_month, previous_month
from app.extensions import db
from app.models import (
    Classification,
    Equipment,
    Failure,
    LedgerListing,
    Lending,
    Maker,
    ManufacturerSelection,
    Organization,
)
from app.models.dealer import FIRST_SELECTION_MONTH
from app.services.partners import manufacturers

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


def common_class(name="テスト分類K"):
    cls = Classification(hospital_id=None, level=1, name=name, normalized_name=name)
    db.session.add(cls)
    db.session.flush()
    return cls


def test_pooled_figures_hide_cells_under_k(ctx):
    own = Maker(name="日本メディテック", organization_id=org("M0001").id)
    db.session.add(own)
    db.session.flush()
    cls = common_class()
    a, b, c = org("H0001"), org("H0002"), org("H0003")
    # "R-200" in three hospitals (4 devices), "P-100" in three (3 devices), "Q-9" in one.
    for hospital, hours in ((a, 72), (b, 144), (c, 0)):
        add_device(hospital, f"R{hospital.code}", "R-200", own, lent_hours=hours,
                   expires=dt.date(2027, 3, 1) if hospital is a else None, class_id=cls.id)
        add_device(hospital, f"P{hospital.code}", "P-100", own, class_id=cls.id)
    add_device(b, "R2", "R-200", own, failed_hours=72, class_id=cls.id)
    add_device(a, "Q", "Q-9", lent_hours=10, class_id=cls.id)
    db.session.commit()
    figures = manufacturers.pooled_figures(org("M0001").id, [a.id, b.id, c.id], MONTH, min_hospitals=3)
    assert figures.month_hours == 720
    rows = {row.key[2]: row for row in figures.by_model}
    # Q-9 is under K; P-100 is hidden with it, else the total minus R-200 minus P-100 = Q-9.
    assert set(rows) == {"R-200"}
    r200 = rows["R-200"]
    assert r200.own_maker and r200.hospital_count == 3 and r200.devices == 4
    assert r200.rate(r200.lending_hours, 720) == pytest.approx(216 / (4 * 720))
    assert r200.rate(r200.failure_hours, 720) == pytest.approx(72 / (4 * 720))
    assert r200.ending_within_year == 1
    total = next(row for row in figures.by_classification if row.key == ("テスト分類K",))
    assert total.devices == 8
    assert figures.hidden_count == 2


def test_suppression_never_leaves_one_hidden_term(ctx):
    """Every classification shown has 0 or at least 2 hidden model rows (or is hidden)."""
    cls = common_class()
    hospitals = [org("H0001"), org("H0002"), org("H0003")]
    for i, model in enumerate(["A-1", "B-2", "C-3", "D-4"]):
        for hospital in hospitals[: 3 if i < 3 else 1]:
            add_device(hospital, f"{model}{hospital.code}", model, class_id=cls.id)
    db.session.commit()
    figures = manufacturers.pooled_figures(org("M0001").id, [h.id for h in hospitals], MONTH, min_hospitals=3)
    shown = {row.key[2] for row in figures.by_model if row.key[0] == "テスト分類K"}
    assert len({"A-1", "B-2", "C-3", "D-4"} - shown) == 2  # D-4 and one complement
    assert "D-4" not in shown


class TableReader(HTMLParser):
    """The cell texts of each row of the tables of a page, by table id."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def page_tables(client, month="2026-09"):
    response = client.get(f"/manufacturer/figures?month={month}")
    assert response.status_code == 200
    reader = TableReader()
    reader.feed(response.get_data(as_text=True))
    return reader.tables, response.get_data(as_text=True)


def shown_devices(tables, class_name):
    """(devices of the classification total, {model: devices}) as the page shows them."""
    total = None
    for row in tables["by-classification"]:
        if row[0] == class_name and len(row) > 2 and row[2].isdigit():
            total = int(row[2])
    models = {row[2]: int(row[4]) for row in tables["by-model"]
              if row[0] == class_name and len(row) > 4 and row[4].isdigit()}
    return total, models


def competitor_in_one_hospital():
    """Own model P-100 in A, B and C; a competitor's Q-9 only in A (its 1 device is the secret)."""
    own = Maker(name="日本メディテック", organization_id=org("M0001").id)
    db.session.add(own)
    db.session.flush()
    cls = common_class()
    for hospital in (org("H0001"), org("H0002"), org("H0003")):
        add_device(hospital, f"P{hospital.code}", "P-100", own, lent_hours=5, class_id=cls.id)
        add_device(hospital, f"R{hospital.code}", "R-200", own, class_id=cls.id)
        add_device(hospital, f"S{hospital.code}", "R-200", own, class_id=cls.id)
    add_device(org("H0001"), "Q", "Q-9", class_id=cls.id)
    db.session.commit()


def test_hidden_rows_are_not_listed(client, ctx):
    """Attack 1: which competitor models one hospital owns was readable from the row labels."""
    competitor_in_one_hospital()
    login_as(client, MANUFACTURER)
    tables, page = page_tables(client)
    assert "Q-9" not in page and "1施設" not in page
    assert all(row[2] != "Q-9" for row in tables["by-model"] if len(row) > 2)
    assert "件は施設数不足のため非表示" in page
    assert "own-maker" in page and "自社" in page


def test_total_minus_shown_rows_does_not_reveal_a_hidden_row(client, ctx):
    """Attack 2a: a classification total minus its shown model rows gave the hidden row."""
    competitor_in_one_hospital()
    login_as(client, MANUFACTURER)
    tables, _page = page_tables(client)
    total, models = shown_devices(tables, "テスト分類K")
    true_devices = {"P-100": 3, "R-200": 6, "Q-9": 1}
    missing = set(true_devices) - set(models)
    if total is not None:
        derived = total - sum(models.values())
        assert not (len(missing) == 1 and derived == true_devices[next(iter(missing))]), \
            f"total {total} minus shown rows {models} gives the hidden row"
        assert len(missing) != 1
    assert "Q-9" in missing


def shown_figures(client, month):
    tables, page = page_tables(client, month)
    hospitals = next(line for line in page.splitlines() if "選択中の医療機関" in line)
    return tables["by-classification"], tables["by-model"], hospitals


def test_a_selection_change_applies_from_the_next_month(client, ctx):
    """Attack 2b: the same month over {A,B,C} and then over {A,B,D} differed by C − D."""
    a, b, c = org("H0001"), org("H0002"), org("H0003")
    d = make_hospitals(1, prefix="HD")[0]
    cls = common_class()
    for hospital, count in ((a, 1), (b, 2), (c, 3), (d, 5)):
        for i in range(count):
            add_device(hospital, f"X{hospital.code}{i}", "X-1", class_id=cls.id, lent_hours=1 + i)
    db.session.commit()
    login_as(client, MANUFACTURER)
    before = shown_figures(client, "2026-09")
    this_month = shown_figures(client, f"{current_month():%Y-%m}")
    assert shown_devices(page_tables(client)[0], "テスト分類K")[0] == 6  # A + B + C
    response = client.post("/manufacturer/selection", data={"hospital_id": [str(a.id), str(b.id), str(d.id)]})
    assert response.status_code == 302
    # The figures of this month and of past months are unchanged: still A, B and C.
    assert shown_figures(client, "2026-09") == before
    assert shown_figures(client, f"{current_month():%Y-%m}") == this_month
    following = add_months(current_month(), 1)
    label = f"{following.year}年{following.month}月"
    page = client.get("/manufacturer/selection").get_data(as_text=True)
    assert label in page and "から適用" in page
    # From the next month the new selection counts.
    _tables, next_page = page_tables(client, f"{following:%Y-%m}")
    assert "テスト病院HD0" in next_page and "あおば記念病院" not in next_page
    db.session.expire_all()
    stored = {row.month for row in db.session.scalars(select(ManufacturerSelection).where(
        ManufacturerSelection.manufacturer_id == org("M0001").id))}
    assert stored == {FIRST_SELECTION_MONTH, following}


def test_one_selection_per_month(ctx):
    manufacturer = org("M0001")
    a, b, c = org("H0001"), org("H0002"), org("H0003")
    d, e = make_hospitals(2, prefix="HE")
    month = dt.date(2026, 11, 1)
    manufacturers.save_selection(manufacturer, [a.id, b.id, d.id], today_month=month)
    manufacturers.save_selection(manufacturer, [a.id, b.id, e.id], today_month=month)
    assert manufacturers.visible_hospital_ids(manufacturer.id, month) == [a.id, b.id, c.id]
    assert manufacturers.visible_hospital_ids(manufacturer.id, dt.date(2027, 5, 1)) == [a.id, b.id, e.id]
    # Saving the selection in force again drops the pending change.
    manufacturers.save_selection(manufacturer, [a.id, b.id, c.id], today_month=month)
    assert manufacturers.visible_hospital_ids(manufacturer.id, dt.date(2026, 12, 1)) == [a.id, b.id, c.id]
    with pytest.raises(manufacturers.SelectionError, match="1件以上"):
        manufacturers.save_selection(manufacturer, [], today_month=month)


def test_first_selection_applies_at_once(ctx):
    db.session.execute(ManufacturerSelection.__table__.delete())
    db.session.commit()
    manufacturers.save_selection(org("M0001"), [org("H0001").id], today_month=dt.date(2026, 11, 1))
    assert manufacturers.visible_hospital_ids(org("M0001").id, MONTH) == [org("H0001").id]


def test_figures_never_include_unselected_hospitals(ctx):
    db.session.execute(ManufacturerSelection.__table__.delete())
    db.session.commit()
    manufacturers.save_selection(org("M0001"), [org("H0001").id])
    add_device(org("H0002"), "1", "SECRET-MODEL")
    db.session.commit()
    scope = scope_of(user_by_email(MANUFACTURER))
    figures = manufacturers.pooled_figures(org("M0001").id, scope.aggregate_hospital_ids, MONTH)
    assert all("SECRET-MODEL" not in row.key for row in figures.by_model)


def test_the_figures_page_names_the_makers_marked_as_its_own(client, ctx):
    """The manufacturer's organization (日本メディテック株式会社 in the demo) and the maker its
    rows are 「自社」 for (a maker of the makers master) can have different names: the page says
    which makers are marked, so a row of another name marked 「自社」 is not a puzzle."""
    db.session.add(Maker(name="光電テスト工業株式会社", organization_id=org("M0001").id))
    db.session.commit()
    login_as(client, MANUFACTURER)
    page = client.get("/manufacturer/figures?month=2026-09").get_data(as_text=True)
    # the seeded demo link (app/seeding/partners.py) and the one added here
    assert "「自社」と表示するメーカー: 光電テスト工業株式会社、日本光電工業株式会社</p>" in page
    client.get("/lang/en")
    page = client.get("/manufacturer/figures?month=2026-09").get_data(as_text=True)
    assert 'Makers shown as "Own": 光電テスト工業株式会社, 日本光電工業株式会社</p>' in page


def test_the_figures_page_says_when_no_maker_is_its_own(client, ctx):
    for maker in db.session.scalars(select(Maker).where(Maker.organization_id == org("M0001").id)):
        maker.organization_id = None
    db.session.commit()
    login_as(client, MANUFACTURER)
    page = client.get("/manufacturer/figures?month=2026-09").get_data(as_text=True)
    assert "メーカーマスタに自社として登録されたメーカーがないため" in page


def test_the_month_picker_lists_months_in_the_pages_language(client, ctx):
    """A browser's own month input follows the browser's language ("November 2026" on a
    Japanese page): the picker is a list of the app's year-month labels, as the dashboard's."""
    login_as(client, MANUFACTURER)
    newest = current_month()
    page = client.get(f"/manufacturer/figures?month={previous_month():%Y-%m}").get_data(as_text=True)
    assert 'type="month"' not in page
    options = re.findall(r'<option value="(\d{4}-\d{2})" ?(selected)?>([^<]*)</option>', page)
    assert options[0] == (f"{newest:%Y-%m}", "", f"{newest.year}年{newest.month}月")
    assert [value for value, chosen, _label in options if chosen] == [f"{previous_month():%Y-%m}"]
    assert len(options) == 25
    # an older month asked for by URL is offered too, so the page says which month it shows
    page = client.get("/manufacturer/figures?month=2020-01").get_data(as_text=True)
    assert '<option value="2020-01" selected>2020年1月</option>' in page
    client.get("/lang/en")
    page = client.get(f"/manufacturer/figures?month={previous_month():%Y-%m}").get_data(as_text=True)
    assert f'<option value="{newest:%Y-%m}" >{newest:%Y-%m}</option>' in page  # as the tables write months
