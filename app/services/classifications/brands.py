"""Maker brands (product families) and the kind of device each names, and the rule that the
first brand of a name decides its family (used by
:func:`app.services.classifications.suggest.suggest`).

Hospitals often file a device under its brand and model: 「ACUSON Freestyle」, 「LOGIQ e」,
「HAMILTON-C3」, 「Radical-7」. A brand is written first and the model name after it, and a
model name may be a word that is another maker's brand elsewhere (Siemens' wireless
ultrasound probe ACUSON Freestyle is no FreeStyle glucose meter; a ventilator
「Servo-i」 no glucose meter either). So the first brand of a name ranks its family first, at
:data:`BRAND` (a person confirms: a brand also sells accessories and other devices), and what
the words after it suggest is held just below.

:data:`BRANDS` lists brands sold in Japanese hospitals that stand for one kind of device
(a maker or brand with several families, テルモ, 日本光電, ZOLL, ERBE or CARESCAPE (monitors and
a ventilator), says nothing and is left out), as written
on a device label; spellings are compared on match keys (width, case, spaces, hyphens).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from app.core.normalize import match_key, normalize_text
from app.services.classifications.lexicon import lexicon_matches

_US = ("超音波画像診断装置", "超音波診断装置")
_MONITOR = ("生体情報モニター", "患者監視装置")
_VENT = ("人工呼吸器",)
_ANES = ("麻酔器", "麻酔システム")
_ESU = ("電気メス", "電気手術器")
_BONE = ("手術用ドリルシステム", "電動式骨手術器械", "電動式骨手術装置")
_GLUCOSE = ("血糖測定器",)
_BLOOD_GAS = ("血液ガス分析装置",)
_WARMING = ("血液・輸液ウォーミング装置",)
_ECG = ("１２誘導心電計",)

BRANDS: dict[str, tuple[str, ...]] = {
    # ultrasound (GE, Siemens, Canon, Fujifilm/Hitachi, Philips, Konica Minolta)
    **dict.fromkeys(("ACUSON", "LOGIQ", "Vivid", "Voluson", "Vscan", "Aplio", "Xario", "Viamo",
                     "ARIETTA", "ProSound", "Noblus", "SonoSite", "EPIQ", "Affiniti", "Lumify",
                     "SONIMAGE", "Butterfly iQ"), _US),
    # bedside monitors
    **dict.fromkeys(("IntelliVue", "Life Scope", "ライフスコープ", "DynaScope", "ダイナスコープ",
                     "BeneVision"), _MONITOR),
    # defibrillators
    **dict.fromkeys(("HeartStart", "カルジオライフ", "Cardiolife", "LIFEPAK", "ライフパック", "Powerheart",
                     "corpuls"), ("除細動器",)),
    # ventilators
    **dict.fromkeys(("Servo", "サーボ", "Evita", "Savina", "Babylog", "HAMILTON", "ハミルトン",
                     "Puritan Bennett", "Bellavista", "Trilogy", "Astral", "Carina", "Oxylog", "VELA",
                     "AVEA"), _VENT),
    # anaesthesia machines
    **dict.fromkeys(("Fabius", "Primus", "Perseus", "Atlan", "Aisys", "Avance", "Aespire", "Flow-i"), _ANES),
    # electrosurgery and vessel sealing
    **dict.fromkeys(("ForceTriad", "Valleylab", "LigaSure", "VIO", "ENSEAL"), _ESU),
    # ultrasonic scalpels, aspirators
    **dict.fromkeys(("HARMONIC", "ハーモニック", "SonoSurg", "ソノサージ", "SONICISION"), ("超音波手術器",)),
    **dict.fromkeys(("CUSA", "SONOPET", "ソノペット"), ("超音波吸引器",)),
    # theatre
    **dict.fromkeys(("Cell Saver", "セルセーバー"), ("自己血回収装置",)),
    **dict.fromkeys(("Bair Hugger", "ベアーハガー", "WarmTouch", "Arctic Sun", "Blanketrol"), ("体温調節装置",)),
    **dict.fromkeys(("Level 1", "レベル1", "レベルワン", "Ranger", "enFlow", "ANIMEC"), _WARMING),
    **dict.fromkeys(("da Vinci", "ダヴィンチ", "ダビンチ", "hinotori"), ("内視鏡下手術用ロボット", "ロボット")),
    **dict.fromkeys(("OPMI", "Pentero", "KINEVO", "Lumera", "ARveo", "PROvido"), ("手術顕微鏡", "手術用顕微鏡")),
    **dict.fromkeys(("STERRAD", "ステラッド", "V-PRO"), ("滅菌器",)),
    **dict.fromkeys(("System 8", "System 7", "System 6", "Midas Rex", "Anspach", "Colibri", "Primado"), _BONE),
    **dict.fromkeys(("Neptune", "ネプチューン"), ("廃液・排煙システム",)),
    **dict.fromkeys(("VISERA", "EVIS", "LUCERA", "ELUXEO"), ("内視鏡システム",)),
    "StealthStation": ("ナビゲーションシステム",),
    "NIM": ("神経探知刺激装置",),
    # point of care and laboratory
    **dict.fromkeys(("FreeStyle", "フリースタイル", "GLUCOCARD", "グルコカード", "Accu-Chek", "アキュチェック",
                     "Medisafe", "メディセーフ", "OneTouch", "ワンタッチ", "StatStrip", "スタットストリップ"),
                    _GLUCOSE),
    **dict.fromkeys(("ABL", "RAPIDPoint", "RAPIDLab", "GEM Premier", "i-STAT", "epoc"), _BLOOD_GAS),
    **dict.fromkeys(("Hemochron", "ヘモクロン", "CoaguChek", "コアグチェック"), ("血液凝固計",)),
    **dict.fromkeys(("Cardiofax", "カルジオファックス", "PageWriter", "Cardimax", "カーディマックス"), _ECG),
    **dict.fromkeys(("Neurofax", "ニューロファックス"), ("脳波計",)),
    **dict.fromkeys(("INVOS", "NIRO", "FORE-SIGHT"), ("無侵襲混合血酸素飽和度監視装置",)),
    **dict.fromkeys(("Vigileo", "EV1000", "FloTrac", "Vigilance", "HemoSphere", "PiCCO"), ("心拍出量計",)),
    **dict.fromkeys(("Radical", "Rad-97"), ("パルスオキシメータ",)),
    # wards and intensive care
    **dict.fromkeys(("Kendall SCD", "Flowtron", "フロートロン"), ("ＤＶＴ予防ポンプ",)),
    **dict.fromkeys(("V.A.C.", "ActiV.A.C.", "PICO", "SNaP", "RENASYS"), ("陰圧創傷治療システム",)),
    **dict.fromkeys(("Isolette", "アイソレット", "Babyleo"), ("保育器",)),
    **dict.fromkeys(("Airvo", "エアボ", "Optiflow"), ("加温加湿器",)),
    "Cardiosave": ("大動脈内バルーンポンプ",),
    "Rotaflow": ("遠心ポンプ",),
    "Prismaflex": ("血液浄化関連",),
}
# The first brand ranks its family at BRAND (each later class of the family half a point
# lower); other classes the name suggests as a term stay below it.
BRAND = 88.0
# A brand beside words of its own (not a model) says the family less surely than they do.
BRAND_BESIDE = 75.0
_BRAND_STEP = 0.5
# A brand glued to a model number (VIO300D, Airvo2, EV1000) is still the brand.
_MODEL_RE = re.compile(r"[a-z0-9]*[0-9][a-z0-9]*")
_TOKEN_SPLIT_RE = re.compile(r"[\s\-‐_/／・,、()（）\[\]【】]+")
# A brand this short (NIM, ABL, VIO) glued to a model only when the model starts with a
# digit (VIO300D, ABL800; not "vision" for VIO).
_SHORT = 4
_MIN_GLUED = 3
# Names of several words (Puritan Bennett, Kendall SCD): up to this many words make a brand.
_MAX_WORDS = 3


@lru_cache(maxsize=1)
def brand_index() -> dict[str, tuple[str, ...]]:
    """{brand match key: family master keys}."""
    return {match_key(brand): tuple(match_key(m) for m in masters) for brand, masters in BRANDS.items()}


@lru_cache(maxsize=8192)
def leading_brand(name: str) -> tuple[tuple[str, ...], bool]:
    """The family (master keys) of the first brand among the words of ``name`` (empty when
    it has none), and whether only a model follows it (words in letters and digits:
    「ACUSON Freestyle」, not 「IntelliVue 送信機」, a transmitter of that monitor)."""
    index = brand_index()
    words = [match_key(w) for w in _TOKEN_SPLIT_RE.split(normalize_text(name)) if match_key(w)]
    for start in range(len(words)):
        for size in range(min(_MAX_WORDS, len(words) - start), 0, -1):
            key = "".join(words[start:start + size])
            if key in index:
                return index[key], _model_only(words[start + size:])
        word = words[start]
        for end in range(len(word) - 1, _MIN_GLUED - 1, -1):  # glued to a model: airvo2, vio300d
            tail = word[end:]
            if (word[:end] in index and _MODEL_RE.fullmatch(tail)
                    and (end > _SHORT or tail[0].isdigit())):
                return index[word[:end]], _model_only(words[start + 1:])
    return (), False


def _model_only(words: list[str]) -> bool:
    """Whether the words after a brand are a model name: letters and digits that name no
    device (「e」, 「C3」, 「Freestyle」: another maker's brand is a model name here), not
    「Central Station」 or 「送信機」."""
    rest = "".join(words)
    return rest.isascii() and (not rest or words[0] in brand_index() or not lexicon_matches(rest)[0])


def with_brand(lex_scores: Mapping[str, float], name: str) -> Mapping[str, float]:
    """``lex_scores`` (master key → score) with the family of the name's first brand: at
    :data:`BRAND` and every other class held below it when only a model follows the brand;
    at :data:`BRAND_BESIDE` (raised only) when words follow that may name another device
    (「IntelliVue 送信機」: the name's own head decides); unchanged without a brand."""
    family, model_only = leading_brand(name)
    if not family:
        return lex_scores
    if model_only:
        scores = {key: min(score, BRAND - 1.0) for key, score in lex_scores.items() if key not in family}
    else:
        scores = dict(lex_scores)
    top = BRAND if model_only else BRAND_BESIDE
    for rank, key in enumerate(family):
        scores[key] = max(lex_scores.get(key, 0.0), top - _BRAND_STEP * rank)
    return scores
