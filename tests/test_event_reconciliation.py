"""One lending / failure is one row across files (DESIGN.md §5 "Events across files"), the
unknown-end rule, and the data-quality section. Each rule on its own, through the real
pipeline; expected hours are computed by hand in the comments."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.infra.storage import get_storage
from app.models import Equipment, Failure, Lending, Organization, ReportFile
from app.services.ingest.pipeline import run_ingest
from app.services.reports.data_quality import data_quality
from app.services.reports.figures import compute_figures
from app.services.reports.service import generate_reports

from .conftest import HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, hospital_id, ledger_rows, make_upload, xlsx_bytes

MARCH, APRIL, MAY = dt.date(2025, 3, 1), dt.date(2025, 4, 1), dt.date(2025, 5, 1)
LENDING_HEADER = ["機器番号", "貸出日時", "返却日時", "貸出先"]
FAILURE_HEADER = ["機器番号", "故障日", "修理完了日", "故障内容"]
T = dt.datetime


def setup_hospital(devices: int = 5) -> dict[str, int]:
    hospital = db.session.get(Organization, hospital_id())
    hospital.analysis_level = 1
    db.session.commit()
    assert run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(devices)]), 1, month=MARCH)).status == "succeeded"
    return dict(db.session.execute(select(Equipment.device_number, Equipment.id)).all())


def lend(month, rows, ext="csv"):
    data = xlsx_bytes([LENDING_HEADER, *rows]) if ext == "xlsx" else csv_bytes([LENDING_HEADER, *rows])
    outcome = run_ingest(make_upload(data, 2, ext, month=month))
    assert outcome.status in ("succeeded", "succeeded_with_rejections"), outcome.message
    return outcome


def lendings():
    return db.session.execute(select(Lending.equipment_id, Lending.lent_at, Lending.returned_at)
                              .order_by(Lending.lent_at)).all()


def figure(hospital, month, key, scope="all"):
    part = compute_figures(hospital, month).scope(scope)
    return next(r.value for r in [*part.lending, *part.failure] if r.figure.key == key)


def test_blank_return_in_march_filled_in_april_is_one_row_split_by_month(ctx):
    ids = setup_hospital()
    # Lent 28 March 10:00; March's file (exported 3 April) has no return yet.
    lend(MARCH, [["ME00001", "2025/03/28 10:00", "", "ICU"]])
    assert lendings() == [(ids["ME00001"], T(2025, 3, 28, 10), None)]
    # Open, listed by March's file: counts to the end of March (3 days 14 h = 86 h), not in April.
    assert figure(hospital_id(), MARCH, "lending_hours") == 86
    assert figure(hospital_id(), APRIL, "lending_hours") is None  # no April data yet
    lend(APRIL, [["ME00001", "2025/03/28 10:00", "2025/04/16 12:30", "ICU"],
                 ["ME00002", "2025/04/02 08:00", "2025/04/02 20:00", "ICU"]])
    assert lendings() == [(ids["ME00001"], T(2025, 3, 28, 10), T(2025, 4, 16, 12, 30)),
                          (ids["ME00002"], T(2025, 4, 2, 8), T(2025, 4, 2, 20))]
    # March: 28th 10:00 → 1 April 00:00 = 86 h. April: 15 days 12.5 h = 372.5 h, + 12 h.
    assert figure(hospital_id(), MARCH, "lending_hours") == 86
    assert figure(hospital_id(), MARCH, "lendings") == 1
    assert figure(hospital_id(), APRIL, "lending_hours") == 372.5 + 12
    assert figure(hospital_id(), APRIL, "lendings") == 2
    row = db.session.scalars(select(Lending).where(Lending.equipment_id == ids["ME00001"])).one()
    assert row.month == MARCH and row.open_until == T(2025, 4, 1)  # first listed by March's file


def test_corrected_reupload_of_march_drops_a_lending_and_leaves_april(ctx):
    ids = setup_hospital()
    lend(MARCH, [["ME00001", "2025/03/05 10:00", "2025/03/05 12:00", "ICU"],
                 ["ME00002", "2025/03/30 00:00", "", "ICU"]])
    lend(APRIL, [["ME00002", "2025/03/30 00:00", "2025/04/02 00:00", "ICU"],
                 ["ME00003", "2025/04/10 00:00", "2025/04/11 00:00", "ICU"]])
    april_before = (figure(hospital_id(), APRIL, "lending_hours"), figure(hospital_id(), APRIL, "lendings"))
    assert april_before == (24 + 24, 2)
    # The corrected March file no longer lists ME00001's lending; it was exported before the
    # return of ME00002, so that one is blank again — a blank never erases a known return.
    outcome = lend(MARCH, [["ME00002", "2025/03/30 00:00", "", "ICU"]])
    assert outcome.rows_imported == 1
    assert "2025年3月に始まる貸出のうち、今回のファイルにない 1 件を削除しました。" in outcome.message
    assert lendings() == [(ids["ME00002"], T(2025, 3, 30), T(2025, 4, 2)),
                          (ids["ME00003"], T(2025, 4, 10), T(2025, 4, 11))]
    assert figure(hospital_id(), MARCH, "lendings") == 1 and figure(hospital_id(), MARCH, "lending_hours") == 48
    assert (figure(hospital_id(), APRIL, "lending_hours"), figure(hospital_id(), APRIL, "lendings")) == april_before


def test_reupload_swapping_one_lending_for_another_removes_the_dropped_one(ctx):
    """The same number of events in the month before and after: the one the file no longer
    lists still goes (the removal is decided by what is stored, not by the count)."""
    ids = setup_hospital()
    lend(MARCH, [["ME00001", "2025/03/05 10:00", "2025/03/05 12:00", "ICU"],
                 ["ME00002", "2025/03/06 10:00", "2025/03/06 12:00", "ICU"]])
    outcome = lend(MARCH, [["ME00001", "2025/03/05 10:00", "2025/03/05 12:00", "ICU"],
                           ["ME00003", "2025/03/07 10:00", "2025/03/07 12:00", "ICU"]])
    assert "今回のファイルにない 1 件を削除しました。" in outcome.message
    assert lendings() == [(ids["ME00001"], T(2025, 3, 5, 10), T(2025, 3, 5, 12)),
                          (ids["ME00003"], T(2025, 3, 7, 10), T(2025, 3, 7, 12))]
    # The same file again removes nothing.
    outcome = lend(MARCH, [["ME00001", "2025/03/05 10:00", "2025/03/05 12:00", "ICU"],
                           ["ME00003", "2025/03/07 10:00", "2025/03/07 12:00", "ICU"]])
    assert "削除しました" not in outcome.message
    assert len(lendings()) == 2


def test_open_lending_not_listed_again_stops_counting_and_is_listed_unknown(ctx, client):
    ids = setup_hospital()
    lend(MARCH, [["ME00001", "2025/03/20 00:00", "", "ICU"]])  # 12 days to the end of March
    lend(APRIL, [["ME00002", "2025/04/01 00:00", "2025/04/01 06:00", "ICU"]])  # April: not listed
    h = hospital_id()
    assert figure(h, MARCH, "lending_hours") == 12 * 24
    assert figure(h, APRIL, "lending_hours") == 6 and figure(h, APRIL, "lendings") == 1
    assert figure(h, APRIL, "lent_devices") == 1
    quality = data_quality(h, APRIL)
    assert [(u.label, u.device_number, u.start, u.last_listed) for u in quality.unknown_end] == [
        ("返却日不明", "ME00001", T(2025, 3, 20), MARCH)]
    assert data_quality(h, MARCH).unknown_end == []  # March's own file listed it open
    # Failures the same way: 修理日不明.
    run_ingest(make_upload(csv_bytes([FAILURE_HEADER, ["ME00003", "2025/03/31 12:00", "", "液漏れ"]]), 3, month=MARCH))
    assert figure(h, MARCH, "failure_hours") == 12
    assert figure(h, APRIL, "failure_hours") == 0
    assert [(u.label, u.device_number) for u in data_quality(h, APRIL).unknown_end] == [
        ("返却日不明", "ME00001"), ("修理日不明", "ME00003")]
    # The dashboard and the workbook show it.
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-04").get_data(as_text=True)
    section = page[page.index('id="data-quality"'):]
    assert "ME00001" in section and "2025-03-20 00:00" in section and "修理日不明" in section
    assert 'id="zone-note"' in section  # times on the page: the zone is named once
    generate_reports(h, APRIL, notify=False)
    row = db.session.scalars(select(ReportFile).where(ReportFile.hospital_id == h, ReportFile.month == APRIL,
                                                      ReportFile.file_type == 1)).one()
    sheet = openpyxl.load_workbook(io.BytesIO(get_storage().open(row.storage_key).read()))["データ品質"]
    values = [c for r in sheet.iter_rows(values_only=True) for c in r if c is not None]
    assert "返却日不明" in values and "ME00001" in values and "2025-03" in values and ids


def test_utc_offset_is_converted_to_japan_time(ctx):
    ids = setup_hospital()
    lend(MAY, [["ME00001", "2025-05-01T00:00:00Z", "2025-05-01T10:30:00+09:00", "ICU"]])
    assert lendings() == [(ids["ME00001"], T(2025, 5, 1, 9), T(2025, 5, 1, 10, 30))]


def test_excel_serial_times_round_to_the_minute_and_match_the_csv_event(ctx):
    ids = setup_hospital()
    start = T(2025, 3, 28, 10, 17)
    lend(MARCH, [["ME00001", start, None, "ICU"]], ext="xlsx")
    assert lendings() == [(ids["ME00001"], start, None)]  # no ±1 µs left
    lend(APRIL, [["ME00001", "2025/03/28 10:17", "2025/04/01 10:17", "ICU"]])
    assert lendings() == [(ids["ME00001"], start, T(2025, 4, 1, 10, 17))]


def test_duplicate_device_and_minute_in_one_file_keeps_the_first_row(ctx):
    ids = setup_hospital()
    outcome = lend(MARCH, [["ME00001", "2025/03/05 10:00", "2025/03/05 12:00", "ICU"],
                           ["ME00001", "2025/03/05 10:00:20", "2025/03/06 12:00", "HCU"]])
    assert (outcome.rows_imported, outcome.rows_rejected) == (1, 1)
    assert lendings() == [(ids["ME00001"], T(2025, 3, 5, 10), T(2025, 3, 5, 12))]


def test_double_booked_device_and_long_lending_are_listed(ctx):
    setup_hospital()
    # ME00001 lent twice over the whole of April: 720 h + 720 h > 720 h of April.
    lend(APRIL, [["ME00001", "2025/04/01 00:00", "2025/05/01 00:00", "ICU"],
                 ["ME00001", "2025/04/01 00:05", "2025/05/01 00:00", "HCU"],
                 ["ME00002", "2025/01/01 00:00", "2025/04/15 00:00", "ICU"],
                 ["ME00003", "2025/04/03 00:00", "2025/04/04 00:00", "ICU"]])
    quality = data_quality(hospital_id(), APRIL)
    assert [(d.device_number, round(d.hours, 6), len(d.rows)) for d in quality.over_booked] == [
        ("ME00001", round(720 + 720 - 5 / 60, 6), 2)]
    # 1 January → 15 April = 104 days > 90.
    assert [(x.device_number, round(x.days)) for x in quality.long_lendings] == [("ME00002", 104)]
    assert figure(hospital_id(), APRIL, "utilization") > 0  # still counted: shown, not hidden


def test_manufacturer_and_no_activity_use_the_same_interval_rule(ctx):
    from app.services.partners import manufacturers
    from app.services.reports.lists import no_activity_rows

    ids = setup_hospital()
    lend(MARCH, [["ME00001", "2025/03/31 00:00", "", "ICU"]])
    lend(APRIL, [["ME00002", "2025/04/01 00:00", "2025/04/01 06:00", "ICU"]])
    h = hospital_id()
    march = manufacturers._hours_by_device(Lending, Lending.lent_at, Lending.returned_at, [h], MARCH)
    april = manufacturers._hours_by_device(Lending, Lending.lent_at, Lending.returned_at, [h], APRIL)
    assert march == {ids["ME00001"]: 24.0}
    assert april == {ids["ME00002"]: 6.0}  # ME00001's end is unknown after March
    idle_april = {row[0] for row in no_activity_rows(h, APRIL)}
    assert "ME00001" in idle_april and "ME00002" not in idle_april
    assert "ME00001" not in {row[0] for row in no_activity_rows(h, MARCH)}


def test_failure_listed_by_two_files_is_one_row(ctx):
    """A failure listed by two files is stored once (the repaired date filled by the later)."""
    ids = setup_hospital()
    run_ingest(make_upload(csv_bytes([FAILURE_HEADER, ["ME00004", "2025/03/30 09:00", "", "表示不良"]]), 3, month=MARCH))
    run_ingest(make_upload(csv_bytes([FAILURE_HEADER, ["ME00004", "2025/03/30 09:00", "2025/04/02 09:00", ""]]), 3,
                           month=APRIL))
    rows = db.session.execute(select(Failure.equipment_id, Failure.failed_at, Failure.repaired_at,
                                     Failure.description)).all()
    # The later file's blank description keeps the earlier one.
    assert rows == [(ids["ME00004"], T(2025, 3, 30, 9), T(2025, 4, 2, 9), "表示不良")]
