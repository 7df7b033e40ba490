"""Revisable months: what a published version of a hospital-month was made from, and what
changed since.

Each published version stores a *snapshot* of its figures — per scope (all devices, each
report classification) the value of every ① / ② figure with its comparisons, the ⑥
ranking, and digests of ③–⑤ and of the two lists. Detecting a revision is then independent
of how the ingest stores events: recompute the month, take the snapshot again and compare.

Only what the two snapshots have in common is compared (scopes by key, ranking rows by
classification): a change of the report selection or of the grouping is a change of
presentation, not of the month's data, and does not by itself revise published months —
the next version made for a data change shows the new presentation.
"""
from __future__ import annotations

import hashlib
import json
import math

from app.services.reports.definitions import FAILURE_FIGURES, LENDING_FIGURES, UNITS_EN
from app.services.reports.figures import HospitalMonthFigures
from app.services.stored_messages import N_, Wording

SNAPSHOT_FORMAT = 1
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-9  # hours; float sums in a different order differ by far less


COMPARISONS = {"previous": N_("前月"), "last_year": N_("前年同月"), "mean_12": N_("過去12か月平均")}
# The figures a revision mail names first (the owner's headline), in this order.
HEADLINE = ["utilization", "lendings", "lending_hours", "failure_rate", "failed_devices"]
FIGURES = {f.key: f for f in LENDING_FIGURES + FAILURE_FIGURES}


def _rounded(value):
    """Floats rounded for digests, so a sum added in another order hashes the same."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def digest(value) -> str:
    text = json.dumps(_rounded(value), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def take_snapshot(figures: HospitalMonthFigures, failure_rows=(), no_activity_rows=()) -> dict:
    """The snapshot of one computed hospital-month (JSON-serializable)."""
    scopes = []
    for part in figures.scopes:
        rows = part.lending + part.failure
        entry = {"key": part.scope.key, "name": part.scope.name,
                 "figures": {r.figure.key: r.value for r in rows}}
        for column in COMPARISONS:
            entry[column] = {r.figure.key: getattr(r, column) for r in rows}
        entry["sections"] = digest([part.life, part.models_near_end, part.top_models])
        scopes.append(entry)
    ranking = [{"id": r["classification_id"], "name": r["name"], "rank": r["rank"], "devices": r["devices"],
                "lending_hours": r["lending_hours"], "utilization": r["utilization"]} for r in figures.ranking]
    return {"format": SNAPSHOT_FORMAT, "level": figures.level, "scopes": scopes, "ranking": ranking,
            "lists": {"failure": digest(list(failure_rows)), "no_activity": digest(list(no_activity_rows))}}


def same(old, new) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return math.isclose(old, new, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    return old == new


def compare(old: dict, new: dict) -> list[dict]:
    """What differs between two snapshots of one hospital-month; [] = the same figures.

    Each change is a dict: ``kind`` figure (a value of ① / ②), comparison (a previous-month,
    last-year or 12-month-mean value), ranking, section (③–⑤) or list; with ``scope``,
    ``figure`` / ``column`` and ``old`` / ``new`` where they apply.
    """
    changes: list[dict] = []
    new_scopes = {s["key"]: s for s in new.get("scopes", [])}
    for before in old.get("scopes", []):
        after = new_scopes.get(before["key"])
        if after is None:
            continue
        scope = {"scope": after["name"], "scope_key": after["key"]}
        for key, value in after["figures"].items():
            if key in before["figures"] and not same(before["figures"][key], value):
                changes.append({"kind": "figure", **scope, "figure": key, "old": before["figures"][key],
                                "new": value})
        for column in COMPARISONS:
            for key, value in after.get(column, {}).items():
                if key in before.get(column, {}) and not same(before[column][key], value):
                    changes.append({"kind": "comparison", **scope, "column": column, "figure": key,
                                    "old": before[column][key], "new": value})
        if before.get("sections") != after.get("sections"):
            changes.append({"kind": "section", **scope})
    if old.get("level") == new.get("level"):
        new_ranking = {r["id"]: r for r in new.get("ranking", [])}
        for before in old.get("ranking", []):
            after = new_ranking.get(before["id"])
            if after is None:
                continue
            for field in ("rank", "devices", "lending_hours", "utilization"):
                if not same(before[field], after[field]):
                    changes.append({"kind": "ranking", "scope": after["name"], "figure": field,
                                    "old": before[field], "new": after[field]})
    for name, value in new.get("lists", {}).items():
        if name in old.get("lists", {}) and old["lists"][name] != value:
            changes.append({"kind": "list", "list": name})
    return changes


# ------------------------------------------------------------------ describing a revision
# The snapshots and changes are language-neutral (keys, numbers, classification names); the
# lines are made when read: Japanese for the revision mail, the reader's language on screen 4.

def format_value(value, unit: str, english: bool = False) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:,.2f}%"
    written = f" {UNITS_EN.get(unit, unit)}" if english else unit
    if unit == "時間":
        return f"{value:,.1f}{written}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}{written}"
    return f"{value:,.0f}{written}"


def _headline_order(change: dict):
    key = change.get("figure")
    return (change.get("scope_key") != "all", HEADLINE.index(key) if key in HEADLINE else len(HEADLINE),
            change.get("scope", ""), key or "")


LIST_NAMES = {"failure": N_("故障リスト"), "no_activity": N_("未実績リスト")}
ALL_DEVICES = N_("全機器")  # the snapshot keeps the all-devices scope's name in Japanese


def describe(changes: list[dict], limit: int = 30, locale=None) -> list[str]:
    """Lines for the revision mail and screen 4: the changed figures of the month, headline
    figures of all devices first (``全機器 稼働率: 11.09% → 11.50%``), then a line each
    for changed comparisons, ③–⑤, the ranking and the lists.

    In Japanese unless ``locale`` (a Babel locale or its name) says otherwise: the mail
    keeps the default, the screen passes the reader's language."""
    wording = Wording(locale)
    return _describe(changes, limit, wording.text, english=wording.language == "en")


def _describe(changes: list[dict], limit: int, translate, english: bool) -> list[str]:
    def scope_name(change: dict) -> str:
        return translate(ALL_DEVICES) if change.get("scope_key") == "all" else change["scope"]

    figures = sorted((c for c in changes if c["kind"] == "figure"), key=_headline_order)
    lines = []
    for c in figures[:limit]:
        figure = FIGURES[c["figure"]]
        name = figure.en if english else figure.ja
        lines.append(f"{scope_name(c)} {name}: {format_value(c['old'], figure.unit, english)} → "
                     f"{format_value(c['new'], figure.unit, english)}")
    if len(figures) > limit:
        lines.append(translate(N_("ほか %(count)s 項目"), count=len(figures) - limit))
    compared = sorted({c["column"] for c in changes if c["kind"] == "comparison"}, key=list(COMPARISONS).index)
    if compared:
        columns = (", " if english else "・").join(translate(COMPARISONS[c]) for c in compared)
        lines.append(translate(N_("比較対象（%(columns)s）の値"), columns=columns))
    ranking = [c for c in changes if c["kind"] == "ranking"]
    for c in [c for c in ranking if c["figure"] == "rank"][:10]:
        lines.append(translate(N_("⑥稼働率ランキング %(name)s: %(old)s位 → %(new)s位"),
                               name=c["scope"], old=c["old"], new=c["new"]))
    if ranking and not any(c["figure"] == "rank" for c in ranking):
        lines.append(translate(N_("⑥稼働率ランキングの数値")))
    sections = sorted({scope_name(c) for c in changes if c["kind"] == "section"})
    if sections:
        lines.append(translate(N_("③残耐用年数・④更新対象機種・⑤貸出時間上位機種（%(scopes)s）"),
                               scopes=(", " if english else "、").join(sections)))
    for c in changes:
        if c["kind"] == "list":
            lines.append(translate(LIST_NAMES[c["list"]]) if c["list"] in LIST_NAMES else c["list"])
    return lines
