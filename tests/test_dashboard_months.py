"""The dashboard's month: a month the hospital has no data for, or one that cannot be read, is
not an error page (「ページが見つかりません」) nor an invented month in the picker (「2030年1月」 with
「データがありません」): the latest month with data is shown, with a notice saying so. The data
endpoint answers such a month with a 400 ``{"message": …}``; drill-down and export links go back
to the dashboard. Downloads name their charset once."""
from __future__ import annotations

import html

import pytest

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, login_as
from .report_data import make_dataset

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture()
def data(ctx):
    return make_dataset()


def picker(page: str) -> str:
    return page.split('id="dash-month"')[1].split("</select>")[0]


def heading(page: str) -> str:
    return page.split('<div class="panel-heading"><h4>')[1].split("</h4>")[0]


@pytest.mark.parametrize("asked, notice", [
    ("abc", "指定された対象年月を読み取れませんでした。2025年5月を表示しています。"),
    ("2030-01", "2030年1月のデータはありません。2025年5月を表示しています。"),
    ("2023-01", "2023年1月のデータはありません。2025年5月を表示しています。"),
])
def test_a_month_without_data_shows_the_latest_month_with_a_notice(data, client, asked, notice):
    login_as(client, HOSPITAL_A)
    response = client.get(f"/dashboard/?month={asked}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ページが見つかりません" not in page
    assert notice in html.unescape(page)
    assert "2025年5月" in heading(page)
    assert 'id="dashboard-cards"' in page and 'id="dashboard-empty"' not in page
    months = picker(page)
    assert 'value="2025-05" selected' in months and asked not in months
    assert "2030年1月" not in months and "2023年1月" not in months
    # the notice is said once, on this page only
    assert "表示しています" not in client.get("/dashboard/?month=2025-04").get_data(as_text=True)


def test_a_data_month_is_shown_without_a_notice(data, client):
    login_as(client, HOSPITAL_A)
    page = client.get("/dashboard/?month=2025-04").get_data(as_text=True)
    assert "2025年4月" in heading(page) and 'value="2025-04" selected' in picker(page)
    assert "データはありません" not in page and "読み取れません" not in page


def test_the_notice_in_english(data, client):
    login_as(client, HOSPITAL_A)
    client.get("/lang/en")
    page = html.unescape(client.get("/dashboard/?month=2030-01").get_data(as_text=True))
    assert "There is no data for 2030-01. Showing 2025-05." in page
    page = html.unescape(client.get("/dashboard/?month=abc").get_data(as_text=True))
    assert "The requested month could not be read. Showing 2025-05." in page


def test_a_hospital_without_data_offers_only_the_month_it_shows(data, client):
    login_as(client, HOSPITAL_B)  # the dataset is the first hospital's
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "データがありません" in page and 'id="dashboard-empty"' in page
    assert "<canvas" not in page and 'id="dashboard-cards"' not in page
    assert picker(page).count("<option") == 1
    shown = heading(page)
    page = client.get("/dashboard/?month=2025-05").get_data(as_text=True)
    assert heading(page) == shown and picker(page).count("<option") == 1
    assert "2025年5月のデータはありません。" in html.unescape(page)


def test_the_data_endpoint_refuses_a_month_without_data_with_a_json_400(data, client):
    login_as(client, HOSPITAL_A)
    assert client.get("/dashboard/data?month=2025-05").get_json()["month"] == "2025-05"
    assert client.get("/dashboard/data").get_json()["month"] == "2025-05"
    for asked, message in (("abc", "対象年月を YYYY-MM の形式で指定してください。"),
                           ("2030-01", "指定された月のデータはありません。")):
        response = client.get(f"/dashboard/data?month={asked}")
        assert response.status_code == 400 and response.is_json
        assert response.get_json() == {"message": message}
    response = client.get("/dashboard/data?month=2030-01&_l_=en")
    assert response.status_code == 400
    assert response.get_json() == {"message": "There is no data for the requested month."}


def test_drill_down_and_export_of_a_month_without_data_go_back_to_the_dashboard(data, client):
    login_as(client, HOSPITAL_A)
    for url in ("/dashboard/devices?month=2030-01&scope=all",
                "/dashboard/export?month=abc&table=ranking&format=csv"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/"), url
        page = html.unescape(client.get("/dashboard/").get_data(as_text=True))
        assert "2025年5月を表示しています。" in page and "2025年5月" in heading(page)


def test_an_operator_keeps_the_hospital_it_chose(data, client):
    from .report_data import hospital

    login_as(client, ADMIN)
    h = hospital()
    page = html.unescape(client.get(f"/dashboard/?hospital_id={h.id}&month=2030-01").get_data(as_text=True))
    assert "2030年1月のデータはありません。2025年5月を表示しています。" in page
    response = client.get(f"/dashboard/devices?hospital_id={h.id}&month=2030-01&scope=all")
    assert response.headers["Location"].endswith(f"/dashboard/?hospital_id={h.id}")


def test_every_download_names_its_charset_once(data, client):
    login_as(client, HOSPITAL_A)
    csv_urls = ["/dashboard/export?month=2025-05&table=ranking&format=csv",
                "/dashboard/export?month=2025-05&table=devices&scope=all&format=csv",
                "/ledger/export.csv", "/upload/history.csv"]
    for url in csv_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"], url
    for url in ("/dashboard/export?month=2025-05&table=lending&scope=all&format=xlsx", "/ledger/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers.getlist("Content-Type") == [XLSX], url
    login_as(client, ADMIN)
    response = client.get("/audit/export.csv")
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
