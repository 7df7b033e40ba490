"""suggest(): the issue's examples, width variants and names that must not match."""
import csv
from pathlib import Path

import pytest

from app.core.normalize import maker_key, match_key, normalize_text
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD, suggest

MASTER = Path(__file__).resolve().parent.parent / "seeds" / "smds_classification_master.csv"


@pytest.fixture(scope="module")
def master():
    with MASTER.open(encoding="utf-8-sig") as handle:
        return [(int(row[0]), row[1]) for row in csv.reader(handle) if row and row[0].isdigit()]


def top(name, master, prior=None):
    names = dict(master)
    (cid, score), *_ = suggest(name, master, prior)
    return names[cid], score


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
])
def test_a_qualifier_of_size_type_or_model_stays_noise(master, name, expected):
    best, score = top(name, master)
    assert best == expected and score >= AUTO_ACCEPT_THRESHOLD
