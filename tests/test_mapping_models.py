"""Screen 7 with model evidence in the database: a classification whose devices' model other
hospitals have mapped gets that class first on every path (page, its JSON API, the
whole-hospital rows, the bulk accept); one other hospital's word is never auto-accepted; and a
hospital sees nothing of the others but common class ids and counts."""
from app.extensions import db
from app.models import Classification, Equipment
from app.services.classifications import screen
from app.services.classifications.evidence import model_evidence
from app.services.classifications.makers import resolve_makers
from app.services.classifications.mapping import MANUAL, ensure_hospital_classifications, mapping_rows, set_mapping

from .conftest import HOSPITAL_A, login_as
from .test_classifications import common, first_page, hospital

API = "/api/v1/classification"
NIHON_KOHDEN = "日本光電工業株式会社"


def add_models(code, classification_id, model, maker, n, prefix):
    """``n`` devices of ``model`` by ``maker`` (a spelling; None: blank) in the classification."""
    h = hospital(code)
    maker_id = resolve_makers(db.session, [maker]).get(maker) if maker else None
    for i in range(n):
        db.session.add(Equipment(hospital_id=h.id, device_number=f"{prefix}-{i}", classification_id=classification_id,
                                 model_number=model, maker_name=maker, maker_id=maker_id))
    db.session.commit()


def mapped_class(code, name, target, prefix, model="BSM-2401", maker=NIHON_KOHDEN, n=3):
    """A classification of hospital ``code`` mapped by a person to ``target``, with devices."""
    h = hospital(code)
    (cid,) = ensure_hospital_classifications(db.session, h.id, [(name,)]).values()
    set_mapping(db.session, db.session.get(Classification, cid), common(target).id, MANUAL)
    db.session.commit()
    add_models(code, cid, model, maker, n, prefix)
    return cid


def sonota_of_a():
    """Hospital A's 「その他」 under 「ME機器」 with 4 bedside monitors, spelled its own way."""
    a = hospital("H0001")
    cid = ensure_hospital_classifications(db.session, a.id, [("ME機器", "その他")])[("ME機器", "その他")]
    db.session.commit()
    add_models("H0001", cid, "ＢＳＭ－２４０１", "日本光電工業(株)", 4, "A-BSM")
    return cid


def first_suggestions(client, a_id, cid):
    """The first suggestion of ``cid`` on the API page, the screen's HTML, the whole-hospital
    rows and whether the bulk preview at 90 takes it."""
    page = next(r for r in client.get(f"{API}/hospital/{a_id}/mapping/page?q=その他&level=2").json["rows"]
                if r["id"] == cid)["suggestions"][0]
    html = next(r for r in first_page(client.get("/classification-mapping/?q=その他&level=2"))["rows"]
                if r["id"] == cid)["suggestions"][0]
    rows = next(r for r in client.get(f"{API}/hospital/{a_id}/mapping").json["result"] if r["id"] == cid)
    preview = client.post(f"{API}/hospital/{a_id}/mapping/bulk", json={"filter": {"level": 2}, "threshold": 90}).json
    assert page == html == rows["suggestions"][0]
    return page, cid in {c["id"] for c in preview["changes"]}


def test_one_other_hospital_puts_its_class_first_but_never_auto_accepts(client, ctx):
    a = hospital("H0001")
    cid = sonota_of_a()
    login_as(client, HOSPITAL_A)
    before, bulk = first_suggestions(client, a.id, cid)
    assert before["name"] == "その他"  # the master's その他, by name alone
    mapped_class("H0002", "モニタ類（病棟）", "生体情報モニター", "B-BSM")
    after, bulk = first_suggestions(client, a.id, cid)
    assert after["name"] == "生体情報モニター" and after["score"] < 90 and not bulk
    # The screen says why: one other hospital, behind all 4 of its devices.
    assert after["models"] == {"hospitals": 1, "devices": 4}
    client.get("/lang/en")
    assert "same model: {hospitals} other hospital(s)" in client.get("/classification-mapping/").get_data(as_text=True)


def test_two_other_hospitals_agreeing_auto_accept_on_the_bulk_apply(client, ctx):
    a = hospital("H0001")
    cid = sonota_of_a()
    mapped_class("H0002", "モニタ類（病棟）", "生体情報モニター", "B-BSM")
    # Hospital C's devices have no maker: BSM-2401 is distinctive enough to count alone.
    mapped_class("H0003", "ベッドサイド", "生体情報モニター", "C-BSM", model="bsm2401", maker=None)
    evidence = model_evidence(db.session, a.id, [cid])[cid]
    assert (evidence.devices, evidence.with_evidence, evidence.hospitals) == (4, 4, 2)
    assert evidence.votes == ((common("生体情報モニター").id, 2, 4),)
    login_as(client, HOSPITAL_A)
    best, bulk = first_suggestions(client, a.id, cid)
    assert best["name"] == "生体情報モニター" and best["score"] >= 90 and bulk
    res = client.post(f"{API}/hospital/{a.id}/mapping/bulk", json={
        "filter": {"level": 2}, "threshold": 90, "apply": True,
        "changes": [{"id": cid, "smds_classification_id": best["id"]}]})
    assert res.status_code == 200 and [c["id"] for c in res.json["changes"]] == [cid]
    db.session.expire_all()
    stored = db.session.get(Classification, cid)
    assert stored.smds_classification.name == "生体情報モニター" and stored.mapping_method == "suggestion"


def test_another_maker_or_a_short_number_without_maker_is_not_the_same_model(ctx):
    a = hospital("H0001")
    cid = sonota_of_a()
    # The same number by another maker, and by no maker at all a number too short to tell.
    mapped_class("H0002", "モニタ類（病棟）", "生体情報モニター", "B-BSM", maker="テルモ株式会社")
    other = ensure_hospital_classifications(db.session, a.id, [("ME機器", "予備")])[("ME機器", "予備")]
    db.session.commit()
    add_models("H0001", other, "3085", None, 2, "A-3085")
    mapped_class("H0003", "ポンプ", "輸液ポンプ", "C-3085", model="3085", maker="テルモ株式会社")
    assert model_evidence(db.session, a.id, [cid, other]) == {}
    # Unmapped elsewhere says nothing either; mapped it does.
    mapped_class("H0003", "モニター", "生体情報モニター", "C-BSM")
    assert set(model_evidence(db.session, a.id)) == {cid}


def test_the_page_shows_nothing_of_other_hospitals_but_common_classes_and_scores(client, ctx):
    a, b = hospital("H0001"), hospital("H0002")
    cid = sonota_of_a()
    secret_class = mapped_class("H0002", "B病院ひみつ分類", "生体情報モニター", "BSECRET")
    mapped_class("H0003", "C病院ひみつ分類", "生体情報モニター", "CSECRET")
    login_as(client, HOSPITAL_A)
    responses = {
        "page": client.get(f"{API}/hospital/{a.id}/mapping/page?q=その他"),
        "rows": client.get(f"{API}/hospital/{a.id}/mapping"),
        "html": client.get("/classification-mapping/?q=その他"),
        "bulk": client.post(f"{API}/hospital/{a.id}/mapping/bulk", json={"threshold": 50}),
        "csv": client.get("/classification-mapping/export.csv"),
    }
    for name, res in responses.items():
        assert res.status_code == 200, name
        text = res.get_data(as_text=True)
        for secret in ("ひみつ", "BSECRET", "CSECRET", b.name, hospital("H0003").name, b.code):
            assert secret not in text, (name, secret)
    commons = {c.id for c in db.session.query(Classification).filter_by(hospital_id=None)}
    page = responses["page"].json
    row = next(r for r in page["rows"] if r["id"] == cid)
    assert row["suggestions"][0]["name"] == "生体情報モニター"
    for r in page["rows"] + responses["rows"].json["result"]:
        assert db.session.get(Classification, r["id"]).hospital_id == a.id
        for s in r["suggestions"]:
            assert set(s) - {"models"} == {"id", "name", "score"} and s["id"] in commons
            assert s.get("models", {"hospitals": 0, "devices": 0}).keys() == {"hospitals", "devices"}
    assert row["suggestions"][0]["models"] == {"hospitals": 2, "devices": 4}
    assert secret_class not in {r["id"] for r in responses["rows"].json["result"]}


def test_the_service_ranks_the_page_rows_with_evidence_of_those_rows_only(ctx):
    a = hospital("H0001")
    cid = sonota_of_a()
    mapped_class("H0002", "モニタ類（病棟）", "生体情報モニター", "B-BSM")
    mapped_class("H0003", "ベッドサイド", "生体情報モニター", "C-BSM")
    page = screen.mapping_page(db.session, a.id, screen.MappingFilter(q="その他", level=2))
    row = next(r for r in page["rows"] if r["id"] == cid)
    assert row["suggestions"][0]["name"] == "生体情報モニター" and row["suggestions"][0]["score"] >= 90
    preview = screen.bulk_preview(db.session, a.id, screen.MappingFilter(level=2), 90)
    assert cid in {c["id"] for c in preview}
    shown = {r["id"]: r for r in mapping_rows(db.session, a.id)}
    assert shown[cid]["suggestions"][0] == row["suggestions"][0]


def test_uploads_store_the_model_key_and_a_reupload_updates_it(ctx):
    from app.core.normalize import model_key
    from app.services.ingest.pipeline import run_ingest

    from .ingest_helpers import LEDGER_HEADER, csv_bytes, ledger_rows, make_upload

    def stored(code="H0001"):
        return {e.device_number: (e.model_number, e.model_key)
                for e in db.session.query(Equipment).filter_by(hospital_id=hospital(code).id)}

    assert run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(6)]), 1)).status == "succeeded"
    first = stored()
    assert first["ME00001"] == ("TE-1", "te1")
    assert all(key == model_key(number) for number, key in first.values())
    header = ["機器番号", "型番"]
    rows = [[f"ME{n:05d}", "ＢＳＭ－２４０１"] for n in range(1, 7)]
    assert run_ingest(make_upload(csv_bytes([header, *rows]), 1)).status == "succeeded"
    db.session.expire_all()
    assert set(stored().values()) == {("BSM-2401", "bsm2401")}
    # A ledger without the model column leaves the models (and their keys) alone.
    rows = [[f"ME{n:05d}", "新製品"] for n in range(1, 7)]
    assert run_ingest(make_upload(csv_bytes([["機器番号", "製品名"], *rows]), 1)).status == "succeeded"
    db.session.expire_all()
    assert set(stored().values()) == {("BSM-2401", "bsm2401")}


def test_a_device_set_to_a_common_class_elsewhere_is_evidence_too(ctx):
    a = hospital("H0001")
    cid = sonota_of_a()
    # Hospital B's devices sit in an unmapped class, but its ledger sets them to the master's class.
    b_class = next(iter(ensure_hospital_classifications(db.session, hospital("H0002").id, [("未整理",)]).values()))
    db.session.commit()
    add_models("H0002", b_class, "BSM-2401", NIHON_KOHDEN, 2, "B-BSM")
    assert model_evidence(db.session, a.id, [cid]) == {}
    monitor = common("生体情報モニター").id
    for device in db.session.query(Equipment).filter_by(hospital_id=hospital("H0002").id, classification_id=b_class):
        device.override_classification_id = monitor
    db.session.commit()
    assert model_evidence(db.session, a.id, [cid])[cid].votes == ((monitor, 1, 4),)


def test_a_deactivated_hospital_is_no_evidence_by_name_or_by_model(client, ctx):
    """Hospitals A, B, C: B alone mapped a name A also uses and A's device model; once B is
    deactivated (a masters push no longer lists it) A sees neither, while C still counts."""
    from app.services.classifications.evidence import prior_mappings

    a, b = hospital("H0001"), hospital("H0002")
    sonota = sonota_of_a()
    (same_name,) = ensure_hospital_classifications(db.session, a.id, [("ベッドサイド監視装置",)]).values()
    db.session.commit()
    mapped_class("H0002", "ベッドサイド監視装置", "生体情報モニター", "B-BSM")
    monitor = common("生体情報モニター").id
    key = db.session.get(Classification, same_name).normalized_name
    login_as(client, HOSPITAL_A)

    def first(cid):
        rows = client.get(f"{API}/hospital/{a.id}/mapping").json["result"]
        return next(r for r in rows if r["id"] == cid)["suggestions"][0]

    assert prior_mappings(db.session, a.id)[key] == {monitor: 1}
    assert first(same_name)["id"] == monitor and first(same_name)["score"] >= 96
    assert first(sonota)["models"] == {"hospitals": 1, "devices": 4}

    b.is_active = False
    db.session.commit()
    assert key not in prior_mappings(db.session, a.id)
    assert model_evidence(db.session, a.id) == {}
    assert first(same_name)["score"] < 96
    assert "models" not in first(sonota) and first(sonota)["name"] == "その他"
    # An active hospital's word still counts.
    mapped_class("H0003", "ベッドサイド監視装置", "生体情報モニター", "C-BSM")
    assert prior_mappings(db.session, a.id)[key] == {monitor: 1}
    assert first(sonota)["models"] == {"hospitals": 1, "devices": 4}
