"""Screen 5 (K006) and its API: search, filters, paging, changes with reasons and history,
restore defaults, and hospital A never reaching hospital B's ledger."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from app.core.months import current_month
from app.extensions import db
from app.models import Classification, Equipment, EquipmentChange, Lending, Organization
from app.services.ledger import listing
from app.services.ledger import maintenance as ledger
from app.services.ledger.device_months import list_devices

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, login_as, user_by_email


def org_id(code):
    return db.session.query(Organization.id).filter_by(code=code).scalar()


def common(name_index=0):
    return db.session.query(Classification).filter(Classification.hospital_id.is_(None)) \
        .order_by(Classification.id).offset(name_index).first()


@pytest.fixture()
def devices(ctx):
    a, b = org_id("H0001"), org_id("H0002")
    c1, c2 = common(0), common(1)
    own_b = Classification(hospital_id=b, level=1, name="B病院の分類", normalized_name="b病院の分類")
    db.session.add(own_b)
    db.session.flush()
    rows = [
        dict(hospital_id=a, device_number="ME001", department_use="MEセンター2", product_name="輸液ポンプ",
             model_number="TE-161", maker_name="テルモ(株)", serial_number="S1", classification_id=c1.id,
             delivered_on=dt.date(2020, 4, 1), expires_on=dt.date(2028, 3, 31), default_counts=True),
        dict(hospital_id=a, device_number="ME002", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-161", maker_name="テルモ(株)", serial_number="S2", classification_id=c1.id,
             default_counts=True),
        dict(hospital_id=a, device_number="ME003", department_use="ICU", product_name="シリンジポンプ",
             model_number="TE-351", maker_name="テルモ(株)", serial_number="S3", classification_id=c2.id,
             default_counts=True),
        dict(hospital_id=a, device_number="ME004", department_use="ICU", product_name="生体情報モニタ",
             model_number="BSM-1", maker_name="日本光電工業(株)", serial_number="S4", classification_id=c2.id,
             default_counts=False),
        dict(hospital_id=a, device_number="ME005", department_use="MEセンター1", product_name="除細動器",
             model_number="TEC-5600", maker_name="日本光電工業(株)", serial_number="S5", classification_id=None,
             default_counts=True),
        dict(hospital_id=b, device_number="B-001", department_use="ICU", product_name="輸液ポンプ",
             model_number="TE-161", maker_name="テルモ(株)", serial_number="SB1", classification_id=c1.id,
             default_counts=True),
        dict(hospital_id=b, device_number="B-002", department_use="ICU", product_name="秘密の機器B",
             model_number="X-9", maker_name="B社", serial_number="SB2", classification_id=own_b.id,
             default_counts=True),
    ]
    db.session.execute(insert(Equipment), rows)
    db.session.commit()
    by_number = {e.device_number: e.id for e in db.session.query(Equipment)}
    return {"ids": by_number, "a": a, "b": b, "c1": c1.id, "c2": c2.id, "own_b": own_b.id}


def eq(devices, number) -> Equipment:
    db.session.expire_all()
    return db.session.get(Equipment, devices["ids"][number])


def changes_of(devices, number):
    db.session.expire_all()
    return db.session.query(EquipmentChange).filter_by(equipment_id=devices["ids"][number]) \
        .order_by(EquipmentChange.id).all()


def numbers(result):
    return [r["device_number"] for r in result["rows"]]


# ---------------------------------------------------------------- the logic


def test_search_covers_k006_columns(devices):
    a = devices["a"]
    assert numbers(listing.page(a, ledger.LedgerFilter(q="MEセンター2"))) == ["ME001"]  # owner's T03
    assert numbers(listing.page(a, ledger.LedgerFilter(q="TE-351"))) == ["ME003"]
    assert numbers(listing.page(a, ledger.LedgerFilter(q="S5"))) == ["ME005"]
    assert sorted(numbers(listing.page(a, ledger.LedgerFilter(q="日本光電")))) == ["ME004", "ME005"]
    assert numbers(listing.page(a, ledger.LedgerFilter(q="%"))) == []  # wildcards are literal
    c1_name = db.session.get(Classification, devices["c1"]).name
    assert sorted(numbers(listing.page(a, ledger.LedgerFilter(q=c1_name)))) == ["ME001", "ME002"]


def test_filters(devices):
    a = devices["a"]
    assert sorted(numbers(listing.page(a, ledger.LedgerFilter(department="ICU")))) == ["ME002", "ME003", "ME004"]
    assert sorted(numbers(listing.page(a, ledger.LedgerFilter(maker="日本光電工業(株)")))) == ["ME004", "ME005"]
    assert sorted(numbers(listing.page(a, ledger.LedgerFilter(classification_id=devices["c2"])))) == ["ME003", "ME004"]
    assert numbers(listing.page(a, ledger.LedgerFilter(state="excluded"))) == ["ME004"]
    assert numbers(listing.page(a, ledger.LedgerFilter(state="overridden"))) == []


def test_paging_100_per_page(ctx):
    a = org_id("H0001")
    db.session.execute(insert(Equipment), [dict(hospital_id=a, device_number=f"P{n:04d}", default_counts=True)
                                           for n in range(250)])
    db.session.commit()
    first = listing.page(a, ledger.LedgerFilter(), 1)
    last = listing.page(a, ledger.LedgerFilter(), 3)
    assert (first["total"], first["pages"], len(first["rows"]), len(last["rows"])) == (250, 3, 100, 50)
    assert listing.page(a, ledger.LedgerFilter(), 99)["page"] == 3


def test_searched_pages_count_every_match(ctx):
    """A text search reads its count and its page in one scan; the figures are the same."""
    a = org_id("H0001")
    db.session.execute(insert(Equipment), [dict(hospital_id=a, device_number=f"Q{n:04d}", default_counts=True,
                                                model_number="ＴＥ－２８１Ａ" if n % 2 else "OTHER")
                                           for n in range(250)])
    db.session.commit()
    search = ledger.LedgerFilter(q="te-281a")
    first, second = listing.page(a, search, 1), listing.page(a, search, 2)
    assert (first["total"], first["pages"], len(first["rows"]), len(second["rows"])) == (125, 2, 100, 25)
    assert numbers(first)[0] == "Q0001" and numbers(second)[-1] == "Q0249"
    past_end = listing.page(a, search, 7)
    assert (past_end["page"], past_end["total"], numbers(past_end)) == (2, 125, numbers(second))
    nothing = listing.page(a, ledger.LedgerFilter(q="no such device"), 3)
    assert (nothing["total"], nothing["pages"], nothing["page"], nothing["rows"]) == (0, 1, 1, [])


def test_a_huge_page_number_shows_the_last_page(ctx, client):
    """?page=<20 digits> is past the end like any other: the last page, not an offset the
    database cannot hold (a 500), searched or not."""
    a = org_id("H0001")
    db.session.execute(insert(Equipment), [dict(hospital_id=a, device_number=f"Q{n:04d}", default_counts=True,
                                                model_number="ＴＥ－２８１Ａ") for n in range(150)])
    db.session.commit()
    huge = 10 ** 20
    for flt in (ledger.LedgerFilter(), ledger.LedgerFilter(q="te-281a"), ledger.LedgerFilter(model="TE-281A")):
        shown = listing.page(a, flt, huge)
        assert (shown["page"], shown["total"], len(shown["rows"])) == (2, 150, 50), flt
    login_as(client, HOSPITAL_A)
    assert client.get(f"/ledger/?q=te-281a&page={huge}").status_code == 200


def test_no_activity_marker(devices):
    a = devices["a"]
    db.session.add(Lending(hospital_id=a, equipment_id=devices["ids"]["ME001"], month=current_month(),
                           lent_at=dt.datetime.now() - dt.timedelta(days=3),
                           returned_at=dt.datetime.now() - dt.timedelta(days=2)))
    db.session.commit()
    rows = {r["device_number"]: r for r in listing.page(a, ledger.LedgerFilter())["rows"]}
    assert rows["ME001"]["has_activity"] is True and rows["ME002"]["has_activity"] is False


def test_the_latest_ledger_marker_and_month(devices, client):
    """Before any ledger, whether one lists a device is unknown; afterwards a device missing
    from the latest ledger is marked, whatever earlier ledgers listed, and the month is the
    latest ledger's, also on an empty page and in the API."""
    a, ids = devices["a"], devices["ids"]
    before = listing.page(a, ledger.LedgerFilter())
    assert before["latest_ledger_month"] is None
    assert {r["in_latest_ledger"] for r in before["rows"]} == {None}
    list_devices(db.session, a, dt.date(2026, 5, 1), [ids["ME001"], ids["ME002"], ids["ME003"]])
    list_devices(db.session, a, dt.date(2026, 6, 1), [ids["ME001"], ids["ME004"]])
    list_devices(db.session, devices["b"], dt.date(2026, 9, 1), [ids["B-001"]])  # another hospital's later ledger
    db.session.commit()
    shown = listing.page(a, ledger.LedgerFilter())
    assert shown["latest_ledger_month"] == dt.date(2026, 6, 1)
    assert {r["device_number"]: r["in_latest_ledger"] for r in shown["rows"]} == {
        "ME001": True, "ME002": False, "ME003": False, "ME004": True, "ME005": False}
    empty = listing.page(a, ledger.LedgerFilter(q="no such device"))
    assert (empty["rows"], empty["latest_ledger_month"]) == ([], dt.date(2026, 6, 1))
    login_as(client, HOSPITAL_A)
    assert "最新の台帳になし" in client.get("/ledger/?q=ME002").get_data(as_text=True)
    assert "最新の台帳になし" not in client.get("/ledger/?q=ME001").get_data(as_text=True)
    assert client.get("/api/v1/ledger/?q=ME002").get_json()["latest_ledger_month"] == "2026-06"


def test_the_filters_offer_the_hospitals_own_departments_and_makers_in_order(devices):
    choices = listing.filter_choices(devices["a"])
    assert choices == {"departments": ["ICU", "MEセンター1", "MEセンター2"],
                       "makers": ["テルモ(株)", "日本光電工業(株)"]}
    assert listing.filter_choices(devices["b"]) == {"departments": ["ICU"], "makers": ["B社", "テルモ(株)"]}


def test_change_one_device_records_history_and_default_removes_override(devices):
    user = user_by_email(HOSPITAL_A)
    target = ledger.Target(ids=[devices["ids"]["ME001"]])
    assert ledger.change(devices["a"], target, counts=False, reason="院内で使用していない", user_id=user.id) == 1
    db.session.commit()
    device = eq(devices, "ME001")
    assert device.override_counts is False and device.counts_in_aggregation is False
    (entry,) = changes_of(devices, "ME001")
    assert (entry.field, entry.old_value, entry.new_value, entry.reason, entry.changed_by_id) == \
        ("counts", "true", "false", "院内で使用していない", user.id)
    # Back to the default value: no override left, the history grows.
    ledger.change(devices["a"], target, counts=True, reason="再び使用", user_id=user.id)
    db.session.commit()
    assert eq(devices, "ME001").override_counts is None
    assert [c.new_value for c in changes_of(devices, "ME001")] == ["false", "true"]
    # Setting what is already effective changes nothing and records nothing.
    assert ledger.change(devices["a"], target, counts=True, reason="同じ", user_id=user.id) == 0


def test_reason_required(devices):
    with pytest.raises(ledger.LedgerError, match="変更理由"):
        ledger.change(devices["a"], ledger.Target(ids=[devices["ids"]["ME001"]]), counts=False, reason="  ")
    db.session.rollback()
    assert eq(devices, "ME001").override_counts is None and changes_of(devices, "ME001") == []


def test_bulk_change_by_filter_records_one_entry_per_device(devices):
    user = user_by_email(HOSPITAL_A)
    flt = ledger.LedgerFilter(department="ICU", state="included")
    changed = ledger.change(devices["a"], ledger.Target(filter=flt), counts=False, reason="ICU 更新予定",
                            user_id=user.id)
    db.session.commit()
    assert changed == 2  # ME002, ME003 (ME004 is already excluded)
    entries = db.session.query(EquipmentChange).order_by(EquipmentChange.equipment_id).all()
    assert [e.equipment_id for e in entries] == sorted([devices["ids"]["ME002"], devices["ids"]["ME003"]])
    assert {(e.reason, e.changed_by_id, e.field, e.old_value, e.new_value) for e in entries} == \
        {("ICU 更新予定", user.id, "counts", "true", "false")}
    assert eq(devices, "ME004").override_counts is None  # its default already is "excluded"
    assert eq(devices, "B-001").override_counts is None  # another hospital's ICU is untouched


def test_bulk_change_by_model_and_classification_override(devices):
    target = ledger.Target(model_number="TE-161")
    changed = ledger.change(devices["a"], target, classification_id=devices["c2"], reason="分類の見直し")
    db.session.commit()
    assert changed == 2
    assert eq(devices, "ME001").override_classification_id == devices["c2"]
    assert eq(devices, "B-001").override_classification_id is None
    entry = changes_of(devices, "ME002")[0]
    assert entry.old_value == db.session.get(Classification, devices["c1"]).name
    # The default classification as override → override removed.
    ledger.change(devices["a"], ledger.Target(ids=[devices["ids"]["ME001"]]),
                  classification_id=devices["c1"], reason="元に戻す")
    db.session.commit()
    assert eq(devices, "ME001").override_classification_id is None
    with pytest.raises(ledger.LedgerError):  # another hospital's own classification
        ledger.change(devices["a"], target, classification_id=devices["own_b"], reason="x")


def test_restore_defaults_keeps_history(devices):
    a = devices["a"]
    ledger.change(a, ledger.Target(everything=True), counts=False, reason="一時除外")
    ledger.change(a, ledger.Target(ids=[devices["ids"]["ME003"]]), classification_id=devices["c1"], reason="分類変更")
    db.session.commit()
    before = db.session.query(EquipmentChange).count()
    assert before == 5  # four counted devices + one classification
    ledger.restore_defaults(a, ledger.Target(ids=[devices["ids"]["ME003"]]))
    db.session.commit()
    device = eq(devices, "ME003")
    assert device.override_counts is None and device.override_classification_id is None
    ledger.restore_defaults(a, ledger.Target(everything=True), reason="年度替わり")
    db.session.commit()
    assert db.session.query(Equipment).filter(Equipment.hospital_id == a,
                                              Equipment.override_counts.is_not(None)).count() == 0
    history = db.session.query(EquipmentChange).count()
    assert history == before + 2 + 3  # nothing deleted; each restore recorded
    assert changes_of(devices, "ME001")[-1].reason == "年度替わり"


# ---------------------------------------------------------------- the screen and the API


def test_screen_lists_k006_columns(client, devices):
    login_as(client, HOSPITAL_A)
    page = client.get("/ledger/").get_data(as_text=True)
    for label in ("集計対象", "利用部門", "機器番号", "製品名", "モデル番号", "シリアル番号", "メーカー名",
                  "納入日", "使用期限", "機器分類", "ME001", "2028-03-31"):
        assert label in page
    assert "B-001" not in page and "秘密の機器B" not in page
    assert "ledger.js" in page and "<script>" not in page
    page = client.get("/ledger/?q=MEセンター2").get_data(as_text=True)
    assert "ME001" in page and "ME002" not in page


def test_screen_change_selection_and_filter(client, devices):
    login_as(client, HOSPITAL_A)
    response = client.post("/ledger/change", data={
        "target": "selected", "ids": [devices["ids"]["ME001"], devices["ids"]["ME005"]],
        "counts": "0", "reason": "選択して除外"})
    assert response.status_code == 302
    assert eq(devices, "ME001").override_counts is False and eq(devices, "ME005").override_counts is False
    response = client.post("/ledger/change", data={"target": "filter", "f_maker": "日本光電工業(株)",
                                                   "counts": "1", "reason": "メーカー単位"}, follow_redirects=True)
    assert "件の設定を変更しました" in response.get_data(as_text=True)
    assert eq(devices, "ME004").override_counts is True and eq(devices, "ME005").override_counts is None
    response = client.post("/ledger/change", data={"target": "selected", "ids": [devices["ids"]["ME002"]],
                                                   "counts": "0", "reason": ""}, follow_redirects=True)
    assert "変更理由を入力してください。" in response.get_data(as_text=True)
    assert eq(devices, "ME002").override_counts is None
    page = client.get(f"/ledger/{devices['ids']['ME001']}").get_data(as_text=True)
    assert "選択して除外" in page and "集計対象外" in page


def test_screen_restore(client, devices):
    login_as(client, HOSPITAL_A)
    client.post("/ledger/change", data={"target": "selected", "ids": [devices["ids"]["ME001"]],
                                        "counts": "0", "reason": "除外"})
    response = client.post("/ledger/restore", data={"target": "all"}, follow_redirects=True)
    assert "デフォルトに戻しました" in response.get_data(as_text=True)
    assert eq(devices, "ME001").override_counts is None
    assert len(changes_of(devices, "ME001")) == 2


def test_hospital_b_cannot_reach_a_ledger(client, devices):
    login_as(client, HOSPITAL_B)
    a1 = devices["ids"]["ME001"]
    assert client.get(f"/ledger/{a1}").status_code == 404
    assert client.get(f"/api/v1/ledger/{a1}").status_code == 404
    assert client.get(f"/ledger/?hospital_id={devices['a']}").status_code == 404
    assert client.get(f"/api/v1/ledger/?hospital_id={devices['a']}").status_code == 404
    listing = client.get("/api/v1/ledger/").get_json()
    assert sorted(r["device_number"] for r in listing["rows"]) == ["B-001", "B-002"]
    client.post("/ledger/change", data={"target": "selected", "ids": [a1], "counts": "0", "reason": "x"})
    response = client.post("/api/v1/ledger/change", json={"ids": [a1], "counts": False, "reason": "x"})
    assert response.get_json()["changed"] == 0
    client.post("/ledger/change", data={"target": "model", "model_number": "TE-161", "counts": "0", "reason": "x"})
    assert eq(devices, "B-001").override_counts is False  # B's own device of that model changed
    client.post("/api/v1/ledger/restore", json={"all": True})
    assert eq(devices, "B-001").override_counts is None
    assert eq(devices, "ME001").override_counts is None and changes_of(devices, "ME001") == []


def test_api_change_restore_and_history(client, devices):
    login_as(client, HOSPITAL_A)
    response = client.post("/api/v1/ledger/change", json={
        "filter": {"department": "ICU"}, "counts": False, "classification_id": devices["c1"], "reason": "API 変更"})
    assert response.status_code == 200 and response.get_json()["changed"] == 2 + 2
    bad = client.post("/api/v1/ledger/change", json={"ids": [devices["ids"]["ME001"]], "counts": False})
    assert bad.status_code == 400 and "変更理由" in bad.get_json()["message"]
    data = client.get(f"/api/v1/ledger/{devices['ids']['ME003']}").get_json()
    assert data["result"]["counts"] is False and data["result"]["overridden"] is True
    assert {h["field"] for h in data["history"]} == {"counts", "classification"}
    listing = client.get("/api/v1/ledger/?state=overridden").get_json()
    assert listing["total"] == 3
    # ME004 is excluded by default, so only its classification was overridden
    assert client.post("/api/v1/ledger/restore", json={"model_number": "BSM-1"}).get_json()["changed"] == 1
    assert eq(devices, "ME004").override_classification_id is None


def test_admin_works_on_a_chosen_hospital(client, devices):
    login_as(client, ADMIN)
    page = client.get(f"/ledger/?hospital_id={devices['b']}").get_data(as_text=True)
    assert "B-001" in page and "ME001" not in page
    client.post("/ledger/change", data={"hospital_id": devices["b"], "target": "selected",
                                        "ids": [devices["ids"]["B-001"]], "counts": "0", "reason": "運用側で変更"})
    assert eq(devices, "B-001").override_counts is False


def test_users_without_the_capability_are_refused(client, devices):
    from .conftest import MANUFACTURER

    login_as(client, MANUFACTURER)
    assert client.get("/ledger/").status_code in (302, 403, 404)
    assert client.get("/api/v1/ledger/").status_code in (401, 403, 404)


def test_refused_change_on_a_device_page_shows_that_page_with_the_input(client, devices):
    """From a device's page, a refused change (no reason) comes back to the same page with
    what the user chose, not to the first page of the ledger."""
    login_as(client, HOSPITAL_A)
    device_id = devices["ids"]["ME002"]
    page = client.get(f"/ledger/{device_id}").get_data(as_text=True)
    assert 'name="from_device"' in page
    assert "独自の機器分類" in page  # what the * beside a classification means
    response = client.post("/ledger/change", data={
        "target": "one", "ids": str(device_id), "from_device": "1", "counts": "", "reason": "確認"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "変更する内容" in html and "機器の設定と変更履歴" in html and "ME002" in html
    assert ">確認</textarea>" in html
    response = client.post("/ledger/change", data={
        "target": "one", "ids": str(device_id), "from_device": "1", "counts": "0", "reason": "x" * 501})
    html = response.get_data(as_text=True)
    assert "500文字以内" in html and "機器の設定と変更履歴" in html
    assert '<option value="0" selected>' in html and "x" * 501 in html
    common = db.session.get(Classification, devices["c2"])
    html = client.post("/ledger/change", data={"target": "one", "ids": str(device_id), "from_device": "1",
                                               "classification_id": str(common.id), "reason": ""}).get_data(as_text=True)
    assert f'<option value="{common.id}" selected>{common.name}</option>' in html  # the choice is kept
    assert html.count("<option") < 20  # the others come from the type-ahead, not ~1,000 options
    assert eq(devices, "ME002").override_counts is None


def test_classification_type_ahead_offers_the_hospitals_own_and_the_master_only(client, devices):
    """/ledger/classifications (the list's type-ahead): a hospital's own and the common
    classifications, by name part (width ignored), 50 at a time; never another hospital's."""
    db.session.add_all([Classification(hospital_id=devices["a"], level=2, name=f"A病院の分類{n:02d}",
                                       normalized_name=f"a病院の分類{n:02d}") for n in range(55)])
    db.session.commit()
    login_as(client, HOSPITAL_A)
    first = client.get("/ledger/classifications?q=Ａ病院の分類").get_json()
    assert [r["text"] for r in first["results"]] == [f"A病院の分類{n:02d} *" for n in range(50)]
    assert first["pagination"]["more"] is True
    second = client.get("/ledger/classifications?q=a病院の分類&page=2").get_json()
    assert [r["text"] for r in second["results"]] == [f"A病院の分類{n:02d} *" for n in range(50, 55)]
    assert second["pagination"]["more"] is False
    common = db.session.get(Classification, devices["c1"])
    found = client.get("/ledger/classifications", query_string={"q": common.name}).get_json()["results"]
    assert {"id": common.id, "text": common.name} in found  # the master, without *
    assert offered(client, {"q": "B病院"}) == []
    response = client.get("/ledger/classifications", query_string={"q": "B病院", "hospital_id": devices["b"]})
    assert response.status_code == 404  # another hospital's, named: as every screen of it
    # the list shows the filter's choice by its name; another hospital's class is not named
    page = client.get(f"/ledger/?classification_id={devices['c1']}").get_data(as_text=True)
    assert f'<option value="{devices["c1"]}" selected>{common.name}</option>' in page
    page = client.get(f"/ledger/?classification_id={devices['own_b']}").get_data(as_text=True)
    assert "B病院の分類" not in page and "該当する機器はありません。" in page

    login_as(client, HOSPITAL_B)
    assert offered(client, {"q": "B病院"}) == ["B病院の分類 *"]
    login_as(client, ADMIN)
    assert offered(client, {"q": "B病院", "hospital_id": devices["b"]}) == ["B病院の分類 *"]


def offered(client, query: dict) -> list[str]:
    response = client.get("/ledger/classifications", query_string=query)
    assert response.status_code == 200
    return [r["text"] for r in response.get_json()["results"]]


def test_a_class_filter_includes_the_classes_under_it_and_options_name_their_parents(client, devices):
    """A hospital often names a sub-class like its parent (輸液ポンプ under 輸液ポンプ): the
    type-ahead tells them apart by the parent's name, and filtering by the parent finds the
    devices of both, as screen 6 counts them; the change "by filter" reaches the same devices."""
    a, ids = devices["a"], devices["ids"]
    parent = Classification(hospital_id=a, level=1, name="透析用ポンプ", normalized_name="透析用ポンプ")
    db.session.add(parent)
    db.session.flush()
    child = Classification(hospital_id=a, level=2, parent_id=parent.id, name="透析用ポンプ", normalized_name="透析用ポンプ")
    db.session.add(child)
    db.session.flush()
    grandchild = Classification(hospital_id=a, level=3, parent_id=child.id, name="夜間透析用", normalized_name="夜間透析用")
    db.session.add(grandchild)
    db.session.flush()
    db.session.query(Equipment).filter(Equipment.id == ids["ME001"]).update({"classification_id": parent.id})
    db.session.query(Equipment).filter(Equipment.id == ids["ME002"]).update({"classification_id": child.id})
    db.session.query(Equipment).filter(Equipment.id == ids["ME003"]).update({"classification_id": grandchild.id})
    db.session.commit()

    by_parent = ledger.LedgerFilter(classification_id=parent.id)
    assert numbers(listing.page(a, by_parent)) == ["ME002", "ME003", "ME001"]  # the list's order
    assert numbers(listing.page(a, ledger.LedgerFilter(classification_id=child.id))) == ["ME002", "ME003"]
    assert numbers(listing.page(a, ledger.LedgerFilter(classification_id=grandchild.id))) == ["ME003"]

    login_as(client, HOSPITAL_A)
    assert offered(client, {"q": "透析用ポンプ"}) == ["透析用ポンプ *", "透析用ポンプ › 透析用ポンプ *"]
    assert offered(client, {"q": "夜間透析"}) == ["透析用ポンプ › 透析用ポンプ › 夜間透析用 *"]
    page = client.get(f"/ledger/?classification_id={child.id}").get_data(as_text=True)
    assert f'<option value="{child.id}" selected>透析用ポンプ › 透析用ポンプ *</option>' in page
    assert "2 台" in page
    # hospital B filtering by A's class finds nothing and is not told its name
    login_as(client, HOSPITAL_B)
    page = client.get(f"/ledger/?classification_id={parent.id}").get_data(as_text=True)
    assert "該当する機器はありません。" in page and "透析用ポンプ" not in page

    user = user_by_email(HOSPITAL_A)
    changed = ledger.change(a, ledger.Target(filter=by_parent), counts=False, reason="点検中", user_id=user.id)
    db.session.commit()
    assert changed == 3 and [eq(devices, n).override_counts for n in ("ME001", "ME002", "ME003", "ME004")] == \
        [False, False, False, None]


def test_a_devices_page_shows_its_ledger_fields_and_a_change_there_returns_to_it(client, devices):
    device_id = devices["ids"]["ME001"]
    login_as(client, HOSPITAL_A)
    page = client.get(f"/ledger/{device_id}").get_data(as_text=True)
    for shown in ("S1", "2020-04-01", "2028-03-31", "ME001", "MEセンター2"):
        assert shown in page
    for action, data in (("change", {"counts": "0", "reason": "貸出停止"}), ("restore", {"reason": ""})):
        response = client.post(f"/ledger/{action}", data={"target": "one", "ids": str(device_id), "from_device": "1",
                                                          **data})
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/ledger/{device_id}")
    assert eq(devices, "ME001").override_counts is None
    assert [c.reason for c in changes_of(devices, "ME001")][:1] == ["貸出停止"]
    # from the list: back to the list
    response = client.post("/ledger/change", data={"target": "selected", "ids": str(device_id), "counts": "0",
                                                   "reason": "一覧から"})
    assert response.headers["Location"].split("?")[0].endswith("/ledger/")
