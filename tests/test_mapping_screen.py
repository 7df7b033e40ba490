"""Screen 7 at real scale (issue 14): pages of 50, unmapped first, search (width and case
folded), filters, the bulk accept on a filter (preview, then apply exactly what was
previewed) — and hospital A never reaching hospital B's classifications through them."""
from app.extensions import db
from app.models import AuditEvent, Classification
from app.services.classifications.mapping import ensure_hospital_classifications

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as
from .test_classifications import add_devices, first_page, hospital

API = "/api/v1/classification"


def test_first_page_is_50_rows_unmapped_first_with_suggestions(client, ctx):
    a = hospital("H0001")
    total = db.session.query(Classification).filter_by(hospital_id=a.id, is_active=True).count()
    unmapped = db.session.query(Classification).filter_by(
        hospital_id=a.id, is_active=True, smds_classification_id=None).count()
    assert total > 800 and unmapped > 50  # the demo hospital at real scale
    login_as(client, HOSPITAL_A)
    res = client.get(f"{API}/hospital/{a.id}/mapping/page")
    assert res.status_code == 200
    data = res.json
    assert len(data["rows"]) == 50 and data["page"] == 1
    assert data["total"] == total and data["unmapped"] == unmapped and data["matched"] == total
    assert data["pages"] == -(-total // 50)
    assert all(r["smds_classification_id"] is None for r in data["rows"])
    assert all(len(r["suggestions"]) <= 3 for r in data["rows"])
    # A name that says nothing to match on (a model number, 「▲」) is offered nothing.
    assert sum(1 for r in data["rows"] if r["suggestions"]) >= 40
    # The last page ends with mapped rows; a page past the end gives the last one.
    last = client.get(f"{API}/hospital/{a.id}/mapping/page?page=999").json
    assert last["page"] == data["pages"] and last["rows"][-1]["smds_classification_id"] is not None
    # The screen carries the same first page in its HTML.
    assert [r["id"] for r in first_page(client.get("/classification-mapping/"))["rows"]] == \
        [r["id"] for r in data["rows"]]


def test_search_folds_width_and_case_and_filters_combine(client, ctx):
    b = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, b.id, [
        ("ＴＥ－２８１Ａ輸液ポンプ",), ("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(小児)",), ("生体情報モニタ", "ICUモニタ")])
    db.session.commit()
    add_devices("H0002", ids[("シリンジポンプ(小児)",)], 12)
    login_as(client, HOSPITAL_B)

    def names(**params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return [r["name"] for r in client.get(f"{API}/hospital/{b.id}/mapping/page?{query}").json["rows"]]

    assert names(q="te-281a") == ["TE-281A輸液ポンプ"]
    assert names(q="ＴＥ－２８１") == ["TE-281A輸液ポンプ"]
    assert "シリンジポンプ(小児)" in names(q="ｼﾘﾝｼﾞ")
    assert "ICUモニタ" in names(q="ｉｃｕ")
    assert names(q="icu", level=1) == []
    assert names(q="icu", level=2) == ["ICUモニタ"]
    assert names(q="ｼﾘﾝｼﾞ", devices=10) == ["シリンジポンプ(小児)"]
    assert names(q="ｼﾘﾝｼﾞ", devices=0) == [n for n in names(q="ｼﾘﾝｼﾞ") if n != "シリンジポンプ(小児)"]
    mapped = names(status="mapped")
    assert mapped and all(
        r["smds_classification_id"] for r in client.get(f"{API}/hospital/{b.id}/mapping/page?status=mapped").json["rows"])
    assert "シリンジポンプ(小児)" in names(status="unmapped", q="ポンプ")


def test_bulk_accept_on_a_filter_previews_then_applies_only_the_preview(client, ctx):
    b = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, b.id, [
        ("ポンプ(輸液)",), ("ポンプ（シリンジ）",), ("輸液ポンプ（大型）",), ("透析用監視装置",), ("除細動器（AED）",)])
    db.session.commit()
    pump_iv, pump_syringe, pump_big = ids[("ポンプ(輸液)",)], ids[("ポンプ(シリンジ)",)], ids[("輸液ポンプ(大型)",)]
    aed = ids[("除細動器(AED)",)]
    add_devices("H0002", pump_iv, 30)
    login_as(client, HOSPITAL_B)
    url = f"{API}/hospital/{b.id}/mapping/bulk"
    res = client.post(url, json={"filter": {"q": "ポンプ"}, "threshold": 90})
    assert res.status_code == 200 and res.json["applied"] is False
    preview = {c["id"]: c for c in res.json["changes"]}
    # The bracketed qualifier names the device: 輸液ポンプ, never the generic ポンプ.
    assert preview[pump_iv]["smds_classification_name"] == "輸液ポンプ"
    assert preview[pump_syringe]["smds_classification_name"] == "シリンジポンプ"
    assert preview[pump_big]["smds_classification_name"] == "輸液ポンプ"
    assert res.json["changes"][0]["id"] == pump_iv  # most devices first
    assert aed not in preview  # outside the filter
    db.session.expire_all()
    assert db.session.get(Classification, pump_iv).smds_classification_id is None  # a preview changes nothing
    # Apply what was previewed, less one row the user did not want; plus a forged pair.
    chosen = [{"id": c["id"], "smds_classification_id": c["smds_classification_id"]}
              for c in res.json["changes"] if c["id"] != pump_big]
    chosen.append({"id": aed, "smds_classification_id": preview[pump_iv]["smds_classification_id"]})
    res = client.post(url, json={"filter": {"q": "ポンプ"}, "threshold": 90, "apply": True, "changes": chosen})
    assert res.status_code == 200 and res.json["applied"] is True
    assert {c["id"] for c in res.json["changes"]} == {c["id"] for c in chosen} - {aed}
    db.session.expire_all()
    iv = db.session.get(Classification, pump_iv)
    assert iv.smds_classification.name == "輸液ポンプ" and iv.mapping_method == "suggestion"
    assert db.session.get(Classification, pump_syringe).smds_classification.name == "シリンジポンプ"
    assert db.session.get(Classification, pump_big).smds_classification_id is None
    assert db.session.get(Classification, aed).smds_classification_id is None
    assert db.session.query(AuditEvent).filter_by(action="classification.map",
                                                  object_id=str(pump_iv)).count() == 1
    # Applying the same preview again changes nothing more.
    again = client.post(url, json={"filter": {"q": "ポンプ"}, "threshold": 90, "apply": True, "changes": chosen})
    assert again.json["count"] == 0
    assert client.post(url, json={"apply": True}).status_code == 400
    assert client.post(url, data="x", content_type="text/plain").status_code == 400


def test_hospital_a_cannot_see_or_map_b_through_screen_7(client, ctx):
    a, b = hospital("H0001"), hospital("H0002")
    b_ids = ensure_hospital_classifications(db.session, b.id, [("ポンプ(輸液)",), ("B病院だけの分類",)])
    db.session.commit()
    b_pump = b_ids[("ポンプ(輸液)",)]
    login_as(client, HOSPITAL_A)
    assert client.get(f"/classification-mapping/?hospital_id={b.id}").status_code == 404
    assert client.get(f"{API}/hospital/{b.id}/mapping/page").status_code == 404
    assert client.get(f"{API}/hospital/{b.id}/mapping/page?q=B病院").status_code == 404
    assert client.post(f"{API}/hospital/{b.id}/mapping/bulk", json={"threshold": 90}).status_code == 404
    assert client.post(f"{API}/hospital/{b.id}/mapping/bulk",
                       json={"threshold": 90, "apply": True, "changes": []}).status_code == 404
    assert client.put(f"{API}/{b_pump}/mapping", json={"smds_classification_id": 1}).status_code == 404
    # A's own screen and API never list B's rows, even searched by name.
    assert client.get(f"{API}/hospital/{a.id}/mapping/page?q=B病院").json["rows"] == []
    assert first_page(client.get("/classification-mapping/?q=B病院"))["rows"] == []
    # B's id smuggled into A's bulk apply is ignored.
    target = db.session.query(Classification).filter_by(hospital_id=None, name="輸液ポンプ").one().id
    res = client.post(f"{API}/hospital/{a.id}/mapping/bulk", json={
        "threshold": 50, "apply": True, "changes": [{"id": b_pump, "smds_classification_id": target}]})
    assert res.status_code == 200 and res.json["count"] == 0
    db.session.expire_all()
    assert db.session.get(Classification, b_pump).smds_classification_id is None


def test_a_child_is_suggested_with_its_parent_as_context_but_never_bulk_accepted(client, ctx):
    b = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, b.id, [
        ("シリンジポンプ", "TE-171"), ("輸液ポンプ", "付属品")])
    db.session.commit()
    model, other = ids[("シリンジポンプ", "TE-171")], ids[("輸液ポンプ", "付属品")]
    login_as(client, HOSPITAL_B)
    rows = {r["id"]: r for r in client.get(f"{API}/hospital/{b.id}/mapping/page?level=2&status=unmapped").json["rows"]}
    assert rows[model]["suggestions"][0]["name"] == "シリンジポンプ"
    assert rows[other]["suggestions"][0]["name"] == "輸液ポンプ"  # not その他
    assert all(rows[i]["suggestions"][0]["score"] < 90 for i in (model, other))
    preview = client.post(f"{API}/hospital/{b.id}/mapping/bulk", json={"filter": {"level": 2}, "threshold": 90}).json
    assert not {model, other} & {c["id"] for c in preview["changes"]}


def test_a_childs_suggestions_follow_its_parents_mapping_on_the_next_page_load(client, ctx):
    b = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, b.id, [
        ("ポンプ類", "TE-171"), ("ポンプ類", "その他"), ("ポンプ類", "予備機", "ZZ-9")])
    db.session.commit()
    model = ids[("ポンプ類", "TE-171")]
    parent = db.session.get(Classification, model).parent_id
    other, spare_model = ids[("ポンプ類", "その他")], ids[("ポンプ類", "予備機", "ZZ-9")]
    children = (model, other, spare_model)
    infusion = db.session.query(Classification).filter_by(hospital_id=None, name="輸液ポンプ").one().id
    login_as(client, HOSPITAL_B)

    def firsts():
        """Each child's first suggestion on the API page, the screen's HTML, the whole-hospital
        rows and the bulk preview at 50 (every path that ranks suggestions)."""
        page = {r["id"]: r["suggestions"][0] for q in ("TE-171", "その他", "ZZ-9") for r in
                client.get(f"{API}/hospital/{b.id}/mapping/page?q={q}").json["rows"]}
        html = {r["id"]: r["suggestions"][0] for r in
                first_page(client.get("/classification-mapping/?level=2&status=unmapped&q=TE-171"))["rows"]}
        rows = {r["id"]: r["suggestions"][0] for r in client.get(f"{API}/hospital/{b.id}/mapping").json["result"]
                if r["id"] in children}
        preview = {c["id"]: c for c in client.post(f"{API}/hospital/{b.id}/mapping/bulk",
                                                   json={"filter": {"q": ""}, "threshold": 50}).json["changes"]}
        assert html[model] == page[model]
        assert all(rows[i] == page[i] for i in children)
        assert all(preview[i]["smds_classification_id"] == page[i]["id"] for i in children)
        return {i: (page[i]["id"], page[i]["score"]) for i in children}

    before = firsts()
    assert all(cid != infusion for cid, _ in before.values())  # ポンプ類 by name: the generic ポンプ
    # A person maps the parent: on the next load its class leads every child, below 90.
    res = client.put(f"{API}/{parent}/mapping", json={"smds_classification_id": infusion})
    assert res.status_code == 200 and res.json["mapping_method"] == "manual"
    mapped = firsts()
    assert all(cid == infusion and score < 90 for cid, score in mapped.values())
    assert not set(children) & {c["id"] for c in client.post(
        f"{API}/hospital/{b.id}/mapping/bulk", json={"filter": {"q": ""}, "threshold": 90}).json["changes"]}
    # Unmapped again: the suggestions are those from the parent's name once more.
    assert client.put(f"{API}/{parent}/mapping", json={"smds_classification_id": None}).status_code == 200
    assert firsts() == before


def test_a_name_that_says_nothing_is_offered_no_chance_suggestions(client, ctx):
    """「▲」 or a bare model number share a character or two with master names by chance
    (scores 0-15): screen 7 offers no suggestion for them rather than noise, and a name that
    says something keeps its suggestions."""
    b = hospital("H0002")
    ids = ensure_hospital_classifications(db.session, b.id, [("▲",), ("TE-171",), ("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ(小児)",)])
    db.session.commit()
    login_as(client, HOSPITAL_B)
    rows = {r["id"]: r for r in client.get(f"{API}/hospital/{b.id}/mapping/page?per_page=100").json["rows"]}
    assert rows[ids[("▲",)]]["suggestions"] == [] and rows[ids[("TE-171",)]]["suggestions"] == []
    syringe = [s["name"] for s in rows[ids[("シリンジポンプ(小児)",)]]["suggestions"]]
    assert syringe[0] == "シリンジポンプ"
    assert all(s["score"] >= 25 for r in rows.values() for s in r["suggestions"])


def test_placeholders_purpose_children_and_brands_on_screen_7(client, ctx):
    """A placeholder row (該当なし, 不明, 「-」) shows no candidate (候補なし); 「内視鏡用」 under
    吸引器 is offered a suction unit first, 「ACUSON Freestyle」 an ultrasound; none of them
    goes to the bulk accept at 90."""
    b = hospital("H0002")
    names = [("該当なし",), ("不明",), ("-",), ("吸引器", "内視鏡用"), ("ACUSON Freestyle",)]
    ids = ensure_hospital_classifications(db.session, b.id, names)
    db.session.commit()
    login_as(client, HOSPITAL_B)
    rows = {r["id"]: r for r in client.get(f"{API}/hospital/{b.id}/mapping/page?per_page=100").json["rows"]}
    assert all(rows[ids[n]]["suggestions"] == [] for n in names[:3])
    assert rows[ids[("吸引器", "内視鏡用")]]["suggestions"][0]["name"] in ("医療用吸引器", "吸引装置")
    assert rows[ids[("ACUSON Freestyle",)]]["suggestions"][0]["name"] == "超音波画像診断装置"
    preview = client.post(f"{API}/hospital/{b.id}/mapping/bulk", json={"filter": {"q": ""}, "threshold": 90}).json
    assert not set(ids.values()) & {c["id"] for c in preview["changes"]}


def test_the_count_of_the_filter_is_bracketed_in_the_readers_language(client, ctx):
    """English readers saw 「（This filter: 87 classifications）」 in full-width brackets."""
    import re

    def note():
        page = client.get("/classification-mapping/").get_data(as_text=True)
        found = re.search(r'id="mapping-matched-note">(.*?)<span id="mapping-matched">\d+</span>(.*?)</span>', page)
        return found.group(1), found.group(2)

    login_as(client, HOSPITAL_A)
    assert note() == ("（この条件: ", "件）")
    client.get("/lang/en")
    assert note() == ("(This filter: ", " classifications)")
