"""suggest(): the issue's examples, width variants and names that must not match; the
lexicon's first two passes and the parent context. Later passes: test_suggest_rules.py."""
import csv
from pathlib import Path

import pytest

from app.core.normalize import maker_key, match_key, normalize_text
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, suggest

from .suggest_helpers import load_master, ranked_names, ranked_under, top


@pytest.fixture(scope="module")
def master():
    return list(load_master())


@pytest.mark.parametrize("name, expected", [
    ("ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ", "シリンジポンプ"),
    ("ﾊﾟﾙｽｵｷｼﾒｰﾀｰ", "パルスオキシメータ"),
    ("生体情報モニタ", "生体情報モニター"),
    ("輸液ポンプ（大型）", "輸液ポンプ"),
    ("除細動器（AED）", "除細動器"),
    ("12誘導心電計", "１２誘導心電計"),
    ("ＦＦＰ解凍器", "ＦＦＰ解凍器"),
    ("ffp解凍器", "ＦＦＰ解凍器"),
    ("セントラルモニター", "セントラルモニタ"),
    ("保育器（閉鎖式）", "保育器"),
])
def test_examples_rank_first_above_threshold(master, name, expected):
    best, score = top(name, master)
    assert best == expected
    assert score >= AUTO_ACCEPT_THRESHOLD


@pytest.mark.parametrize("name", ["透析用監視装置", "ACUSON SC2000", "CE共有", "3085"])
def test_no_counterpart_scores_below_threshold(master, name):
    _, score = top(name, master)
    assert score < AUTO_ACCEPT_THRESHOLD


def test_ranked_list_is_sorted_and_limited(master):
    ranked = suggest("輸液ポンプ（大型）", master)
    assert len(ranked) == 3
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    assert len(suggest("ポンプ", master, limit=None)) == len(master)


def test_prior_mappings_of_other_hospitals_rank_first(master):
    ids = {name: cid for cid, name in master}
    prior = {ids["生体情報モニター"]: 3}
    best, score = top("ベッドサイドモニタ", master, prior)
    assert best == "生体情報モニター" and score >= AUTO_ACCEPT_THRESHOLD
    # An exact match still beats what others chose.
    assert top("ガスモニター", master, prior)[0] == "ガスモニター"


def test_normalize_text_width_dashes_and_spaces():
    assert normalize_text("ＣＴ－１２") == "CT-12"
    assert normalize_text("ﾓﾆﾀｰ") == "モニター"
    assert normalize_text("モニタ-") == "モニター"
    assert normalize_text("1ー2") == "1-2"
    assert normalize_text("　a 　b\t") == "a b"
    assert normalize_text("日本光電㈱") == "日本光電(株)"
    assert normalize_text(None) == ""
    assert normalize_text("plain") == "plain"


def test_match_key_folds_long_vowels_and_small_kana():
    assert match_key("パルスオキシメーター") == match_key("ﾊﾟﾙｽｵｷｼﾒｰﾀ")
    assert match_key("ジェット") == match_key("ジエツト")
    assert match_key("しりんじ") == match_key("シリンジ")


def test_maker_key_spellings():
    keys = {maker_key(s) for s in ["ＧＥヘルスケア・ジャパン㈱", "GEヘルスケア・ジャパン(株)",
                                    "GEヘルスケア・ジャパン株式会社", "ＧＥ ヘルスケア ジャパン"]}
    assert len(keys) == 1
    assert maker_key("テルモ株式会社") == maker_key("ﾃﾙﾓ(株)") == maker_key("テルモ")
    assert maker_key("GE Healthcare Japan Co., Ltd.") == maker_key("GE Healthcare Japan")


@pytest.mark.parametrize("name, expected", [
    ("ポンプ(輸液)", "輸液ポンプ"),
    ("ポンプ（シリンジ）", "シリンジポンプ"),
    ("ﾎﾟﾝﾌﾟ(ｼﾘﾝｼﾞ)", "シリンジポンプ"),
    ("モニタ(生体情報)", "生体情報モニター"),
])
def test_a_qualifier_that_names_the_device_is_the_head(master, name, expected):
    """Issue 14: ポンプ(輸液) is an infusion pump; "accept all ≥ 90" mapped it to ポンプ."""
    ranked = suggest(name, master)
    names = dict(master)
    assert names[ranked[0][0]] == expected
    generic = [score for cid, score in ranked if names[cid] == "ポンプ"]
    assert all(score < AUTO_ACCEPT_THRESHOLD for score in generic)


@pytest.mark.parametrize("name, expected", [
    ("保育器（閉鎖式）", "保育器"), ("無影灯（天吊型）", "無影灯"), ("除細動器（AED）", "除細動器"),
    # qualifier + name is a lexicon term of the same class: still noise
    ("人工呼吸器（成人用）", "人工呼吸器"), ("除細動器(半自動)", "除細動器"), ("保育器（運搬用）", "保育器"),
])
def test_a_qualifier_of_size_type_or_model_stays_noise(master, name, expected):
    best, score = top(name, master)
    assert best == expected and score >= AUTO_ACCEPT_THRESHOLD


# --- The device lexicon (app/services/classifications/lexicon.csv) ---------------------------

def test_every_lexicon_row_names_existing_master_classes():
    from app.services.classifications import lexicon as lex
    built = lex.build(lex.read_rows(), lex.master_names())  # raises on an unknown master
    explicit = [t for t in built.terms.values() if not t.implicit]
    assert len(explicit) >= 500
    masters = {match_key(name) for name in lex.master_names()}
    assert all(set(t.masters) <= masters for t in explicit)


def test_the_lexicon_is_read_once_and_survives_a_spreadsheet_save(tmp_path):
    from app.services.classifications import lexicon as lex
    assert lex.lexicon() is lex.lexicon()
    saved = tmp_path / "lexicon.csv"
    saved.write_text("term,masters,confirm,note\r\nクベース,保育器,,\r\n", encoding="utf-8-sig")
    assert [row["term"] for row in lex.read_rows(saved)] == ["クベース"]
    saved.write_text("word,class\nクベース,保育器\n", encoding="utf-8")
    with pytest.raises(lex.LexiconError, match="header"):
        lex.read_rows(saved)


def test_a_lexicon_typo_fails_loudly():
    from app.services.classifications import lexicon as lex
    rows = [{"term": "カプノメータ", "masters": "ガスモニタ―関連", "confirm": "", "note": ""}]
    with pytest.raises(lex.LexiconError, match="unknown master"):
        lex.build(rows, lex.master_names())
    with pytest.raises(lex.LexiconError, match="listed twice"):
        lex.build([{"term": "ベンチレータ", "masters": "人工呼吸器"},
                   {"term": "ベンチレーター", "masters": "人工呼吸器"}], lex.master_names())


@pytest.mark.parametrize("name, expected", [
    # abbreviations and English/katakana names of a class the master names in Japanese
    ("IABP", "大動脈内バルーンポンプ"),
    ("ＩＡＢＰ", "大動脈内バルーンポンプ"),
    ("ｶﾌﾟﾉﾒｰﾀｰ", "ガスモニター"),
    ("ﾍﾞﾝﾁﾚｰﾀｰ", "人工呼吸器"),
    ("レスピレータ（成人）", "人工呼吸器"),
    ("オートクレーブ", "滅菌器"),
    ("クベース", "保育器"),
    ("ダヴィンチ", "内視鏡下手術用ロボット"),
    ("ＳｐＯ２モニター", "パルスオキシメータ"),
    ("フットポンプ", "ＤＶＴ予防ポンプ"),
    ("リガシュア", "電気手術器"),
    # JMDN generic names narrower than the master's group
    ("自動体外式除細動器", "除細動器"),
    ("逐次型空気圧式マッサージ器", "ＤＶＴ予防ポンプ"),
    ("一体型手術台", "手術台及び治療台"),
    ("多人数用透析液供給装置", "血液浄化関連"),
    # a bracketed model or maker is dropped, as for master names
    ("上部消化管ビデオスコープ（GIF-H290）", "医療用鏡"),
    ("ベアハッガー(3M)", "体温調節装置"),
])
def test_a_name_that_is_a_lexicon_term_is_accepted(master, name, expected):
    best, score = top(name, master)
    assert best == expected
    assert score >= AUTO_ACCEPT_THRESHOLD


@pytest.mark.parametrize("name, expected", [
    # department prefixes, size/age qualifiers, model numbers: the term is part of the name
    ("ＮＩＣＵ　ベンチレーター", "人工呼吸器"),
    ("ICU用ベンチレータ", "人工呼吸器"),
    ("小児用カプノメータ", "ガスモニター"),
    ("IABP駆動装置", "大動脈内バルーンポンプ"),
    ("ＩＡＢＰ駆動装置", "大動脈内バルーンポンプ"),
    ("手術室　電気メス", "電気メス"),
    ("麻酔科内視鏡ユニット", "内視鏡システム"),
    ("ポータブルレントゲン", "医療用エックス線装置関連"),
    ("アンギオ装置", "医療用エックス線装置関連"),
    ("ＣＨＤＦ装置", "血液浄化関連"),
    ("LOGIQ P5j", "超音波画像診断装置"),
    ("SERVO-i", "人工呼吸器"),
    ("上部消化管ビデオスコープ GIF-H290", "医療用鏡"),
    ("キセノン光源装置", "光源装置"),
    ("心筋保護液注入装置", "心筋保護液供給装置"),
    ("ECMO用遠心ポンプ", "遠心ポンプ"),  # the head (遠心ポンプ) beats the prefix (ECMO)
    ("電気メス用バイポーラセット", "電気メス"),  # the class the name spells out goes first
    ("IABP用ポンプ", "大動脈内バルーンポンプ"),  # a generic head (ポンプ) says less than IABP
    ("術野用カメラ", "術野カメラ"),
])
def test_a_lexicon_term_inside_a_name_ranks_first_but_is_confirmed(master, name, expected):
    best, score = top(name, master)
    assert best == expected
    assert score < AUTO_ACCEPT_THRESHOLD


@pytest.mark.parametrize("name", ["呼吸器", "エコー", "ECMO", "ＣＰＡＰ", "テレメータ", "輸液"])
def test_an_ambiguous_or_broad_term_is_never_auto_accepted(master, name):
    ranked = suggest(name, master)
    assert ranked[0][1] < AUTO_ACCEPT_THRESHOLD
    assert ranked[0][1] >= 85  # still offered first, for a person to confirm


def test_the_head_counts_more_than_the_start(master):
    """成人用人工呼吸器用加温加湿器 is a humidifier (for a ventilator), not a ventilator."""
    assert top("人工呼吸器用加湿器", master)[0] == "加温加湿器"
    assert top("加湿器付人工呼吸器", master)[0] == "人工呼吸器"


def test_a_qualifier_that_makes_a_lexicon_term_is_the_head(master):
    assert top("ポンプ(経腸栄養)", master)[0] == "輸液ポンプ"
    assert top("モニタ(多項目)", master)[0] == "生体情報モニター"


def test_exact_names_and_prior_mappings_stay_above_the_lexicon(master):
    ids = {name: cid for cid, name in master}
    # An exact master name wins over any term inside it.
    assert top("光源装置付吸引洗浄装置", master) == ("光源装置付吸引洗浄装置", 100.0)
    # What other hospitals chose outranks the lexicon's guess.
    best, score = top("ECMO", master, {ids["人工心肺装置関係"]: 2})
    assert best == "人工心肺装置関係" and score >= AUTO_ACCEPT_THRESHOLD


def test_labelled_names_without_counterpart_stay_below_threshold(master):
    labels = Path(__file__).resolve().parent.parent / "bench" / "data" / "suggest_labels.csv"
    with labels.open(encoding="utf-8-sig") as handle:
        negatives = [row["name"] for row in csv.DictReader(handle) if not row["expected_id"]]
    assert negatives
    for name in negatives:
        assert top(name, master)[1] < AUTO_ACCEPT_THRESHOLD, name


def test_lexicon_classes_missing_from_the_candidates_change_nothing(master, monkeypatch):
    """A caller ranking a subset of the master gets the plain scores for the others."""
    from app.services.classifications import suggest as module
    subset = [(cid, name) for cid, name in master if name not in ("血液浄化関連",)]
    with_lexicon = suggest("透析用監視装置", subset, limit=None)
    monkeypatch.setattr(module, "_lexicon_scores", lambda *_: ({}, frozenset()))
    assert suggest("透析用監視装置", subset, limit=None) == with_lexicon


# --- Second lexicon pass: more generic names, and umbrella words that only count whole ---

@pytest.mark.parametrize("name, expected", [
    ("輸液コントローラ", "輸液ポンプ"),  # JMDN
    ("血管造影装置", "医療用エックス線装置関連"),
    ("OCTアンギオ", "眼底検査器"),  # an eye OCT, not an X-ray angiography
    ("陰圧維持管理装置", "陰圧創傷治療システム"),
    ("インセンティブスパイロメータ", "呼吸器関連"),  # a breathing trainer, not a lung-function test
    ("透析関連", "血液浄化関連"),
    ("リハビリ機器", "理学診療用器具"),
])
def test_second_pass_terms_are_accepted(master, name, expected):
    best, score = top(name, master)
    assert best == expected and score >= AUTO_ACCEPT_THRESHOLD


@pytest.mark.parametrize("name, expected", [
    ("ホルター心電図", "内臓機能検査装置"),  # the longer term beats 心電図 at the head
    ("超音波凝固装置", "超音波手術器"),  # not an ultrasound scanner
    ("電気メスジェネレーター", "電気メス"),  # a part filed with its device
    ("輸液ポンプ付属品", "輸液ポンプ"),
    ("手術台バッテリー", "手術台及び治療台"),
])
def test_second_pass_partial_names_rank_first_but_are_confirmed(master, name, expected):
    best, score = top(name, master)
    assert best == expected and score < AUTO_ACCEPT_THRESHOLD


@pytest.mark.parametrize("name, expected", [
    ("モニター", "モニター関連"), ("測定器", "医療用測定装置"), ("付属品", "その他"),
])
def test_an_umbrella_word_names_a_class_only_as_the_whole_name(master, name, expected):
    best, score = top(name, master)
    assert best == expected and 85 <= score < AUTO_ACCEPT_THRESHOLD
    # inside a longer name it says nothing: the device decides
    assert top("骨密度測定器", master)[0] == "医療用エックス線装置関連"
    assert top("NIRSモニター", master)[0] == "無侵襲混合血酸素飽和度監視装置"


# --- Parent context: a level-2/3 name ranked with its parent classification ---------------

@pytest.mark.parametrize("name, parent, expected", [
    ("TE-171", "シリンジポンプ", "シリンジポンプ"),  # a model number under its device type
    ("ＰＡＬ　Ｉ", "電気手術器", "電気手術器"),
    ("OT-818G", "ポンプ(輸液)", "輸液ポンプ"),  # the parent is read as suggest() reads any name
    ("成人用", "人工呼吸器", "人工呼吸器"),
    ("新生児用", "ﾍﾞﾝﾁﾚｰﾀｰ", "人工呼吸器"),
])
def test_a_child_that_says_little_takes_its_parents_class_below_the_threshold(master, name, parent, expected):
    (best, score), *_ = ranked_names(name, master, parent)
    assert best == expected
    assert 80 <= score < AUTO_ACCEPT_THRESHOLD  # offered first, confirmed by a person


def test_other_under_a_device_type_is_that_device_not_the_master_other(master):
    (best, score), (second, _), *_ = ranked_names("その他", master, "輸液ポンプ")
    assert (best, second) == ("輸液ポンプ", "その他") and score < AUTO_ACCEPT_THRESHOLD
    assert ranked_names("付属品", master, "シリンジポンプ")[0][0] == "シリンジポンプ"
    # Without a parent, or under a parent that names no class, その他 is the master's その他.
    assert ranked_names("その他", master, None)[0] == ("その他", 100.0)
    assert ranked_names("その他", master, "ME機器")[0] == ("その他", 100.0)
    # Scores are shown on screen 7 and in the API: one decimal, never 77.21000000000001.
    for name, parent in (("その他", "ポンプ類"), ("付属品", "輸液ポンプ類"), ("その他", "呼吸器類")):
        assert all(score == round(score, 1) for _, score in suggest(name, master, limit=None, parent_name=parent))


@pytest.mark.parametrize("name, parent, expected", [
    ("オキシメーター", "心拍出量計", "パルスオキシメータ"),  # its own strong match stands
    ("人工呼吸器", "麻酔器", "人工呼吸器"),
    ("IABP駆動装置", "補助循環装置", "大動脈内バルーンポンプ"),  # partial, still its own
])
def test_the_parent_never_overrides_the_childs_own_evidence(master, name, parent, expected):
    alone = suggest(name, master)
    ranked = ranked_names(name, master, parent)
    assert ranked[0] == (expected, alone[0][1])  # same class, same score as without a parent
    parent_class = ranked_names(parent, master, None)[0][0]
    assert parent_class in [n for n, _ in ranked[1:]]  # the parent's class follows it


def test_a_parent_derived_suggestion_never_reaches_the_threshold(master):
    for _, parent in master:
        (_, score), *_ = suggest("XQ-9000", master, parent_name=parent)
        assert score < AUTO_ACCEPT_THRESHOLD, parent


def test_a_parent_that_names_nothing_changes_nothing(master):
    assert suggest("TE-171", master, parent_name="ME機器")[0][1] < 50
    assert suggest("シリンジポンプ", master, parent_name="") == suggest("シリンジポンプ", master)


# --- A parent already mapped: its class, not what its name suggests ----------------------

@pytest.mark.parametrize("child", ["TE-171", "その他", "付属品", "成人用"])
def test_a_mapped_parents_class_comes_first_for_a_child_that_says_little(master, child):
    # ポンプ類 by its name alone suggests the generic ポンプ; a person mapped it to 輸液ポンプ.
    assert ranked_under(child, master, "ポンプ類")[0][0] != "輸液ポンプ"
    ranked = ranked_under(child, master, "ポンプ類", mapped_to="輸液ポンプ")
    assert ranked[0][0] == "輸液ポンプ" and ranked[0][1] < AUTO_ACCEPT_THRESHOLD  # a person confirms
    assert "ポンプ" in [n for n, _ in ranked[1:]]  # what the parent's name suggests follows


def test_a_mapped_parent_never_overrides_the_childs_own_evidence(master):
    for child, own in (("シリンジポンプ", 100.0), ("IABP駆動装置", None)):
        alone = ranked_under(child, master, None)
        ranked = ranked_under(child, master, "ポンプ類", mapped_to="輸液ポンプ")
        assert ranked[0] == alone[0] and (own is None or ranked[0][1] == own)
        assert ranked[1][0] == "輸液ポンプ" and ranked[1][1] < ranked[0][1]


def test_a_mapped_parent_is_never_auto_accepted_and_unknown_ids_are_ignored(master):
    for cid, _ in master:
        (_, score), *_ = suggest("XQ-9000", master, parent_name="ME機器", parent_mapped_id=cid)
        assert score < AUTO_ACCEPT_THRESHOLD
    assert suggest("TE-171", master, parent_name="ME機器", parent_mapped_id=-1) == \
        suggest("TE-171", master, parent_name="ME機器")


def test_a_parent_that_says_little_passes_on_the_grandparents_class(master):
    # 「その他」 under シリンジポンプ, then a model number under that その他.
    assert ranked_under("TE-171", master, "その他")[0][0] == "その他"
    assert ranked_under("TE-171", master, "その他", grandparent=("シリンジポンプ", None))[0][0] == "シリンジポンプ"
    best, score = ranked_under("TE-171", master, "XQ-1", grandparent=("ポンプ類", "輸液ポンプ"))[0]
    assert best == "輸液ポンプ" and score < AUTO_ACCEPT_THRESHOLD
    # A parent that names a class keeps it; the grandparent's follows.
    ranked = ranked_under("TE-171", master, "人工呼吸器", grandparent=("ポンプ類", "輸液ポンプ"))
    assert [n for n, _ in ranked[:2]] == ["人工呼吸器", "輸液ポンプ"]
    # A mapped parent needs no grandparent.
    assert ranked_under("TE-171", master, "その他", mapped_to="人工呼吸器",
                        grandparent=("シリンジポンプ", None))[0][0] == "人工呼吸器"
