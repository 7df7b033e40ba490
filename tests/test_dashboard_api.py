"""GET /api/v1/reports/figures: the dashboard's figures of a month by API key or session — the
values the dashboard shows, from the stored figures, inside the dashboard's scope."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DealerLevel, StoredFigures
from app.services.partners import dealers
from app.services.unit_of_work import unit_of_work

from .conftest import ADMIN, DEALER, HOSPITAL_A, MANUFACTURER, OPERATOR, login_as, user_by_email
from .report_data import hospital, make_dataset
from .test_api_keys import bearer, key_for

URL = "/api/v1/reports/figures"


@pytest.fixture()
def data(ctx):
    make_dataset("H0002")
    return make_dataset()


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_figures_equal_the_dashboard_json_of_the_month(data, client):
    login_as(client, HOSPITAL_A)
    screen = client.get("/dashboard/data?month=2025-05").get_json()
    response = client.get(f"{URL}?month=2025-05")
    assert response.status_code == 200
    api = response.get_json()["result"]
    assert (api["hospital_id"], api["hospital_code"], api["month"], api["has_data"]) == (
        hospital("H0001").id, "H0001", "2025-05", True)
    assert api["months"] == screen["figures"]["months"]
    # The headline cards: the same values, texts and coloured changes as the screen's.
    assert [c["key"] for c in api["cards"]] == [c["key"] for c in screen["cards"]]
    for mine, shown in zip(api["cards"], screen["cards"], strict=True):
        assert (mine["label"], mine["value"], mine["text"], mine["previous"], mine["last_year"]) == (
            shown["label"], shown["raw"], shown["value"], shown["previous"], shown["last_year"])
    cards = by_key(api["cards"])
    assert cards["utilization"]["value"] == pytest.approx(330 / 2976)  # May: 330 h over 4 devices × 744 h
    assert cards["utilization"]["previous"]["tone"] == "good" and cards["failure_rate"]["previous"]["tone"] == "bad"
    # ①–⑤ per scope and ⑥: the screen's trends and tables.
    assert [s["key"] for s in api["scopes"]] == [s["key"] for s in screen["figures"]["scopes"]]
    for mine, shown in zip(api["scopes"], screen["figures"]["scopes"], strict=True):
        assert mine["name"] == shown["name"]
        for section in ("lending", "failure"):
            assert {k: r["trend"] for k, r in by_key(mine[section]).items()} == shown["trend"][section]
            assert all(r["value"] == r["trend"][-1] for r in mine[section])
        assert [(r["bucket"], r["label"], r["devices"], r["lending_hours"]) for r in mine["life"]] == [
            (r["bucket"], r["label"], r["devices"], r["lending_hours"]) for r in shown["life"]]
        assert mine["models_near_end"][:10] == shown["models_near_end"]
        assert mine["top_models"] == shown["top_models"]
    assert api["ranking"][:20] == screen["figures"]["ranking"]
    lending = by_key(api["scopes"][0]["lending"])
    assert lending["lending_hours"]["value"] == 330.0 and lending["lending_hours"]["previous"] == 36.0
    assert lending["lending_hours"]["diff_previous"] == 294.0


def test_figures_are_read_from_the_stored_figures(data, client, monkeypatch):
    login_as(client, HOSPITAL_A)
    first = client.get(f"{URL}?month=2025-05").get_json()["result"]
    stored_rows = db.session.scalar(select(func.count()).select_from(StoredFigures))
    from app.services.reports import stored

    def no_computation(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(stored, "compute", no_computation)
    assert client.get(f"{URL}?month=2025-05").get_json()["result"] == first
    assert db.session.scalar(select(func.count()).select_from(StoredFigures)) == stored_rows


def test_a_hospital_key_reads_its_own_hospital_only(app, data, client):
    key = key_for(app, HOSPITAL_A)
    client.delete_cookie("session")
    a, b = hospital("H0001"), hospital("H0002")
    own = client.get(f"{URL}?month=2025-05", headers=bearer(key))
    assert own.status_code == 200 and own.get_json()["result"]["hospital_id"] == a.id
    assert client.get(f"{URL}?month=2025-05&hospital_id={a.id}", headers=bearer(key)).status_code == 200
    other = client.get(f"{URL}?month=2025-05&hospital_id={b.id}", headers=bearer(key))
    assert other.status_code == 404 and other.get_json()["message"].startswith("指定されたもの（URL または ID）は存在しない")
    # No key, a wrong key: no figures.
    assert client.get(f"{URL}?month=2025-05").status_code == 401
    assert client.get(f"{URL}?month=2025-05", headers=bearer("sst_" + "x" * 43)).status_code == 401


@pytest.mark.parametrize("month", ["", "2025-13", "May 2025", "1999-12", "2999-01"])
def test_a_bad_month_is_400_in_japanese_or_english(data, client, month):
    login_as(client, HOSPITAL_A)
    response = client.get(f"{URL}?month={month}")
    assert response.status_code == 400
    assert response.get_json()["message"] == "対象年月を YYYY-MM の形式で指定してください。"
    english = client.get(f"{URL}?month={month}&_l_=en")
    assert english.status_code == 400
    assert english.get_json()["message"] == "Specify the target month in the format YYYY-MM."


def test_an_operator_names_the_hospital(data, client):
    b = hospital("H0002")
    login_as(client, OPERATOR)
    missing = client.get(f"{URL}?month=2025-05")
    assert missing.status_code == 400 and missing.get_json()["message"] == "医療機関（hospital_id）を指定してください。"
    assert client.get(f"{URL}?month=2025-05&_l_=en").get_json()["message"] == "Specify the hospital (hospital_id)."
    body = client.get(f"{URL}?month=2025-05&hospital_id={b.id}").get_json()["result"]
    assert (body["hospital_code"], body["has_data"]) == ("H0002", True)
    assert client.get(f"{URL}?month=2025-05&hospital_id=999999").status_code == 404


def test_a_manufacturer_is_refused(data, client):
    login_as(client, MANUFACTURER)
    response = client.get(f"{URL}?month=2025-05&hospital_id={hospital('H0001').id}")
    assert response.status_code == 403
    assert response.get_json() == {"message": "この操作を行う権限がありません。必要な場合は組織の管理者にお問い合わせください。"}
    english = client.get(f"{URL}?month=2025-05&hospital_id={hospital('H0001').id}&_l_=en")
    assert english.status_code == 403 and english.get_json()["message"].startswith("You are not allowed to do this")


def _set_level(level):
    with unit_of_work():
        dealers.grant(hospital("H0001"), DEALER, level, "テスト", user_by_email(HOSPITAL_A))


def test_a_dealer_sees_the_chosen_hospital_at_a_level_with_reports(app, data, client):
    a, b = hospital("H0001"), hospital("H0002")
    _set_level(DealerLevel.download_site)
    login_as(client, DEALER)
    assert client.post("/dealer/choose", data={"hospital": a.id}).status_code == 302
    assert client.get(f"{URL}?month=2025-05").get_json()["result"]["hospital_id"] == a.id
    assert client.get(f"{URL}?month=2025-05&hospital_id={b.id}").status_code == 404
    # The dealer's key (one permission: it acts for that hospital) reads the same.
    key = key_for(app, DEALER)
    assert client.get(f"{URL}?month=2025-05", headers=bearer(key)).get_json()["result"]["hospital_id"] == a.id
    # At the masters level the dashboard is closed to the dealer; so are its figures.
    _set_level(DealerLevel.masters)
    assert client.get("/dashboard/data?month=2025-05").status_code == 403
    assert client.get(f"{URL}?month=2025-05").status_code == 403
    assert client.get(f"{URL}?month=2025-05", headers=bearer(key)).status_code == 403


def test_english_labels_on_request(data, client):
    login_as(client, HOSPITAL_A)
    ja = client.get(f"{URL}?month=2025-05").get_json()["result"]
    en = client.get(f"{URL}?month=2025-05&_l_=en").get_json()["result"]
    assert by_key(ja["cards"])["utilization"]["label"] == "稼働率"
    assert by_key(en["cards"])["utilization"]["label"] == "Utilization"
    assert (ja["scopes"][0]["name"], en["scopes"][0]["name"]) == ("全機器", "All devices")
    assert [c["value"] for c in en["cards"]] == [c["value"] for c in ja["cards"]]


def test_the_contract_documents_the_operation(client):
    login_as(client, ADMIN)
    spec = client.get("/api/v1/_openapi").get_json()
    operation = spec["paths"]["/api/v1/reports/figures"]["get"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert "DashboardFiguresResult" in spec["components"]["schemas"]
