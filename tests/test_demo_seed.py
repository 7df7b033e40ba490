"""The demo activity that run.py loads: a year of lendings and failures for さくら台総合病院,
a smaller year for the other hospitals the demo manufacturer selects (so its pooled analysis
has the 3 hospitals it needs), last month's reports, and nothing twice."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.core.months import add_months, previous_month
from app.extensions import db
from app.infra.locks import REPORTS_LOCK
from app.infra.queue import redis_connection
from app.models import Classification, Equipment, Failure, Lending, Organization, ReportFile, UploadFile
from app.seeding.demo_activity import generate_demo_reports, seed_demo_activity
from app.seeding.seed import DemoRefused
from app.services.classifications.evidence import Suggester
from app.services.classifications.mapping import MANUAL, set_mapping
from app.services.classifications.screen import MappingFilter, bulk_preview, filtered_rows
from app.services.partners import manufacturers
from app.services.reports.figures import compute_figures

from .conftest import HOSPITAL_B, MANUFACTURER, login_as, user_by_email

TODAY = dt.date(2026, 11, 29)
AOBA = "user@aoba-hp.example.jp"


def org(code):
    return db.session.query(Organization).filter_by(code=code).one()


def row_counts():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Equipment, Lending, Failure, UploadFile, Classification)} | {
        "mapped": db.session.scalar(select(func.count()).select_from(Classification)
                                    .where(Classification.smds_classification_id.isnot(None)))}


def test_demo_activity_fills_dashboard_figures_once(ctx):
    message = seed_demo_activity(TODAY)
    # H0001's year is the one the tests and benches were written against, peers or not.
    assert message.startswith("demo activity: 299 devices, 9511 lendings, 101 failures for 2025-10..2026-10")
    hospital = org("H0001")
    lendings = db.session.query(Lending).filter_by(hospital_id=hospital.id).count()
    assert lendings == 9511
    assert db.session.query(Failure).filter_by(hospital_id=hospital.id).count() == 101
    assert db.session.query(Equipment).filter(Equipment.classification_id.is_(None)).count() == 0
    before = row_counts()
    assert seed_demo_activity(TODAY) == "demo activity: already present"
    assert row_counts() == before  # every hospital's rows, not only H0001's

    figures = compute_figures(hospital.id, dt.date(2026, 10, 1))
    lending = {row.figure.key: row.value for row in figures.scope("all").lending}
    assert lending["devices"] == 299
    assert 0 < lending["utilization"] < 1


def test_demo_uploads_are_never_received_in_the_future(ctx, monkeypatch):
    """Seeded on the 2nd of a month, last month's demo files said 受付日時 the 3rd, 10:00: in
    the future, and listed above the user's own, newer upload."""
    from app.core.months import current_month
    from app.seeding import demo_activity

    now = dt.datetime.combine(current_month() + dt.timedelta(days=1), dt.time(0, 0))  # 2nd, 09:00 JST
    monkeypatch.setattr(demo_activity, "utc_now", lambda: now, raising=False)
    seed_demo_activity()
    last = db.session.query(UploadFile).filter_by(month=previous_month()).all()
    assert last and all(u.uploaded_at <= now and u.finished_at <= now and u.fetched_at <= now for u in last)
    earlier = db.session.query(UploadFile).filter_by(month=add_months(previous_month(), -1)).first()
    assert earlier.uploaded_at == dt.datetime.combine(previous_month().replace(day=3), dt.time(1))  # 10:00 JST


def test_demo_hospital_keeps_its_classifications_and_mappings(ctx):
    hospital = org("H0001")
    own = select(Classification.id, Classification.smds_classification_id, Classification.mapping_method) \
        .where(Classification.hospital_id == hospital.id).order_by(Classification.id)
    before = db.session.execute(own).all()
    seed_demo_activity(TODAY)
    assert db.session.execute(own).all() == before
    assert len(before) == 859 and sum(1 for r in before if r.smds_classification_id is None) == 612


def test_other_selected_hospitals_get_a_smaller_year_mapped_to_the_right_classes(ctx):
    message = seed_demo_activity(TODAY)
    assert "H0002: 111 devices" in message and "H0003: 177 devices" in message
    common = aliased_names()
    for code, devices in (("H0002", 111), ("H0003", 177)):
        hospital = org(code)
        assert db.session.query(Equipment).filter_by(hospital_id=hospital.id).count() == devices
        assert 0 < db.session.query(Lending).filter_by(hospital_id=hospital.id).count() < 9511
        months = {m for (m,) in db.session.query(Lending.month).filter_by(hospital_id=hospital.id).distinct()}
        assert len(months) == 13 and max(months) == dt.date(2026, 10, 1)
        # Every device's classification is mapped, and to the class its model belongs to.
        classes = {(model, common.get(smds)) for model, smds in db.session.execute(
            select(Equipment.model_number, Classification.smds_classification_id)
            .join(Classification, Classification.id == Equipment.classification_id)
            .where(Equipment.hospital_id == hospital.id)).all()}
        assert classes >= {("TE-281A", "輸液ポンプ"), ("TE-351", "シリンジポンプ"), ("OLV-3100", "パルスオキシメータ"),
                           ("TEC-5631", "除細動器"), ("FCP-8800", "１２誘導心電計"), ("IW-930", "開放型保育器"),
                           ("MS-009", "低圧持続吸引器")}
        assert len(classes) == 7
        figures = compute_figures(hospital.id, dt.date(2026, 10, 1))
        lending = {row.figure.key: row.value for row in figures.scope("all").lending}
        assert lending["devices"] == devices and 0 < lending["utilization"] < 1
    # H0003 files the models at level 3 under its own level-2 rows (seeds/hospital_classifications_demo.csv).
    te281a = db.session.query(Classification).filter_by(hospital_id=org("H0003").id, name="TE-281A").one()
    assert te281a.level == 3 and te281a.mapping_method == MANUAL


def aliased_names():
    return dict(db.session.execute(select(Classification.id, Classification.name)
                                   .where(Classification.hospital_id.is_(None))).all())


def test_demo_manufacturer_sees_pooled_figures_of_its_three_hospitals(client, ctx):
    seed_demo_activity()
    maker = org("M0001")
    month = previous_month()
    figures = manufacturers.figures_for_month(maker.id, month)
    assert figures.hospital_count == 3
    by_class = {row.key[0]: row for row in figures.by_classification}
    assert set(by_class) == {"輸液ポンプ", "シリンジポンプ", "パルスオキシメータ", "除細動器"}
    for row in by_class.values():
        assert row.hospital_count == 3 and row.devices > 0 and row.lending_hours > 0
        assert 0 < row.rate(row.lending_hours, figures.month_hours) < 1
    assert {row.key for row in figures.by_model} == {
        ("輸液ポンプ", "テルモ株式会社", "TE-281A"), ("シリンジポンプ", "テルモ株式会社", "TE-351"),
        ("パルスオキシメータ", "日本光電工業株式会社", "OLV-3100"), ("除細動器", "日本光電工業株式会社", "TEC-5631")}
    # Shown only by 2 or 1 hospitals: H0001 has not mapped its 汎用心電計, 開放式保育器 and
    # 電動式低圧吸引器 yet (their devices count as 未紐付け), so those classes stay hidden.
    assert figures.hidden_count == 10

    login_as(client, MANUFACTURER)
    page = client.get(f"/manufacturer/figures?month={month:%Y-%m}").get_data(as_text=True)
    table = page[page.index('id="by-classification"'):page.index('id="by-model"')]
    assert "データがありません" not in table
    infusion = re.search(r"<tr><td>輸液ポンプ</td>(.*?)</tr>", table, re.S).group(1)
    cells = re.findall(r'<td class="text-right">([^<]*)</td>', infusion)
    assert cells[0] == "3" and int(cells[1]) == by_class["輸液ポンプ"].devices and cells[2].endswith("%")
    assert "TE-281A" in page[page.index('id="by-model"'):]
    assert "10 件は施設数不足のため非表示" in page


def test_the_demo_manufacturer_sees_its_own_makers_rows_as_its_own(client, ctx):
    """The demo manufacturer is a maker of the makers master (日本光電工業株式会社, whose models
    all three selected hospitals file), so its analysis highlights those rows as 「自社」."""
    from app.models import Maker
    from app.seeding.seed import seed_demo

    seed_demo_activity()
    login_as(client, MANUFACTURER)
    page = client.get(f"/manufacturer/figures?month={previous_month():%Y-%m}").get_data(as_text=True)
    by_model = page[page.index('id="by-model"'):]
    rows = re.findall(r'<tr class="([^"]*)"><td>([^<]*)</td><td>(.*?)</td><td>([^<]*)</td>', by_model, re.S)
    own = {model for css, _class, maker, model in rows if "own-maker" in css and "自社" in maker}
    assert own == {"OLV-3100", "TEC-5631"}
    assert {model for _css, _class, _maker, model in rows} >= {"TE-281A", "TE-351"}  # テルモ: not its own
    # Seeding again links nothing twice.
    seed_demo()
    linked = db.session.scalars(select(Maker.name).where(Maker.organization_id == org("M0001").id)).all()
    assert linked == ["日本光電工業株式会社"]


def test_once_the_demo_hospital_maps_its_last_classes_every_class_is_shown(ctx):
    """The demo's story: screen 7 suggests H0001's three unmapped device classes with the two
    other hospitals' models as evidence; accepting them shows all seven classes pooled."""
    seed_demo_activity()
    hospital = org("H0001")
    rows, _ = filtered_rows(db.session, hospital.id, MappingFilter())
    wanted = {r["name"]: r for r in rows if r["name"] in ("汎用心電計", "開放式保育器", "電動式低圧吸引器")
              and r["device_count"]}
    suggester = Suggester(db.session, hospital.id, [r["id"] for r in wanted.values()])
    for row in wanted.values():
        best = suggester(row, limit=1)[0]
        assert best["models"]["hospitals"] == 2  # 「同じ型式: 他院2施設」
        set_mapping(db.session, db.session.get(Classification, row["id"]), best["id"], MANUAL)
    db.session.commit()
    figures = manufacturers.figures_for_month(org("M0001").id, previous_month())
    assert len(figures.by_classification) == 7 and figures.hidden_count == 0
    assert {row.key[0] for row in figures.by_classification} >= {"１２誘導心電計", "開放型保育器", "低圧持続吸引器"}


def test_the_other_hospitals_mappings_are_evidence_for_the_demo_hospital(ctx):
    before = {c["name"]: c["score"] for c in bulk_preview(db.session, org("H0001").id, MappingFilter(), 90)}
    seed_demo_activity()
    after = {c["name"]: c["score"] for c in bulk_preview(db.session, org("H0001").id, MappingFilter(), 90)}
    # The seed without activity (the suite's) has no device; bench/mapping_page.py measures
    # the full demo: 279 → 280 (電動式低圧吸引器 → 低圧持続吸引器 reaches 97 with the models).
    assert after["電動式低圧吸引器"] >= 90 and "電動式低圧吸引器" not in before


def test_demo_activity_is_refused_in_production(app, ctx):
    counts = row_counts()
    app.config["OPTISERVE_ENV"], saved = "production", app.config["OPTISERVE_ENV"]
    try:
        with pytest.raises(DemoRefused):
            seed_demo_activity()
    finally:
        app.config["OPTISERVE_ENV"] = saved
    assert row_counts() == counts


def test_the_other_hospitals_upload_history_is_their_own(client, ctx):
    seed_demo_activity()
    login_as(client, HOSPITAL_B)
    history = client.get("/upload/history.csv").get_data(as_text=True)
    assert "ME機器一覧_" in history and "機器台帳_" not in history  # H0001's file names stay H0001's
    records = db.session.query(UploadFile).filter_by(hospital_id=org("H0002").id).all()
    assert len(records) == 39 and {r.uploaded_by_id for r in records} == {user_by_email(HOSPITAL_B).id}


def test_the_third_demo_hospital_has_a_user_who_sees_only_its_own_ledger(client, ctx):
    """user@aoba-hp.example.jp: the demo password, enrollment of an authenticator at the first
    login (as every demo account), then あおば記念病院's 177 devices and none of the others'."""
    from .test_auth_login import enroll

    seed_demo_activity()
    aoba = org("H0003")
    user = user_by_email(AOBA)
    assert user.organization_id == aoba.id and [r.name for r in user.roles] == ["HospitalUser"]
    _secret, codes, _page = enroll(client, AOBA)
    assert len(codes) == 10
    listing = client.get("/api/v1/ledger/?page_size=1000").get_json()
    numbers = {row["device_number"] for row in listing["rows"]}
    assert listing["total"] == len(numbers) == 177 and all(n.startswith("AO") for n in numbers)
    page = client.get("/ledger/").get_data(as_text=True)
    assert "あおば記念病院" in page and "さくら台総合病院" not in page and "みなと中央病院" not in page
    sakura_device = db.session.scalar(select(Equipment.id).where(Equipment.hospital_id == org("H0001").id))
    assert client.get(f"/ledger/{sakura_device}").status_code == 404
    assert client.get(f"/api/v1/ledger/{sakura_device}").status_code == 404
    assert client.get(f"/ledger/?hospital_id={org('H0001').id}").status_code == 404
    # Its hospital's demo upload history is its own, "uploaded" by it.
    records = db.session.query(UploadFile).filter_by(hospital_id=aoba.id).all()
    assert records and {r.uploaded_by_id for r in records} == {user.id}


def report_counts(month):
    return dict(db.session.execute(select(Organization.code, func.count(ReportFile.id))
                                   .join(ReportFile, ReportFile.hospital_id == Organization.id)
                                   .where(ReportFile.month == month).group_by(Organization.code)).all())


def test_demo_reports_are_generated_for_last_month_of_each_demo_hospital(ctx):
    seed_demo_activity()
    month = previous_month()  # Japan's, as the seed's: at 00:00-09:00 JST the server's date is a day behind
    assert generate_demo_reports() == (f"demo reports: H0001 {month:%Y-%m} generated; "
                                       f"H0002 {month:%Y-%m} generated; H0003 {month:%Y-%m} generated")
    assert report_counts(month) == {"H0001": 3, "H0002": 3, "H0003": 3}
    assert generate_demo_reports() == "demo reports: H0001 already present; H0002 already present; H0003 already present"


def test_demo_reports_wait_for_a_running_report_of_a_demo_hospital(app, ctx, monkeypatch):
    """The seed run again on a live instance takes turns with the worker's report runs."""
    seed_demo_activity()
    month = previous_month()
    monkeypatch.setitem(app.config, "REPORT_LOCK_WAIT_SECONDS", 0.2)
    running = redis_connection().lock(REPORTS_LOCK.format(org("H0002").id), timeout=60)
    assert running.acquire(blocking=False)
    assert "H0002 skipped, a report run is in progress" in generate_demo_reports()
    assert report_counts(month) == {"H0001": 3, "H0003": 3}
    running.release()
    assert "H0002 " + f"{month:%Y-%m} generated" in generate_demo_reports()
    assert report_counts(month) == {"H0001": 3, "H0002": 3, "H0003": 3}
