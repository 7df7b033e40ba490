"""In English mode no download says anything in Japanese but the data: each kind of account
opens its menu pages, the dashboard and the upload screen, and fetches every CSV / Excel file
they link to (one of each dashboard table and format, the rejected rows of an upload, the lists' CSV). What is
left after taking out every name stored in the database must be English. The report workbooks
are published once a month in Japanese and are not checked."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest

from app.extensions import db
from app.services.reports.service import generate_reports

from .conftest import ADMIN, HOSPITAL_A, login_as
from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows
from .report_data import MONTH, make_dataset
from .test_english_crawl import app_japanese, stored_names
from .test_menu_crawl import links, navbar_links
from .test_stored_messages import upload_and_ingest

DOWNLOAD = re.compile(r"(/export\b|export\.(csv|xlsx)|history\.csv|/rejected\b)")
NOT_CHECKED = re.compile(r"/reports/download/")  # the monthly report workbooks: Japanese by design


def downloaded_texts(data: bytes) -> list[str]:
    """Sheet names and every text cell of an xlsx, or every cell of a CSV."""
    if data.startswith(b"PK"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        texts = list(book.sheetnames)
        for sheet in book.worksheets:
            texts += [v for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        return texts
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def one_per_kind(urls: set[str]) -> list[str]:
    """One dashboard export per table and format (the others differ only in their scope)."""
    chosen = {}
    for url in sorted(urls):
        query = parse_qs(urlsplit(url).query)
        key = (urlsplit(url).path, query.get("table", [""])[0], query.get("format", [""])[0])
        chosen.setdefault(key, url)
    return sorted(chosen.values())


@pytest.mark.parametrize("email", [ADMIN, HOSPITAL_A])
def test_english_downloads_show_no_japanese_but_data(ctx, client, email):
    generate_reports(make_dataset()["hospital"], MONTH)
    db.session.commit()
    login_as(client, HOSPITAL_A)
    rows = ledger_rows(3) + [ledger_rows(1)[0]]  # a duplicate device number: one rejected row
    rows[1][6] = "2023/13/45"  # and an impossible date
    upload_and_ingest(client, ledger=(csv_bytes([LEDGER_HEADER] + rows), "ledger.csv"))
    uploaded = {cell for row in [LEDGER_HEADER] + rows for cell in row}  # data, as the stored names
    login_as(client, email)
    client.get("/lang/en")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    pages = ["/", f"/dashboard/?month={MONTH:%Y-%m}", "/upload/"] + navbar_links(home)
    found = set()
    for page in dict.fromkeys(pages):
        response = client.get(page, follow_redirects=True)
        if response.status_code == 200 and "html" in response.content_type:
            found |= {u for u in links(response.get_data(as_text=True))
                      if DOWNLOAD.search(u) and not NOT_CHECKED.search(u)}
    downloads = one_per_kind(found)
    assert len(downloads) >= 3, downloads
    if email == HOSPITAL_A:
        assert any(u.endswith("/rejected") for u in downloads), downloads
    names = sorted(set(stored_names()) | uploaded, key=len, reverse=True)
    left = {}
    for url in downloads:
        response = client.get(url)
        assert response.status_code == 200, url
        if japanese := app_japanese(downloaded_texts(response.data), names):
            left[url] = japanese[:5]
    assert left == {}
