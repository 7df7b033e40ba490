"""suggest() with model evidence (what other hospitals map the same device models to): the
scoring rule of app/services/classifications/suggest.py, pure, on the real master."""
import pytest

from app.core.normalize import model_key
from app.services.classifications.evidence import distinctive, same_model, usable
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, ModelEvidence, suggest, suggest_cached

from .suggest_helpers import load_master


@pytest.fixture(scope="module")
def master():
    return list(load_master())


@pytest.fixture(scope="module")
def ids(master):
    return {name: cid for cid, name in master}


def ranked(name, master, parent=None, evidence=None, **kwargs):
    names = dict(master)
    return [(names[cid], score) for cid, score in suggest(name, master, parent_name=parent,
                                                          model_evidence=evidence, **kwargs)]


def evidence(devices, *votes, with_evidence=None, hospitals=None):
    """``votes``: (common id, agreeing hospitals, own devices of those models)."""
    return ModelEvidence(
        devices=devices,
        with_evidence=with_evidence if with_evidence is not None else sum(d for _, _, d in votes),
        hospitals=hospitals if hospitals is not None else max(h for _, h, _ in votes),
        votes=tuple(votes))


@pytest.mark.parametrize("name, parent", [
    ("輸液ポンプ（大型）", None), ("その他", "ME機器"), ("XQ-5500", "ME機器"), ("BSM-2401", "モニター類"),
    ("ベッドサイドモニタ", None), ("付属品", "輸液ポンプ"),
])
def test_without_model_evidence_the_ranking_is_unchanged(master, name, parent):
    plain = suggest(name, master, parent_name=parent)
    assert suggest(name, master, parent_name=parent, model_evidence=None) == plain
    # Evidence without a vote (no device's model known elsewhere) changes nothing either.
    assert suggest(name, master, parent_name=parent, model_evidence=ModelEvidence(5, 0, 0, ())) == plain


def test_a_model_number_class_takes_the_class_one_other_hospital_chose_but_is_not_auto_accepted(master, ids):
    assert ranked("XQ-5500", master, "ME機器")[0][0] != "生体情報モニター"  # the name says nothing
    one = evidence(4, (ids["生体情報モニター"], 1, 4))
    best, score = ranked("XQ-5500", master, "ME機器", one)[0]
    assert best == "生体情報モニター" and score < AUTO_ACCEPT_THRESHOLD


def test_two_hospitals_agreeing_on_all_devices_auto_accept(master, ids):
    two = evidence(4, (ids["生体情報モニター"], 2, 4))
    assert ranked("XQ-5500", master, "ME機器", two)[0] == ("生体情報モニター", 92.0)
    three = evidence(4, (ids["生体情報モニター"], 3, 4))
    assert ranked("XQ-5500", master, "ME機器", three)[0] == ("生体情報モニター", 93.0)
    # BSM-2401 (the lexicon already guesses a bedside monitor, below 90): the models confirm it.
    assert ranked("BSM-2401", master, "モニター類")[0][1] < AUTO_ACCEPT_THRESHOLD
    assert ranked("BSM-2401", master, "モニター類", two)[0] == ("生体情報モニター", 92.0)


@pytest.mark.parametrize("case", ["few devices with evidence", "hospitals disagree", "class split"])
def test_two_hospitals_are_not_enough_without_a_clear_majority(master, ids, case):
    monitor, pump = ids["生体情報モニター"], ids["輸液ポンプ"]
    name = "その他"
    if case == "few devices with evidence":  # 3 of a class of 100 devices named by a model number
        name, weak = "XQ-5500", evidence(100, (monitor, 2, 3))
    elif case == "hospitals disagree":  # 2 hospitals say monitor, 1 says central monitor
        weak = evidence(4, (monitor, 2, 4), (ids["セントラルモニタ"], 1, 4), with_evidence=4, hospitals=3)
    else:  # 6 monitors and 4 infusion pumps under one 「その他」
        weak = evidence(10, (monitor, 2, 6), (pump, 2, 4))
    best, score = ranked(name, master, "ME機器", weak)[0]
    assert best == "生体情報モニター" and score < AUTO_ACCEPT_THRESHOLD


def test_a_split_class_ranks_the_bigger_share_first(master, ids):
    split = evidence(10, (ids["輸液ポンプ"], 1, 3), (ids["シリンジポンプ"], 1, 7))
    top = ranked("XQ-5500", master, "ME機器", split)
    assert [name for name, _ in top[:2]] == ["シリンジポンプ", "輸液ポンプ"]
    assert all(score < AUTO_ACCEPT_THRESHOLD for _, score in top)


def test_a_context_only_name_follows_its_models_not_the_masters_sonota(master, ids):
    # Today 「その他」 under a parent that names nothing is the master's その他 at 100.
    assert ranked("その他", master, "ME機器")[0] == ("その他", 100.0)
    one = evidence(5, (ids["生体情報モニター"], 1, 5))
    top = ranked("その他", master, "ME機器", one)
    assert top[0][0] == "生体情報モニター" and top[0][1] < AUTO_ACCEPT_THRESHOLD
    assert dict(top).get("その他", 0) < top[0][1]
    # Under a parent that names a class: the models still lead the parent's class.
    top = ranked("その他", master, "輸液ポンプ", evidence(5, (ids["シリンジポンプ"], 1, 5)))
    assert top[0][0] == "シリンジポンプ" and top[1][0] == "輸液ポンプ"
    strong = evidence(5, (ids["生体情報モニター"], 2, 5))
    assert ranked("予備機", master, "ME機器", strong)[0] == ("生体情報モニター", 92.0)
    # Three monitors in a 「その他」 of 100 devices: offered, but the name keeps its own first.
    few = ranked("その他", master, "ME機器", evidence(100, (ids["生体情報モニター"], 1, 3)))
    assert few[0] == ("その他", 100.0) and few[1][0] == "生体情報モニター" and few[1][1] < AUTO_ACCEPT_THRESHOLD


def test_a_name_that_is_a_class_keeps_it_first(master, ids):
    strong = evidence(30, (ids["シリンジポンプ"], 4, 30))
    top = ranked("輸液ポンプ", master, None, strong)
    assert top[0] == ("輸液ポンプ", 100.0)
    assert top[1][0] == "シリンジポンプ" and top[1][1] < 100.0
    # A lexicon term (93) too: the model class is offered just below it.
    top = ranked("ｸﾍﾞｰｽ", master, None, evidence(3, (ids["輸液ポンプ"], 3, 3)))
    assert top[0][0] == "保育器" and top[1] == ("輸液ポンプ", top[0][1] - 1.0)


def test_a_parents_mapped_class_yields_to_agreeing_models_but_not_to_a_split(master, ids):
    pump, syringe = ids["輸液ポンプ"], ids["シリンジポンプ"]
    agreed = ranked("XQ-5500", master, "ポンプ類", evidence(4, (syringe, 1, 4)), parent_mapped_id=pump)
    assert [name for name, _ in agreed[:2]] == ["シリンジポンプ", "輸液ポンプ"]
    split = ranked("XQ-5500", master, "ポンプ類", evidence(4, (syringe, 1, 2), (ids["生体情報モニター"], 1, 2)),
                   parent_mapped_id=pump)
    assert split[0][0] == "輸液ポンプ"


def test_votes_for_classes_outside_the_candidates_are_ignored(master, ids):
    plain = suggest("XQ-5500", master, parent_name="ME機器")
    assert suggest("XQ-5500", master, parent_name="ME機器",
                   model_evidence=evidence(4, (999_999, 3, 4))) == plain


def test_the_cache_key_includes_the_evidence(master, ids):
    candidates = tuple(master)
    one = evidence(4, (ids["生体情報モニター"], 1, 4))
    two = evidence(4, (ids["生体情報モニター"], 2, 4))
    first = suggest_cached("XQ-5500", candidates, (), 3, "ME機器", None, None, one)
    second = suggest_cached("XQ-5500", candidates, (), 3, "ME機器", None, None, two)
    assert first[0][1] < AUTO_ACCEPT_THRESHOLD <= second[0][1]
    assert suggest_cached("XQ-5500", candidates, (), 3, "ME機器", None, None)[0][0] != ids["生体情報モニター"]


def test_model_keys_and_what_counts_as_the_same_model():
    assert model_key("ＴＥ－２８１Ａ") == model_key("te 281a") == model_key("TE281A") == "te281a"
    assert model_key("  ") is None and model_key(None) is None
    assert [usable(model_key(k)) for k in ("TE-281A", "3085", "12", "不明", "-", "なし")] == \
        [True, True, False, False, False, False]
    assert distinctive("bsm2401") and not distinctive("3085") and not distinctive("a12")
    assert same_model("3085", 7, 7) and not same_model("bsm2401", 7, 8)
    # A blank maker on either side: only a distinctive number is the same model.
    assert same_model("bsm2401", None, 7) and same_model("bsm2401", 7, None)
    assert not same_model("3085", None, 7) and not same_model("3085", None, None)


def test_model_scores_use_the_same_auto_accept_threshold_as_suggest():
    from app.services.classifications import model_scores

    assert model_scores.ACCEPT_AT == AUTO_ACCEPT_THRESHOLD
    assert model_scores.MODEL_CEILING < AUTO_ACCEPT_THRESHOLD <= model_scores.MODEL_STRONG
