"""Other hospitals' mappings of the same name (priors) respect the parent: a name that needs
its parent (顕微鏡, モニター, 本体) is not auto-accepted from a hospital that had it under
another parent, while the same parent, or a name that alone names its class, counts as before.
Invented hospitals vote; the demo's other hospitals are deactivated so only they speak."""
import pytest

from app.extensions import db
from app.models import Classification, Organization
from app.services.classifications.evidence import prior_votes
from app.services.classifications.mapping import MANUAL, ensure_hospital_classifications, set_mapping
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, suggest

from .conftest import HOSPITAL_A, login_as
from .suggest_helpers import load_master
from .test_classifications import common, first_page, hospital

API = "/api/v1/classification"


def only_invented_hospitals_vote():
    for org in db.session.query(Organization).filter(Organization.kind == "hospital", Organization.code != "H0001"):
        org.is_active = False
    db.session.commit()


def voter(code):
    org = Organization(code=code, kind="hospital", name=f"{code}病院", phone="03-0000-0000")
    db.session.add(org)
    db.session.commit()
    return org


def classify(org, path, target=None, parent_target=None):
    """``path`` (parent, child) in ``org``; the child mapped by a person to ``target``, the parent to
    ``parent_target``."""
    (cid,) = ensure_hospital_classifications(db.session, org.id, [path]).values()
    cls = db.session.get(Classification, cid)
    if target:
        set_mapping(db.session, cls, common(target).id, MANUAL)
    if parent_target:
        set_mapping(db.session, cls.parent, common(parent_target).id, MANUAL)
    db.session.commit()
    return cid


def two_voters(path, target, parent_target=None):
    for code in ("H9801", "H9802"):
        classify(voter(code), path, target, parent_target)


def firsts(client, a_id, cid, q):
    """The first suggestion of ``cid`` on the API page, the screen's HTML and the whole-hospital
    rows (they must agree), and whether the bulk preview at the threshold takes it."""
    page = next(r for r in client.get(f"{API}/hospital/{a_id}/mapping/page?q={q}&level=2").json["rows"]
                if r["id"] == cid)["suggestions"]
    html = next(r for r in first_page(client.get(f"/classification-mapping/?q={q}&level=2"))["rows"]
                if r["id"] == cid)["suggestions"]
    rows = next(r for r in client.get(f"{API}/hospital/{a_id}/mapping").json["result"] if r["id"] == cid)
    preview = client.post(f"{API}/hospital/{a_id}/mapping/bulk",
                          json={"filter": {"q": q, "level": 2}, "threshold": AUTO_ACCEPT_THRESHOLD}).json
    assert page == html == rows["suggestions"]
    return page[0], cid in {c["id"] for c in preview["changes"]}


def test_a_microscope_of_the_lab_is_not_auto_accepted_as_the_operating_rooms(client, ctx):
    only_invented_hospitals_vote()
    a = hospital("H0001")
    two_voters(("手術部", "顕微鏡"), "手術顕微鏡")
    lab = classify(a, ("検査部", "顕微鏡"))
    theatre = classify(a, ("手術部", "顕微鏡"))
    login_as(client, HOSPITAL_A)
    best, bulk = firsts(client, a.id, lab, "顕微鏡")
    # Offered (the word alone is most often one), a person decides: never accepted in bulk.
    assert best["score"] < AUTO_ACCEPT_THRESHOLD and not bulk
    # Under the same parent the two hospitals' choice counts as it always did.
    best, bulk = firsts(client, a.id, theatre, "顕微鏡")
    assert best["name"] == "手術顕微鏡" and best["score"] >= 96 and bulk


def test_parents_mapped_to_one_class_agree_whatever_their_names(client, ctx):
    only_invented_hospitals_vote()
    a = hospital("H0001")
    two_voters(("内視鏡", "本体"), "内視鏡システム", parent_target="内視鏡システム")
    ours = classify(a, ("消化器内視鏡類", "本体"), parent_target="内視鏡システム")
    login_as(client, HOSPITAL_A)
    best, bulk = firsts(client, a.id, ours, "本体")
    assert best["name"] == "内視鏡システム" and best["score"] >= 96 and bulk


def test_a_name_that_names_its_class_keeps_other_parents_votes(client, ctx):
    only_invented_hospitals_vote()
    a = hospital("H0001")
    two_voters(("ICU", "輸液ポンプ（大型）"), "輸液ポンプ")
    ours = classify(a, ("東3病棟", "輸液ポンプ（大型）"))
    login_as(client, HOSPITAL_A)
    best, bulk = firsts(client, a.id, ours, "輸液ポンプ")
    # 97 by the name alone; the two hospitals' word raises it as before (96 + 2).
    assert best["name"] == "輸液ポンプ" and best["score"] == 98 and bulk


def test_votes_are_counted_apart_by_parent_and_only_ids_and_counts_come_back(ctx):
    only_invented_hospitals_vote()
    a = hospital("H0001")
    two_voters(("手術部", "顕微鏡"), "手術顕微鏡")
    classify(voter("H9803"), ("検査部", "顕微鏡"), "電子顕微鏡")
    # Parents both mapped to the catch-all その他 say nothing in common.
    classify(voter("H9804"), ("その他", "モニター"), "生体情報モニター", parent_target="その他")
    lab = classify(a, ("検査部", "顕微鏡"))
    top = classify(a, ("顕微鏡",))
    other = classify(a, ("予備", "モニター"), parent_target="その他")
    votes = prior_votes(db.session, a.id, [lab, top, other])
    surgical, electron, monitor = (common(name).id for name in ("手術顕微鏡", "電子顕微鏡", "生体情報モニター"))
    assert votes[lab] == {surgical: (2, 0), electron: (1, 1)}
    assert votes[top] == {surgical: (2, 0), electron: (1, 0)}  # at the top: no parent agrees
    assert votes[other][monitor] == (1, 1)  # without the catch-all rule (the Suggester's)...
    catch_all = [common("その他").id]
    assert prior_votes(db.session, a.id, [other], catch_all)[other][monitor] == (1, 0)
    assert all(isinstance(x, int) for row in votes.values() for cid, pair in row.items() for x in (cid, *pair))


@pytest.fixture(scope="module")
def master():
    return list(load_master())


@pytest.mark.parametrize("name, parent", [
    ("顕微鏡", "検査部"), ("モニター", "透析室"), ("本体", "検査機器"), ("ポータブル", "検査部"), ("テルモ", "病棟"),
])
def test_a_name_that_needs_its_parent_is_offered_not_accepted_from_other_parents(master, name, parent):
    ids = {cname: cid for cid, cname in master}
    target = {"顕微鏡": "手術顕微鏡", "モニター": "生体情報モニター", "本体": "内視鏡システム",
              "ポータブル": "医療用吸引器", "テルモ": "輸液ポンプ"}[name]
    ranked = suggest(name, master, parent_name=parent, prior_other_parents={ids[target]: 3})
    assert ids[target] in [cid for cid, _ in ranked]  # still offered
    assert ranked[0][1] < AUTO_ACCEPT_THRESHOLD
    # The same votes under a parent like ours are agreement, as before.
    agreed = suggest(name, master, {ids[target]: 3}, parent_name=parent)
    assert agreed[0] == (ids[target], 99.0)


def test_a_parent_that_names_a_class_leads_over_other_parents_votes(master):
    ids = {cname: cid for cid, cname in master}
    ranked = suggest("本体", master, parent_name="吸引器", prior_other_parents={ids["内視鏡システム"]: 2})
    order = [cid for cid, _ in ranked]
    assert order[0] == ids["医療用吸引器"] and ids["内視鏡システム"] in order[1:]


@pytest.mark.parametrize("name, target, own", [
    ("輸液ポンプ（大型）", "輸液ポンプ", 97.0), ("除細動", "除細動器", 93.0),
])
def test_a_name_that_alone_names_the_class_counts_other_parents_votes(master, name, target, own):
    ids = {cname: cid for cid, cname in master}
    assert suggest(name, master, parent_name="東3病棟")[0] == (ids[target], own)
    ranked = suggest(name, master, parent_name="東3病棟", prior_other_parents={ids[target]: 2})
    assert ranked[0] == (ids[target], 98.0)


@pytest.mark.parametrize("name, target", [("PCPS", "補助循環装置"), ("酸素流量計", "フローメーター"), ("ENG", "知覚・運動機能検査機器")])
def test_a_device_name_the_suggester_is_unsure_of_keeps_other_parents_votes(master, name, target):
    # One device under any parent: the other hospitals settled what the lexicon could not.
    ids = {cname: cid for cid, cname in master}
    assert suggest(name, master, parent_name="ME機器管理室")[0][1] < AUTO_ACCEPT_THRESHOLD
    ranked = suggest(name, master, parent_name="ME機器管理室", prior_other_parents={ids[target]: 2})
    assert ranked[0] == (ids[target], 98.0)
