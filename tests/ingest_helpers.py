"""Builders of hostile and ordinary upload files for the ingest tests."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def raw_xlsx(sheet_xml: str, shared_xml: str, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        archive.writestr("xl/sharedStrings.xml", shared_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


SHEET_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def lying_shared_strings_xlsx() -> bytes:
    """A 2 KB workbook whose shared-strings table claims 2,147,483,647 entries."""
    sheet = (f'<worksheet {SHEET_NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
             "</sheetData></worksheet>")
    shared = f'<sst {SHEET_NS} count="2147483647" uniqueCount="2147483647"><si><t>機器番号</t></si></sst>'
    return raw_xlsx(sheet, shared)


def declared_rows_xlsx(rows: int = 2_000_000) -> bytes:
    """A tiny workbook whose dimension and one far-away cell declare ``rows`` rows."""
    sheet = (f'<worksheet {SHEET_NS}><dimension ref="A1:C{rows}"/><sheetData>'
             f'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
             f'<row r="{rows}"><c r="C{rows}"><v>1</v></c></row></sheetData></worksheet>')
    shared = f'<sst {SHEET_NS} count="1" uniqueCount="1"><si><t>機器番号</t></si></sst>'
    return raw_xlsx(sheet, shared)


def zip_bomb_xlsx(megabytes: int = 600) -> bytes:
    """A workbook carrying an entry that expands to ``megabytes`` MB of zeros."""
    buffer = io.BytesIO()
    sheet = f'<worksheet {SHEET_NS}><sheetData/></worksheet>'
    shared = f'<sst {SHEET_NS} count="0" uniqueCount="0"/>'
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", shared)
        with archive.open("xl/media/padding.bin", "w", force_zip64=True) as handle:
            block = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                handle.write(block)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("台帳")
    date_format = book.add_format({"num_format": "yyyy/mm/dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, (dt.date, dt.datetime)):
                sheet.write_datetime(r, c, value if isinstance(value, dt.datetime)
                                     else dt.datetime.combine(value, dt.time()), date_format)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- uploads in the database

SAMPLE_LEDGER = __import__("pathlib").Path(__file__).resolve().parent.parent / "seeds" / "samples" / "sample_hospital_me_list.csv"
MONTH = dt.date(2025, 10, 1)
EXTENSIONS = {1: "ledger", 2: "lending", 3: "failure"}


def hospital_id(code: str = "H0001") -> int:
    from app.extensions import db
    from app.models import Organization

    return db.session.query(Organization.id).filter_by(code=code).scalar()


def make_upload(data: bytes, file_type: int, ext: str = "csv", code: str = "H0001",
                month: dt.date = MONTH) -> int:
    """Store ``data`` and record an UploadFile for it, as the upload screen would."""
    import hashlib

    from app.extensions import db
    from app.infra.storage import get_storage
    from app.models import UploadFile, UploadStatus

    upload = UploadFile(
        hospital_id=hospital_id(code), month=month, file_type=file_type,
        original_name=f"export.{ext}", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        status=UploadStatus.processing.value,
    )
    db.session.add(upload)
    db.session.flush()
    upload.storage_key = f"uploads/{upload.hospital_id}/{month:%Y-%m}/{upload.id}/{EXTENSIONS[file_type]}.{ext}"
    get_storage().put_bytes(upload.storage_key, data)
    db.session.commit()
    return upload.id


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


LEDGER_HEADER = ["機器番号", "利用部門", "製品名", "型番", "メーカー名", "シリアル番号", "納入日", "使用期限", "機器分類"]


def ledger_rows(count: int, start: int = 1) -> list[list]:
    makers = ["テルモ㈱", "ＧＥヘルスケア・ジャパン㈱", "日本光電工業株式会社"]
    classes = ["輸液ポンプ", "シリンジポンプ", "生体情報モニタ"]
    return [
        [f"ME{n:05d}", "ＩＣＵ", f"製品{n % 7}", f"TE-{n % 5}", makers[n % 3], f"SN{n}",
         "2020/04/01", "R10.3.31", classes[n % 3]]
        for n in range(start, start + count)
    ]
