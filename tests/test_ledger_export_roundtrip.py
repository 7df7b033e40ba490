"""The ledger list's CSV export uploaded again as a month's ledger (export, fix a few rows in
Excel, upload): unchanged, it creates no classification, changes no device, keeps every
mapping, override and the month's listing; one edited cell changes that device only
(app/services/ledger/export.py)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from sqlalchemy import select, update

from app.core.months import utc_now
from app.extensions import db
from app.models import Classification, Equipment, EquipmentChange, LedgerListing, UploadFile
from app.services.ingest.pipeline import run_ingest
from app.services.ledger import maintenance as ledger
from app.views.csv_export import csv_text

from .conftest import HOSPITAL_A, login_as
from .ingest_helpers import csv_bytes, hospital_id, make_upload

FIRST, LATEST = dt.date(2025, 9, 1), dt.date(2025, 10, 1)
HEADER = ["機器番号", "利用部門", "製品名", "型番", "メーカー名", "シリアル番号", "納入日", "使用期限",
          "大分類", "中分類", "小分類"]
DEVICES = [
    # 汎用心電計 is a seeded level-2 classification of H0001 (under 12誘導心電計), one of
    # several classifications with that name: the name alone does not say which.
    ["ME1", "ICU", "カーディマックス", "FCP-8800", "フクダ電子株式会社", "S-1", "2019/4/1", "2027/3/31",
     "１２誘導心電計", "汎用心電計", ""],
    ["ME2", "手術室", "テルフュージョン輸液ポンプ", "TE-281A", "テルモ㈱", "S-2", "R2.5.1", "",
     "治療機器", "輸液ポンプ", "その他"],
    ["ME3", "5階東病棟", "テルフュージョンシリンジポンプ", "TE-351", "テルモ株式会社", "S-3", "2020-06-01", "",
     "治療機器", "シリンジポンプ", "その他"],
    ["ME4", "ＮＩＣＵ", "=HYPERLINK(1)", "+12", "某社", "-AB", "", "", "生体情報", "", ""],
    ["ME5", "外来処置室", "吸引器", "MS-009", "泉工医科工業株式会社", "", "", "", "", "", ""],
    ["ME6", "HCU", "パルスオキシメータ", "OLV-3100", "日本光電工業株式会社", "S-6", "2018/1/1", "",
     "生体情報", "モニタ", "パルスオキシメータ"],
]
DROPPED = ["ME7", "ICU", "旧型モニタ", "OLD-1", "某社", "S-7", "2005/1/1", "2012/12/31", "生体情報", "モニタ", ""]


def ledger_upload(rows, month) -> None:
    outcome = run_ingest(make_upload(csv_bytes([HEADER, *rows]), 1, month=month))
    assert outcome.status == "succeeded", outcome.message


@pytest.fixture()
def hospital_ledger(ctx):
    """H0001's ledgers of two months (the later one drops ME7), a mapping and overrides."""
    ledger_upload([*DEVICES, DROPPED], FIRST)
    ledger_upload(DEVICES, LATEST)
    hospital = hospital_id()
    by_number = {e.device_number: e for e in db.session.scalars(
        select(Equipment).where(Equipment.hospital_id == hospital))}
    common = db.session.scalar(select(Classification.id).where(Classification.hospital_id.is_(None),
                                                               Classification.is_active.is_(True))
                               .order_by(Classification.id).limit(1))
    # screen 7: ME2's leaf mapped by a person; screen 5: ME1 reclassified, ME3 excluded
    db.session.execute(update(Classification).where(Classification.id == by_number["ME2"].classification_id)
                       .values(smds_classification_id=common, mapping_method="manual", mapped_at=utc_now()))
    ledger.change(hospital, ledger.Target(ids=[by_number["ME1"].id]), classification_id=common,
                  reason="院内の分類の誤り")
    ledger.change(hospital, ledger.Target(ids=[by_number["ME3"].id]), counts=False, reason="予備機")
    db.session.commit()
    return hospital


def stored(hospital: int) -> dict:
    """What the hospital's ledger is: its classifications with their mappings, its devices
    (every column but the bookkeeping of the last upload), the ledgers' listings, the history."""
    db.session.expire_all()
    classes = {c.id: (c.parent_id, c.level, c.name, c.normalized_name, c.is_active, c.smds_classification_id,
                      c.mapping_method, c.mapped_by_id, c.mapped_at)
               for c in db.session.scalars(select(Classification).where(Classification.hospital_id == hospital))}
    skip = {"upload_id", "updated_on"}
    columns = [c.key for c in Equipment.__table__.columns if c.key not in skip]
    devices = {e.device_number: {c: getattr(e, c) for c in columns}
               for e in db.session.scalars(select(Equipment).where(Equipment.hospital_id == hospital))}
    listings = set(db.session.execute(select(LedgerListing.month, LedgerListing.equipment_id)
                                      .where(LedgerListing.hospital_id == hospital)).all())
    changes = db.session.scalar(select(db.func.count(EquipmentChange.id))
                                .where(EquipmentChange.hospital_id == hospital))
    return {"classifications": classes, "devices": devices, "listings": listings, "changes": changes}


def export(client, language="ja", extension="csv") -> bytes:
    """The list's export (CSV or, tests/test_ledger_export_xlsx.py, Excel) as hospital A."""
    login_as(client, HOSPITAL_A)
    if language == "en":
        client.get("/lang/en")
    response = client.get(f"/ledger/export.{extension}")
    assert response.status_code == 200
    return response.get_data()


def upload_again(data: bytes, month=LATEST):
    outcome = run_ingest(make_upload(data, 1, month=month))
    assert outcome.status == "succeeded", outcome.message
    return outcome


def upload_on_screen(client, data: bytes, month=LATEST, name="ledger.csv"):
    """The upload screen (screen 3) takes the file; its queued job runs the ingest."""
    from app.infra.queue import redis_connection

    response = client.post("/upload/", data={"month": f"{month:%Y-%m}", "ledger": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 303), response.status_code
    redis_connection().flushdb()  # the job is run here, not by a worker
    upload = db.session.scalar(select(UploadFile).order_by(UploadFile.id.desc()).limit(1))
    assert (upload.month, upload.original_name) == (month, name)
    outcome = run_ingest(upload.id)
    assert outcome.status == "succeeded", outcome.message
    return outcome


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_uploading_the_export_unchanged_changes_nothing(client, hospital_ledger, language, extension):
    """The CSV and the Excel workbook (tests/test_ledger_export_xlsx.py) alike."""
    before = stored(hospital_ledger)
    data = export(client, language, extension)
    assert zipfile.is_zipfile(io.BytesIO(data)) == (extension == "xlsx")
    outcome = upload_on_screen(client, data, name=f"ledger.{extension}")
    assert (outcome.rows_imported, outcome.rows_rejected) == (7, 0)
    after = stored(hospital_ledger)
    assert after["classifications"] == before["classifications"]  # none created, mappings kept
    assert after["devices"] == before["devices"]  # overrides included
    assert after["listings"] == before["listings"]  # ME7 stays out of the latest ledger
    assert after["changes"] == before["changes"]


def test_the_export_names_the_hospitals_classification_path(client, hospital_ledger):
    rows = list(csv.reader(io.StringIO(export(client).decode("utf-8-sig"))))
    header = rows[0]
    by_number = {r[header.index("機器番号")]: dict(zip(header, r)) for r in rows[1:]}
    me1 = by_number["ME1"]
    assert (me1["大分類"], me1["中分類"], me1["小分類"]) == ("12誘導心電計", "汎用心電計", "")
    assert me1["元の機器分類"] == "汎用心電計" and me1["集計上の機器分類"] != "汎用心電計"  # the override
    assert (by_number["ME3"]["中分類"], by_number["ME3"]["小分類"]) == ("シリンジポンプ", "その他")
    assert by_number["ME7"]["最新の台帳にあり"] == "×"
    assert by_number["ME4"]["製品名"] == "'=HYPERLINK(1)"  # kept as text in Excel
    assert "機器分類" not in header  # the display name is never read back as a level-1 class


def test_one_edited_cell_changes_that_device_only(client, hospital_ledger):
    before = stored(hospital_ledger)
    rows = list(csv.reader(io.StringIO(export(client).decode("utf-8-sig"))))
    header = rows[0]
    number, model = header.index("機器番号"), header.index("モデル番号")
    edited = [r for r in rows[1:] if r[number] == "ME2"][0]
    edited[model] = "TE-281B"
    upload_again(csv_text(header, rows[1:]).encode("utf-8"))  # Excel's 「CSV UTF-8」: BOM kept
    after = stored(hospital_ledger)
    assert after["classifications"] == before["classifications"]
    assert after["listings"] == before["listings"]
    changed = {n: {c: (before["devices"][n][c], v) for c, v in d.items() if before["devices"][n][c] != v}
               for n, d in after["devices"].items()}
    assert {n: c for n, c in changed.items() if c} == {
        "ME2": {"model_number": ("TE-281A", "TE-281B"), "model_key": ("te281a", "te281b")}}


def test_an_edited_path_moves_the_ledgers_classification_and_keeps_the_override(client, hospital_ledger):
    """大/中/小 are the ledger's classification: editing them is what a file from the hospital's
    system does (the default changes); a person's override still wins until restored."""
    rows = list(csv.reader(io.StringIO(export(client).decode("utf-8-sig"))))
    header = rows[0]
    number, minor = header.index("機器番号"), header.index("小分類")
    for row in rows[1:]:
        if row[number] == "ME1":
            row[minor] = "12誘導"
    upload_again(csv_text(header, rows[1:]).encode("utf-8"))
    db.session.expire_all()
    me1 = db.session.scalar(select(Equipment).where(Equipment.hospital_id == hospital_ledger,
                                                    Equipment.device_number == "ME1"))
    leaf = db.session.get(Classification, me1.classification_id)
    assert (leaf.level, leaf.name, leaf.parent.name) == (3, "12誘導", "汎用心電計")
    assert me1.override_classification_id is not None
    assert me1.effective_classification_id == me1.override_classification_id
