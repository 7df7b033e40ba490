"""Rows that name no device class although their words point at one (rules of
:func:`app.services.classifications.suggest.suggest`, kept apart so that module stays readable).

A hospital's classification list also holds parts, consumables and places: 「ＳｐＯ２プローブ」
「ＮＩＢＰカフ」「呼吸回路」「ダイアライザ」 are bought and counted under the device they serve, and
「手術部」「３Ｆ東病棟」「リハビリ」 group devices by where they are. Their words name a class
(パルスオキシメータ, 血圧監視装置, 血液浄化関連, 理学診療用器具), so the lexicon ranks it first, but
mapping every row of 「電極」 to 心電計 by "accept all" is a wrong mapping nobody chose:

- :func:`held_if_part`: a name whose head (its last word, a group word after it dropped) is a
  part or consumable (:data:`PART_WORDS`) has its suggestions lowered as a whole (order kept)
  so its best is at most :data:`PART_CEILING`: still offered first, confirmed by a person.
  Not when a candidate's own master name ends with that word (加圧バック) or is the name.
- :func:`held_if_place`: a name that is only a department, room or ward
  (:func:`~.name_rules.is_location`) is held at :data:`PLACE_CEILING` the same way; a master
  name that looks like a place (輸血部) is still that class.
"""
from __future__ import annotations

from collections.abc import Mapping

from app.core.normalize import base_key, match_key
from app.services.classifications.name_rules import decoration_stripped, is_location

# Heads of names of parts and consumables (compared on match keys, so width and long vowels
# do not matter: センサ = センサー = ｾﾝｻｰ).
PART_WORDS = tuple(sorted({match_key(word) for word in (
    "電極", "電極パッド", "パッド", "対極板", "センサ", "センサー", "プローブ", "カフ", "ケーブル",
    "コード", "リード", "バッテリ", "バッテリー", "バッテリーパック", "電池", "充電器", "アダプタ",
    "アダプター", "ACアダプタ", "回路", "チューブ", "ホース", "フィルタ", "フィルター", "マスク",
    "カテーテル", "トランスデューサ", "トランスデューサー", "ダイアライザ", "ダイアライザー",
    "人工鼻", "人工肺", "記録紙", "用紙", "ヒューズ", "クランプ", "ボトル", "吸引瓶",
    "鉗子", "鑷子", "処置具", "替刃", "ブレード", "チップ", "ライトガイド",
)}, key=len, reverse=True))
# Words that make a name a group of what it says (電極類, 部品一式).
_GROUP_TAILS = tuple(match_key(word) for word in ("類", "一式", "等", "各種"))
# Offered first, confirmed by a person: below AUTO_ACCEPT_THRESHOLD (90) and below what a
# bracket-free name or a lexicon term of the device itself scores.
PART_CEILING = 85.0
PLACE_CEILING = 88.0


def part_word(name: str) -> str | None:
    """The part or consumable word (:data:`PART_WORDS`) that ends ``name`` (its bracket-free
    key, a group word dropped), or None."""
    key = base_key(name)
    for tail in _GROUP_TAILS:
        if key.endswith(tail) and len(key) > len(tail):
            key = key[:-len(tail)]
            break
    return next((word for word in PART_WORDS if key.endswith(word)), None)


def held_if_part(name: str, ranked: list[tuple[int, float]],
                 master_keys: Mapping[int, str]) -> list[tuple[int, float]]:
    """``ranked`` lowered as a whole so its best is at most :data:`PART_CEILING` when ``name``
    is a part or consumable (module docstring); unchanged otherwise. ``master_keys``:
    ``{candidate id: match key of its name}``."""
    word = part_word(name)
    if word is None:
        return ranked
    name_key = base_key(name)
    if any(key and (key.endswith(word) or key == name_key) for key in master_keys.values()):
        return ranked  # 加圧バック is a class of its own, not a part of one
    return _held(ranked, PART_CEILING)


def held_if_place(name: str, ranked: list[tuple[int, float]],
                  master_keys: Mapping[int, str]) -> list[tuple[int, float]]:
    """``ranked`` held at :data:`PLACE_CEILING` when ``name`` is only a place (module
    docstring); unchanged otherwise."""
    key = base_key(decoration_stripped(name) or name)  # AED 外来 is an AED (in the outpatient clinic)
    if not key or not is_location(key) or key in set(master_keys.values()):
        return ranked
    return _held(ranked, PLACE_CEILING)


def _held(ranked: list[tuple[int, float]], ceiling: float) -> list[tuple[int, float]]:
    best = max((score for _, score in ranked), default=0.0)
    if best <= ceiling:
        return ranked
    return [(cid, round(score - (best - ceiling), 1)) for cid, score in ranked]


def held_rows(name: str, ranked: list[tuple[int, float]],
                          candidates: Mapping[int, str] | list[tuple[int, str, str]]) -> list[tuple[int, float]]:
    """:func:`held_if_part` then :func:`held_if_place`; ``candidates`` as
    ``{id: name}`` or suggest's ``[(id, name, key)]``."""
    if part_word(name) is None and not is_location(base_key(decoration_stripped(name) or name)):
        return ranked  # the common case: no candidate keys needed
    if isinstance(candidates, Mapping):
        keys = {cid: match_key(cname) for cid, cname in candidates.items()}
    else:
        keys = {item[0]: (item[2] if len(item) > 2 else match_key(item[1])) for item in candidates}
    return held_if_place(name, held_if_part(name, ranked, keys), keys)


# A parent's suggestion below this is a guess from a shared character or two (ＭＥセンター →
# セントラルモニタ 39): passed to its children it would be offered for every child that says
# nothing itself (ＵＰＳ, ＭＥ管理ソフト). A place (手術部, 検査部) guesses from its words
# (手術顕微鏡 51, 中央検査 57) and holds devices of every kind: only a strong suggestion counts.
PARENT_FLOOR = 50.0
PLACE_PARENT_FLOOR = 70.0


def parent_floor(parent_name: str, parent_top: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
    """The parent's suggestions that are context for its children: those of at least
    :data:`PARENT_FLOOR`, or :data:`PLACE_PARENT_FLOOR` for a parent that is a place."""
    floor = PLACE_PARENT_FLOOR if is_location(base_key(parent_name)) else PARENT_FLOOR
    return tuple(pair for pair in parent_top if pair[1] >= floor)
