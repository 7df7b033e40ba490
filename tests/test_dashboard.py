"""The dashboard (issue 14, item 6) and the start pages (item 7): headline cards coloured by
direction and meaning, definitions from docs/figures.md, the empty state, CSV / Excel export,
the drill-down, and that every new URL stays inside the user's scope."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from app.extensions import db
from app.models import Classification, Equipment, UploadFile, User
from app.services import start

from .conftest import (
    ADMIN,
    DEALER,
    HOSPITAL_A,
    HOSPITAL_B,
    MANUFACTURER,
    OPERATOR,
    ORGADMIN_A,
    login_as,
    user_by_email,
)
from .report_data import hospital, make_dataset

DOCS = Path(__file__).resolve().parent.parent / "docs" / "figures.md"
NEW_URLS = ["/dashboard/", "/dashboard/data", "/dashboard/devices?scope=all",
            "/dashboard/export?table=ranking&format=csv", "/dashboard/export?table=lending&scope=all&format=xlsx",
            "/dashboard/export?table=devices&scope=all&format=csv"]


@pytest.fixture()
def data(ctx):
    return make_dataset(hyperlink_department=True)


def card(page, key):
    return re.search(rf'<div class="dash-card" data-figure="{key}" title="([^"]*)">(.*?)</div>\s*</div>',
                     page, re.S)


def doc_definition(name):
    """The Japanese definition of a ②/① row of docs/figures.md."""
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] == name:
            return cells[2].split(" / ")[0]
    raise AssertionError(name)


def test_cards_show_changes_coloured_by_meaning_and_definitions(data, client):
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    utilization = card(page, "utilization")
    assert "11.09%" in utilization.group(2)
    # May 330 h ÷ (4 × 744) against April 36 h ÷ (4 × 720): up, and up is good.
    previous = re.search(r'tone-(\w+)" data-compare="previous">.*?</span>\s*(▲|▼)\s*([^<]*)<', utilization.group(2), re.S)
    assert previous.groups() == ("good", "▲", f"{(330 / 2976 - 36 / 2880) * 100:+.2f}pt")
    failure_rate = card(page, "failure_rate")
    # May 102 h ÷ 2976 against April 48 h ÷ 2880: up, and a rising failure rate is bad.
    previous = re.search(r'tone-(\w+)" data-compare="previous">.*?</span>\s*(▲|▼)\s*([^<]*)<', failure_rate.group(2), re.S)
    assert previous.groups() == ("bad", "▲", f"{(102 / 2976 - 48 / 2880) * 100:+.2f}pt")
    assert html.unescape(failure_rate.group(1)) == doc_definition("故障率")
    assert html.unescape(utilization.group(1)) == doc_definition("稼働率")
    # Last year (2024-05) had one lending of D1 only and no failure: failures vs last year.
    failures = card(page, "failures").group(2)
    assert 'tone-none" data-compare="last_year"' not in failures or "—" in failures
    # Every ① / ② row carries its definition too.
    assert f'title="{html.escape(doc_definition("平均貸出時間"))}" data-figure="mean_lending_hours"' in page
    # The charts' script and the vendored library, under the nonce CSP (no CDN).
    assert "/static/vendor/chartjs/chart.umd.min.js" in page and "cdn" not in page.lower()
    assert "<script src=" in page and 'id="dashboard-data"' in page


def test_month_without_data_says_so_and_draws_no_axes(data, client):
    # a month without data is shown only to a hospital without any (another month asked of a
    # hospital with data shows its latest: tests/test_dashboard_months.py)
    login_as(client, HOSPITAL_B)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "データがありません" in page and 'id="dashboard-empty"' in page
    assert "<canvas" not in page and "chart.umd.min.js" not in page and 'class="dash-chart' not in page
    assert 'id="dashboard-cards"' not in page and 'id="dashboard-ranking"' not in page


def test_month_picker_offers_the_data_months(data, client):
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-04").get_data(as_text=True)
    picker = page.split('id="dash-month"')[1].split("</select>")[0]
    assert 'value="2025-05"' in picker and 'value="2025-04" selected' in picker and 'value="2024-05"' in picker
    assert 'id="dash-next" href="/dashboard/?month=2025-05"' in page


def test_export_csv_with_bom_and_excel(data, client):
    login_as(client, HOSPITAL_A)
    response = client.get("/dashboard/export?month=2025-05&table=ranking&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["順位", "機器分類", "機器台数", "当月貸出時間", "稼働率（%）"]
    assert rows[1][:5] == ["1", "モニタ", "2", "294.0", f"{294 / 1488 * 100:.2f}"]
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    top = client.get("/dashboard/export?month=2025-05&table=top_models&scope=all&format=csv").data.decode("utf-8-sig")
    assert "5階病棟 50.0%、=HYPERLINK" in top  # inside a cell, not at its start: no formula
    from app.services.reports.table_export import to_csv

    assert to_csv(["部署"], [["=HYPERLINK(\"x\")"], ["@SUM(A1)"], ["ICU"]]).decode("utf-8-sig").split("\r\n")[1:4] == \
        ['"\'=HYPERLINK(""x"")"', "'@SUM(A1)", "ICU"]
    book = client.get("/dashboard/export?month=2025-05&table=lending&scope=all&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(book.data)).active
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["合計貸出時間"][2] == 330.0 and values["稼働率"][2] == round(330 / 2976 * 100, 2)
    trend = client.get("/dashboard/export?month=2025-05&table=trend&scope=all&format=csv").data.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(trend)))) == 14  # header + 13 months
    assert client.get("/dashboard/export?month=2025-05&table=nope&format=csv").status_code == 404
    assert client.get("/dashboard/export?month=2025-05&table=lending&scope=c999999&format=csv").status_code == 404


def test_drill_down_from_a_class_to_its_devices(data, client):
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    link = re.search(rf'href="(/dashboard/devices\?[^"]*cls={data["q1"]})"', page).group(1)
    devices = client.get(html.unescape(link)).get_data(as_text=True)
    table = devices.split('id="device-list"')[1]
    numbers = re.findall(r'<tr data-device="\d+"><td>([^<]*)</td>', table)
    assert numbers == ["D2", "D3"]  # D3 is overridden to モニタ
    d3 = table.split("<td>D3</td>")[1].split("</tr>")[0]
    assert "288.0" in d3  # not returned: to the end of May
    everything = client.get("/dashboard/devices?month=2025-05&scope=all").get_data(as_text=True)
    assert re.findall(r'<tr data-device="\d+"><td>([^<]*)</td>', everything) == ["D1", "D2", "D3", "D4"]
    exported = client.get(f"/dashboard/export?month=2025-05&table=devices&cls={data['q1']}&format=csv")
    assert [r[0] for r in csv.reader(io.StringIO(exported.data.decode("utf-8-sig")))] == ["機器番号", "D2", "D3"]
    assert client.get("/dashboard/devices?month=2025-05&cls=999999").status_code == 404


def test_every_new_url_stays_in_scope(data, client):
    make_dataset("H0002")
    a, b = hospital("H0001"), hospital("H0002")
    b_class = db.session.query(Classification).filter_by(hospital_id=b.id, name="モニタ").one().id
    login_as(client, HOSPITAL_A)
    for url in NEW_URLS:
        sep = "&" if "?" in url else "?"
        assert client.get(f"{url}{sep}month=2025-05").status_code == 200, url
        assert client.get(f"{url}{sep}month=2025-05&hospital_id={b.id}").status_code == 404, url
    # B's classification named on A's dashboard: not one of A's classes.
    assert client.get(f"/dashboard/devices?month=2025-05&cls={b_class}").status_code == 404
    assert client.get(f"/dashboard/export?month=2025-05&table=devices&cls={b_class}&format=csv").status_code == 404
    login_as(client, HOSPITAL_B)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    assert "みなと中央病院" in page and "さくら台総合病院" not in page
    # A manufacturer sees pooled figures only (screen 9), never a hospital's dashboard.
    login_as(client, MANUFACTURER)
    for url in NEW_URLS:
        sep = "&" if "?" in url else "?"
        assert client.get(f"{url}{sep}month=2025-05&hospital_id={a.id}").status_code in (302, 403, 404), url
    # The dealer: only the hospital it chose.
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": a.id}).status_code == 302
    for url in NEW_URLS:
        sep = "&" if "?" in url else "?"
        assert client.get(f"{url}{sep}month=2025-05").status_code == 200, url
        assert client.get(f"{url}{sep}month=2025-05&hospital_id={b.id}").status_code == 404, url
    # Operators choose any hospital.
    login_as(client, OPERATOR)
    assert client.get(f"/dashboard/data?month=2025-05&hospital_id={b.id}").get_json()["hospital_id"] == b.id


def test_data_url_gives_the_cards_and_figures(data, client):
    login_as(client, HOSPITAL_A)
    body = client.get("/dashboard/data?month=2025-05").get_json()
    assert body["has_data"] is True and body["month"] == "2025-05"
    cards = {c["key"]: c for c in body["cards"]}
    assert cards["failure_rate"]["previous"]["tone"] == "bad" and cards["utilization"]["previous"]["tone"] == "good"
    assert body["figures"]["scopes"][0]["trend"]["lending"]["lending_hours"][-1] == 330.0


# ------------------------------------------------------------------ start pages

def test_operator_start_page_monitors_uploads_jobs_and_mapping(data, client):
    h = hospital()
    month = dt.date(2026, 10, 1)
    db.session.add(UploadFile(hospital_id=h.id, month=month, file_type=2, original_name="貸出.csv", sha256="0" * 64,
                              status="failed", message="列が見つかりません", uploaded_at=dt.datetime(2026, 11, 29)))
    db.session.add(UploadFile(hospital_id=h.id, month=month, file_type=3, original_name="故障.csv", sha256="1" * 64,
                              status="processing", uploaded_at=dt.datetime(2026, 11, 29, 1)))
    db.session.commit()
    for email in (OPERATOR, ADMIN):
        login_as(client, email)
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert 'id="start-operator"' in text and "ようこそ" not in text
        incomplete = text.split('id="start-incomplete"')[1].split('id="start-problems"')[0]
        assert "さくら台総合病院" in incomplete and "みなと中央病院" in incomplete
        problems = text.split('id="start-problems"')[1].split('id="start-unmapped"')[0]
        assert "貸出.csv" in problems and "列が見つかりません" in problems
        assert "故障.csv" in problems and "停止の疑い" in problems
        unmapped = text.split('id="start-unmapped"')[1]
        assert "さくら台総合病院" in unmapped  # its own classes are not mapped to SMDS
    # unmapped classes, those of them that hold devices, and their devices: counted in Python
    classes = db.session.query(Classification).filter_by(hospital_id=h.id, smds_classification_id=None,
                                                         is_active=True).all()
    per_class = Counter(e.override_classification_id or e.classification_id
                        for e in db.session.query(Equipment).filter_by(hospital_id=h.id))
    (row,) = [r for r in start.unmapped_by_hospital() if r["hospital_id"] == h.id]
    assert (row["classes"], row["in_use"], row["devices"]) == (
        len(classes), sum(1 for c in classes if per_class[c.id]), sum(per_class[c.id] for c in classes))
    assert 0 < row["in_use"] < row["classes"]
    assert (f'<td class="text-right">{row["classes"]:,}</td><td class="text-right">{row["in_use"]:,}</td>'
            f'<td class="text-right">{row["devices"]:,}</td>') in text


def test_orgadmin_start_page_lists_invitations_and_locked_users(data, client):
    user = user_by_email(HOSPITAL_A)
    user.locked_until = dt.datetime.utcnow() + dt.timedelta(minutes=20)
    db.session.commit()
    login_as(client, ORGADMIN_A)
    response = client.get("/")
    text = response.get_data(as_text=True) if response.status_code == 200 else ""
    if response.status_code == 302:  # an OrgAdmin who is also a hospital user lands on the dashboard
        pytest.fail("the demo OrgAdmin is expected to have the OrgAdmin start page")
    assert 'id="start-orgadmin"' in text
    assert HOSPITAL_A in text.split('id="start-locked"')[1]
    assert HOSPITAL_B not in text


def test_hospital_user_dashboard_shows_upload_status_and_latest_report(data, client):
    login_as(client, HOSPITAL_A)
    assert client.get("/").headers["Location"].endswith("/dashboard/")
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    status = page.split('id="dashboard-status"')[1].split("</div>\n</div>")[0]
    assert "分のアップロード" in status and "最新のレポート" in status


def test_system_and_manufacturer_start_pages(data, client):
    system = db.session.query(User).filter(User.email == "system@smds.example").one_or_none()
    if system is not None:
        login_as(client, system.email)
        text = client.get("/").get_data(as_text=True)
        assert 'id="start-system"' in text and "API" in text and "docs/api.md" in text
    login_as(client, MANUFACTURER)
    text = client.get("/").get_data(as_text=True)
    assert 'id="start-manufacturer"' in text and "/manufacturer/figures?month=" in text


JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_dashboard_in_english_has_english_cards_status_and_chart_texts(data, client):
    """After choosing English the cards, their units, the upload status, the sections' names
    and the charts' texts are English (the stored figures keep Japanese labels)."""
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    cards = re.findall(r'<div class="dash-card" data-figure="\w+"[^>]*>(.*?)</div>\s*</div>', page, re.S)
    assert cards and not [c for c in cards if JAPANESE.search(re.sub(r"<[^>]+>", "", c))]
    assert "Utilization" in page and " devices</small>" in page
    status = page.split('id="dashboard-status"')[1].split("</div>\n</div>")[0]
    assert not JAPANESE.search(re.sub(r"<[^>]+>", "", status)), status
    assert "All devices" in page and "<h4>全機器</h4>" not in page
    life = page.split('class="table table-condensed table-bordered dashboard-life"')[1].split("</table>")[0]
    assert not JAPANESE.search(re.sub(r"<[^>]+>", "", life)), life
    client_data = page.split('id="dashboard-data"')[1].split(">", 1)[1].split("</script>")[0]
    import json

    charts = json.loads(client_data.replace("<\\/", "</"))
    assert charts["labels"]["lending"]["utilization"] == "Utilization"
    assert charts["texts"]["units"]["時間"] == " hours" and charts["texts"]["devices"] == "Devices"
    assert charts["scopes"][0]["name"] == "All devices"


def test_operator_start_page_in_english_names_upload_states_in_english(data, client):
    login_as(client, OPERATOR)
    client.get("/lang/en")
    text = client.get("/").get_data(as_text=True)
    incomplete = text.split('id="start-incomplete"')[1].split('id="start-problems"')[0]
    assert "Not submitted" in incomplete and "未提出" not in incomplete
