"""Issue 14 item 13: the demo hospital's upload history matches its 13 demo months; the history
no longer says 未実施 after a ledger-only upload; the column-mapping step previews the file's
first rows under their headers."""
from __future__ import annotations

import datetime as dt
import re

from app.core.months import add_months, current_month, previous_month
from app.extensions import db
from app.models import Organization, UploadFile
from app.seeding import demo_activity
from app.seeding.demo_activity import MONTHS, seed_demo_activity
from app.services.uploads import records as uploads

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .ingest_helpers import csv_bytes
from .test_upload import post


def org(code):
    return db.session.query(Organization).filter_by(code=code).one()


def test_demo_data_has_the_upload_records_of_its_13_months(client, ctx, monkeypatch):
    # The seed's clock on the 20th (the real one may be the 1st-3rd, before the demo's upload
    # time of last month's files): the history shows 10:00 JST on the 3rd whatever the date.
    past_the_third = dt.datetime.combine(current_month().replace(day=20), dt.time(3))
    monkeypatch.setattr(demo_activity, "utc_now", lambda: past_the_third)
    assert "39 upload records" in seed_demo_activity()
    hospital = org("H0001")
    records = db.session.query(UploadFile).filter_by(hospital_id=hospital.id).all()
    months = sorted({r.month for r in records})
    assert len(months) == MONTHS and months[-1] == previous_month()
    assert all(r.status == "succeeded" and r.uploaded_by_id == user_by_email(HOSPITAL_A).id for r in records)
    assert seed_demo_activity() == "demo activity: already present"  # idempotent
    # H0001's own 39: the demo's other hospitals have their own records (tests/test_demo_seed.py).
    assert db.session.query(UploadFile).filter_by(hospital_id=hospital.id).count() == 3 * MONTHS
    login_as(client, HOSPITAL_A)
    page = client.get("/upload/").get_data(as_text=True)
    history = page[page.index('id="upload-history"'):]
    last = previous_month()
    row = history[history.index(f"<td>{last:%Y-%m}</td>"):][:600]
    assert "完了" in row and "未実施" not in row
    # Uploaded 10:00 JST on the 3rd (the seed's clock is past it; seeded before then, an hour
    # before the seeding: tests/test_demo_seed.py).
    assert re.search(r"<td>(\d{4}-\d{2}-\d{2} \d{2}:\d{2})</td>", row).group(1) == \
        f"{add_months(last, 1):%Y-%m}-03 10:00"
    login_as(client, HOSPITAL_B)
    assert "機器台帳_" not in client.get("/upload/history.csv").get_data(as_text=True)


def test_history_after_a_ledger_only_upload_is_not_未実施(ctx):
    hospital = org("H0001")
    month = uploads.default_month()
    db.session.add(UploadFile(hospital_id=hospital.id, month=month, file_type=1, original_name="ledger.csv",
                              size=1, sha256="1" * 64, status="succeeded", uploaded_at=dt.datetime(2026, 11, 1)))
    db.session.commit()
    row = next(h for h in uploads.history(hospital.id) if h["month"] == f"{month:%Y-%m}")
    assert row["status"] != "未実施"
    assert row["status"].startswith("一部完了") and "機器台帳" in row["status"]
    assert row["marks"] == {1: "○", 2: "-", 3: "-"}
    assert row["date"] == "2026-11-01 09:00"  # JST


def test_history_says_a_month_with_nothing_sent_is_not_yet_due_until_its_due_date(ctx):
    """A month whose files are due by the 10th of the next month is not 未実施 (an alarm) before
    then: the current month, and last month until the 10th, say until when."""
    hospital = org("H0002")
    db.session.query(UploadFile).filter_by(hospital_id=hospital.id).delete()
    db.session.commit()
    statuses = {h["month"]: h["status"] for h in uploads.history(hospital.id, on=dt.date(2026, 12, 10))}
    assert statuses["2026-12"] == "提出期限前（1/10 まで）"
    assert statuses["2026-11"] == "提出期限前（12/10 まで）"  # the 10th itself is still in time
    assert statuses["2026-10"] == "未実施"
    statuses = {h["month"]: h["status"] for h in uploads.history(hospital.id, on=dt.date(2026, 12, 11))}
    assert statuses["2026-11"] == "未実施"


def test_mapping_step_previews_the_first_rows(client, ctx):
    login_as(client, HOSPITAL_A)
    rows = [["No", "設置", "品目", ""]] + [[f"A-{i}", "ＩＣＵ", f"ポンプ{i}", ""] for i in range(1, 9)]
    post(client, ledger=(csv_bytes(rows), "odd.csv"))
    upload = db.session.query(UploadFile).one()
    upload.status, upload.message = "needs_mapping", "必須の列（機器番号）が見つかりません。"
    db.session.commit()
    page = client.get(f"/upload/{upload.id}/mapping").get_data(as_text=True)
    preview = page[page.index('id="mapping-preview"'):page.index("</table>", page.index('id="mapping-preview"'))]
    assert "<th>No</th><th>設置</th><th>品目</th></tr>" in preview
    assert "<td>A-1</td><td>ＩＣＵ</td><td>ポンプ1</td>" in preview
    assert "A-5" in preview and "A-6" not in preview  # the first five rows
    login_as(client, HOSPITAL_B)
    assert client.get(f"/upload/{upload.id}/mapping").status_code == 404


def test_mapping_step_in_english_names_the_fields_in_english(client, ctx):
    """The field names were msgids shown untranslated: an English reader saw 機器番号, 利用部門…
    beside English buttons, and a refusal named the field in Japanese too."""
    login_as(client, HOSPITAL_A)
    rows = [["No", "設置", "品目"], ["A-1", "ICU", "ポンプ"]]
    post(client, ledger=(csv_bytes(rows), "odd.csv"))
    upload = db.session.query(UploadFile).one()
    upload.status, upload.message = "needs_mapping", "必須の列（機器番号）が見つかりません。"
    db.session.commit()
    client.get("/lang/en")
    page = client.get(f"/upload/{upload.id}/mapping").get_data(as_text=True)
    fields = page[page.index('id="mapping-table"'):]
    assert '<label for="field_device_number">Device number</label>' in fields
    assert '<label for="field_model_number">Model number</label>' in fields
    assert "機器番号" not in fields and "利用部門" not in fields
    assert f"Medical equipment ledger ({upload.month:%Y-%m}, receipt no. {upload.id})</h4>" in page
    refused = client.post(f"/upload/{upload.id}/mapping", data={"field_device_number": ""})
    assert refused.status_code == 400
    assert 'Select the column for "Device number".' in refused.get_data(as_text=True).replace("&#34;", '"')
    client.get("/lang/ja_JP")
    page = client.get(f"/upload/{upload.id}/mapping").get_data(as_text=True)
    assert '<label for="field_device_number">機器番号</label>' in page
    assert f"医療機器台帳（{upload.month:%Y-%m}、受付番号 {upload.id}）</h4>" in page
