"""Screens 6, 7, 10 and their API: K007 T01–T15 server side, mapping, master maintenance,
and tenant isolation (hospital A never reaches hospital B's rows)."""
import pytest

from app.core.months import current_month
from app.extensions import db
from app.models import (
    AuditEvent,
    Classification,
    Equipment,
    LedgerListing,
    Organization,
    ReportSelection,
)
from app.services.classifications.mapping import ensure_hospital_classifications, usage_count

from .conftest import ADMIN, HOSPITAL_A, HOSPITAL_B, OPERATOR, login_as


def hospital(code):
    return db.session.query(Organization).filter_by(code=code).one()


def own(code, level):
    return (
        db.session.query(Classification)
        .filter_by(hospital_id=hospital(code).id, level=level, is_active=True)
        .order_by(Classification.name, Classification.id)
        .all()
    )


def common(name):
    return db.session.query(Classification).filter_by(hospital_id=None, name=name).one()


def add_devices(code, classification_id, n, start=0):
    h = hospital(code)
    for i in range(n):
        device = Equipment(hospital_id=h.id, device_number=f"T{classification_id}-{start + i}",
                           classification_id=classification_id)
        db.session.add(device)
        db.session.flush()
        db.session.add(LedgerListing(hospital_id=h.id, month=current_month(), equipment_id=device.id))
    db.session.commit()


# --- seeds and creation ------------------------------------------------------------------

def test_seeds_master_and_demo_hospitals(ctx):
    assert db.session.query(Classification).filter_by(hospital_id=None).count() == 198
    for code in ("H0001", "H0002", "H0003"):
        assert own(code, 1)
    assert own("H0003", 3)  # the three-level hospital
    level2 = own("H0001", 2)[0]
    assert level2.parent is not None and level2.parent.hospital_id == level2.hospital_id
    auto = db.session.query(Classification).filter_by(mapping_method="automatic").first()
    assert auto.smds_classification.hospital_id is None
    assert auto.normalized_name == auto.smds_classification.normalized_name


def test_ensure_creates_paths_and_maps_exact_matches_automatically(ctx):
    h = hospital("H0002")
    result = ensure_hospital_classifications(
        db.session, h.id,
        [("ﾓﾆﾀ類", "ｾﾝﾄﾗﾙﾓﾆﾀｰ", None), ("モニタ類", "透析用監視装置", ""), ("モニタ類", "", "")],
    )
    db.session.commit()
    assert set(result) == {("モニタ類", "セントラルモニター"), ("モニタ類", "透析用監視装置"), ("モニタ類",)}
    central = db.session.get(Classification, result[("モニタ類", "セントラルモニター")])
    assert central.level == 2 and central.parent.name == "モニタ類"
    assert central.smds_classification.name == "セントラルモニタ"
    assert central.mapping_method == "automatic"
    dialysis = db.session.get(Classification, result[("モニタ類", "透析用監視装置")])
    assert dialysis.smds_classification_id is None
    # Idempotent: the same paths give the same ids and create nothing.
    before = db.session.query(Classification).count()
    again = ensure_hospital_classifications(db.session, h.id, [("モニタ類", "セントラルモニター")])
    assert again[("モニタ類", "セントラルモニター")] == central.id
    assert db.session.query(Classification).count() == before


def test_other_under_a_parent_waits_for_a_person(ctx):
    """「その他」 at level 1 is SMDS's その他; under 輸液ポンプ it means other infusion pumps, so
    it is not mapped to その他 automatically (screen 7 suggests the parent's class first)."""
    h = hospital("H0002")
    result = ensure_hospital_classifications(db.session, h.id, [("その他",), ("輸液ポンプ", "その他")])
    db.session.commit()
    top, under_pump = (db.session.get(Classification, result[path]) for path in (("その他",), ("輸液ポンプ", "その他")))
    assert (top.smds_classification.name, top.mapping_method) == ("その他", "automatic")
    assert (under_pump.smds_classification_id, under_pump.mapping_method) == (None, None)


# --- screen 7: mapping ----------------------------------------------------------------------

def first_page(response) -> dict:
    """The first page screen 7 carries in its HTML (the script renders it)."""
    import json
    import re

    found = re.search(r'<script type="application/json" id="mapping-first"[^>]*>(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    return json.loads(found.group(1))


def test_mapping_screen_lists_unmapped_first_with_counts_and_suggestions(client, ctx):
    h = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, h.id, [("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(小児)",)])
    add_devices("H0002", ids[("シリンジポンプ(小児)",)], 4)
    login_as(client, HOSPITAL_B)
    res = client.get("/api/v1/classification/hospital/%d/mapping" % h.id)
    assert res.status_code == 200
    rows = res.json["result"]
    first_mapped = next(i for i, r in enumerate(rows) if r["smds_classification_id"])
    assert all(r["smds_classification_id"] is None for r in rows[:first_mapped])
    row = next(r for r in rows if r["id"] == ids[("シリンジポンプ(小児)",)])
    assert row["device_count"] == 4
    assert row["suggestions"][0]["name"] == "シリンジポンプ" and row["suggestions"][0]["score"] >= 90
    assert len(row["suggestions"]) == 3
    page = client.get("/classification-mapping/")
    assert page.status_code == 200
    first = first_page(page)
    assert first["rows"][0]["name"] == "シリンジポンプ(小児)"  # unmapped, most devices
    assert first["rows"][0]["suggestions"][0]["name"] == "シリンジポンプ"


def test_accept_one_manual_unmap_and_accept_all(client, ctx):
    h = hospital("H0002")
    ids = ensure_hospital_classifications(
        db.session, h.id, [("輸液ポンプ（大型）",), ("透析用監視装置",), ("除細動器（AED）",)])
    db.session.commit()
    pump, dialysis, aed = (ids[("輸液ポンプ(大型)",)], ids[("透析用監視装置",)], ids[("除細動器(AED)",)])
    login_as(client, HOSPITAL_B)
    target = common("患者監視装置").id
    res = client.post(f"/classification-mapping/{dialysis}/map",
                      data={"smds_classification_id": str(target), "method": "manual"})
    assert res.status_code == 302
    db.session.expire_all()
    cls = db.session.get(Classification, dialysis)
    assert cls.smds_classification_id == target and cls.mapping_method == "manual"
    assert cls.mapped_by_id is not None and cls.mapped_at is not None
    # Manual choice by typed name (the searchable field) works too.
    client.post(f"/classification-mapping/{aed}/map", data={"smds_classification_id": "除細動器"})
    db.session.expire_all()
    assert db.session.get(Classification, aed).smds_classification.name == "除細動器"
    client.post(f"/classification-mapping/{aed}/unmap")
    db.session.expire_all()
    assert db.session.get(Classification, aed).smds_classification_id is None
    res = client.post("/classification-mapping/accept-all", data={"hospital_id": str(h.id), "threshold": "90"})
    assert res.status_code == 302
    db.session.expire_all()
    assert db.session.get(Classification, pump).smds_classification.name == "輸液ポンプ"
    assert db.session.get(Classification, pump).mapping_method == "suggestion"
    assert db.session.get(Classification, aed).smds_classification.name == "除細動器"
    assert db.session.get(Classification, dialysis).smds_classification_id == target  # untouched
    assert db.session.query(AuditEvent).filter_by(action="classification.map").count() >= 3


def test_api_put_mapping(client, ctx):
    cls = own("H0001", 1)[0]
    login_as(client, HOSPITAL_A)
    target = common("輸液ポンプ").id
    res = client.put(f"/api/v1/classification/{cls.id}/mapping", json={"smds_classification_id": target})
    assert res.status_code == 200 and res.json["mapping_method"] == "manual"
    res = client.put(f"/api/v1/classification/{cls.id}/mapping", json={"smds_classification_id": cls.id})
    assert res.status_code == 400  # a hospital classification is not a mapping target


def test_operator_maps_any_hospital(client, ctx):
    h = hospital("H0003")
    login_as(client, OPERATOR)
    assert client.get(f"/classification-mapping/?hospital_id={h.id}").status_code == 200
    cls = own("H0003", 1)[0]
    res = client.put(f"/api/v1/classification/{cls.id}/mapping", json={"smds_classification_id": None})
    assert res.status_code == 200


# --- tenant isolation -------------------------------------------------------------------------

def test_hospital_a_cannot_reach_hospital_b(client, ctx):
    b = hospital("H0002")
    b_cls = own("H0002", 1)[0]
    before = (b_cls.smds_classification_id, b_cls.mapping_method)
    target = common("輸液ポンプ").id
    login_as(client, HOSPITAL_A)
    assert client.get(f"/classification-mapping/?hospital_id={b.id}").status_code == 404
    assert client.post(f"/classification-mapping/{b_cls.id}/map",
                       data={"smds_classification_id": str(target)}).status_code == 404
    assert client.post(f"/classification-mapping/{b_cls.id}/unmap").status_code == 404
    assert client.post("/classification-mapping/accept-all", data={"hospital_id": str(b.id)}).status_code == 404
    assert client.get(f"/report-selection/?hospital_id={b.id}").status_code == 404
    assert client.get(f"/report-selection/data?hospital_id={b.id}").status_code == 404
    assert client.post(f"/report-selection/save?hospital_id={b.id}",
                       json={"classification_ids": [b_cls.id]}).status_code == 404
    api = "/api/v1/classification"
    assert client.get(f"{api}/hospital/{b.id}/mapping").status_code == 404
    assert client.get(f"{api}/hospital/{b.id}/selection").status_code == 404
    assert client.put(f"{api}/hospital/{b.id}/selection", json={"classification_ids": []}).status_code == 404
    assert client.put(f"{api}/{b_cls.id}/mapping", json={"smds_classification_id": target}).status_code == 404
    # Hospital B's classification id inside A's own selection is refused too.
    a = hospital("H0001")
    res = client.put(f"{api}/hospital/{a.id}/selection", json={"classification_ids": [b_cls.id]})
    assert res.status_code == 400
    db.session.expire_all()
    b_cls = db.session.get(Classification, b_cls.id)
    assert (b_cls.smds_classification_id, b_cls.mapping_method) == before
    assert db.session.query(ReportSelection).count() == 0


def test_hospital_user_cannot_use_operator_screens(client, ctx):
    login_as(client, HOSPITAL_A)
    some = common("輸液ポンプ").id
    for method, url in [("get", "/smds-classifications/"), ("post", f"/smds-classifications/{some}/deactivate"),
                        ("get", "/makers/"), ("post", "/makers/merge")]:
        res = getattr(client, method)(url)
        assert res.status_code in (302, 403), url
    db.session.expire_all()
    assert db.session.get(Classification, some).is_active


# --- screen 10: the SMDS master ---------------------------------------------------------------

def test_master_add_rename_move_deactivate(client, ctx):
    login_as(client, OPERATOR)
    page = client.get("/smds-classifications/")
    assert page.status_code == 200 and "<details" in page.get_data(as_text=True)
    client.post("/smds-classifications/add", data={"name": "ポンプ類"})
    group = db.session.query(Classification).filter_by(hospital_id=None, name="ポンプ類").one()
    assert group.level == 1
    client.post("/smds-classifications/add", data={"name": "小型ポンプ", "parent_id": str(group.id)})
    child = db.session.query(Classification).filter_by(hospital_id=None, name="小型ポンプ").one()
    assert child.level == 2 and child.parent_id == group.id
    pump = common("輸液ポンプ")
    client.post(f"/smds-classifications/{pump.id}/move", data={"parent_id": str(group.id)})
    db.session.expire_all()
    assert db.session.get(Classification, pump.id).level == 2
    client.post(f"/smds-classifications/{child.id}/rename", data={"name": "携帯型ポンプ"})
    db.session.expire_all()
    assert db.session.get(Classification, child.id).name == "携帯型ポンプ"
    # Duplicate names under one parent are refused.
    res = client.post("/smds-classifications/add", data={"name": "携帯型ﾎﾟﾝﾌﾟ", "parent_id": str(group.id)},
                      follow_redirects=True)
    assert "既にあります" in res.get_data(as_text=True)
    client.post(f"/smds-classifications/{child.id}/deactivate")
    db.session.expire_all()
    assert db.session.get(Classification, child.id).is_active is False
    actions = {e.action for e in db.session.query(AuditEvent)}
    assert {"smds_classification.add", "smds_classification.move", "smds_classification.rename",
            "smds_classification.deactivate"} <= actions


def test_master_page_lists_the_move_targets_once(client, ctx):
    """Each of the ~200 classes carried its own copy of the ~200 move targets: 2.5 MB and
    3-4 s for the page. The targets are listed once; a class's own choice starts with its
    current parent (and the top level) and the page's script fills in the rest."""
    login_as(client, OPERATOR)
    classes = db.session.query(Classification).filter_by(hospital_id=None).count()
    assert classes > 100
    html = client.get("/smds-classifications/").get_data(as_text=True)
    assert html.count("<option") < 4 * classes
    assert len(html) < 600_000
    client.post("/smds-classifications/add", data={"name": "小型ポンプ", "parent_id": str(common("輸液ポンプ").id)})
    html = client.get("/smds-classifications/").get_data(as_text=True)
    child = common("小型ポンプ")
    row = html.split(f'data-id="{child.id}"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{child.parent.id}" selected>{child.parent.name}（{child.parent.level}）' in row


def test_deactivate_in_use_is_refused_with_count(client, ctx):
    used = db.session.query(Classification).filter(Classification.mapping_method == "automatic").first()
    target = used.smds_classification
    mapped = db.session.query(Classification).filter_by(smds_classification_id=target.id).count()
    add_devices(hospital("H0001").code, target.id, 2)
    usage = usage_count(db.session, target.id)
    assert usage == {"mappings": mapped, "devices": 2}
    login_as(client, ADMIN)
    res = client.post(f"/smds-classifications/{target.id}/deactivate", follow_redirects=True)
    text = res.get_data(as_text=True)
    assert f"医療機関の機器分類{mapped}件・機器2台で使われているため無効にできません" in text
    db.session.expire_all()
    assert db.session.get(Classification, target.id).is_active is True


# --- screen 6: K007 T01–T15 (server side) -------------------------------------------------------

def state(client, code):
    res = client.get(f"/report-selection/data?hospital_id={hospital(code).id}")
    assert res.status_code == 200
    return res.json


def save(client, code, ids):
    return client.post(f"/report-selection/save?hospital_id={hospital(code).id}",
                       json={"classification_ids": ids})


def test_t01_initial_state_without_saved_rows(client, ctx):
    login_as(client, HOSPITAL_A)
    page = client.get("/report-selection/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "js/report_selection.js" in html
    # until its data arrives the page says it is loading, not an empty form
    assert '<div id="sel-message" class="alert alert-info" role="status" style="margin-top:8px">読み込み中…</div>' in html
    s = state(client, "H0001")
    assert s["is_auto"] is True and s["selected"] == [] and s["level"] == 1
    assert s["rank_count"] == 5
    assert s["levels"] == [1, 2]  # only levels that exist for the hospital
    assert {c["id"] for c in s["classifications"]["1"]} == {c.id for c in own("H0001", 1)}


def test_t02_initial_state_with_saved_rows_uses_their_level(client, ctx):
    level2 = own("H0001", 2)[:3]
    add_devices("H0001", level2[0].id, 3)
    login_as(client, HOSPITAL_A)
    assert save(client, "H0001", [c.id for c in level2]).status_code == 200
    s = state(client, "H0001")
    assert s["is_auto"] is False and s["level"] == 2
    assert [r["id"] for r in s["selected"]] == [c.id for c in level2]
    assert [r["rank"] for r in s["selected"]] == [1, 2, 3]
    assert s["selected"][0]["count"] == 3
    # Device counts roll up to the parent (level 1).
    parent = next(c for c in s["classifications"]["1"] if c["id"] == level2[0].parent_id)
    assert parent["count"] >= 3


def test_t03_each_level_lists_only_that_level(client, ctx):
    login_as(client, ADMIN)  # Admin reaches every hospital; H0003 has three levels
    s = state(client, "H0003")
    assert s["levels"] == [1, 2, 3]
    level3 = {c.id for c in own("H0003", 3)}
    assert {c["id"] for c in s["classifications"]["3"]} == level3


def test_t11_t12_save_three_and_five_rows_replaces_all(client, ctx):
    level1 = own("H0001", 1)
    login_as(client, HOSPITAL_A)
    res = save(client, "H0001", [c.id for c in level1[:3]])
    assert res.status_code == 200 and res.json["message"] == "登録が完了しました"
    res = save(client, "H0001", [c.id for c in level1[3:8]])
    assert res.status_code == 200
    rows = db.session.query(ReportSelection).order_by(ReportSelection.rank).all()
    assert [(r.rank, r.classification_id) for r in rows] == list(enumerate([c.id for c in level1[3:8]], 1))
    assert db.session.query(AuditEvent).filter_by(action="report_selection.save").count() == 2


def test_t13_save_zero_rows_is_automatic(client, ctx):
    level1 = own("H0001", 1)
    login_as(client, HOSPITAL_A)
    save(client, "H0001", [c.id for c in level1[:2]])
    res = save(client, "H0001", [])
    assert res.status_code == 200
    assert db.session.query(ReportSelection).count() == 0
    assert state(client, "H0001")["is_auto"] is True


def test_t15_reinitialised_after_save(client, ctx):
    level1 = own("H0001", 1)
    login_as(client, HOSPITAL_A)
    res = save(client, "H0001", [level1[1].id, level1[0].id])
    body = res.json["state"]
    assert [r["id"] for r in body["selected"]] == [level1[1].id, level1[0].id]
    assert body["is_auto"] is False


@pytest.mark.parametrize("case, message", [
    ("too_many", "最大選択数（5）を超えています。"),
    ("duplicate", "重複"),
    ("mixed_levels", "一つの階層"),
    ("not_a_list", "配列"),
    ("common", "この医療機関の機器分類ではありません"),
])
def test_server_rules_refuse_and_keep_previous_rows(client, ctx, case, message):
    level1, level2 = own("H0001", 1), own("H0001", 2)
    ids = {
        "too_many": [c.id for c in level1[:6]],
        "duplicate": [level1[0].id, level1[0].id],
        "mixed_levels": [level1[0].id, level2[0].id],
        "not_a_list": "1,2",
        "common": [common("輸液ポンプ").id],
    }[case]
    login_as(client, HOSPITAL_A)
    save(client, "H0001", [level1[0].id])
    res = save(client, "H0001", ids)
    assert res.status_code == 400
    assert message in res.json["message"]
    db.session.expire_all()
    assert [r.classification_id for r in db.session.query(ReportSelection)] == [level1[0].id]


def test_api_selection_round_trip_and_rank_count_from_organization(client, ctx):
    h = hospital("H0003")
    login_as(client, OPERATOR)
    ids = [c.id for c in own("H0003", 3)[:10]]
    api = f"/api/v1/classification/hospital/{h.id}/selection"
    assert client.put(api, json={"classification_ids": ids}).status_code == 200  # rank count 10
    res = client.get(api)
    assert res.status_code == 200 and res.json["rank_count"] == 10 and res.json["level"] == 3
    assert [r["id"] for r in res.json["selected"]] == ids
