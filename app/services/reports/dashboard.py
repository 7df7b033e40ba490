"""What the dashboard shows, built from stored figures (app/services/reports/stored.py):
headline cards with their coloured changes, the tables of ①–⑥ as rows for the screen and
for CSV / Excel export, and the drill-down from a classification to its devices. Plain
functions: the view passes the hospital and month in, and the reader's language (a
:class:`~app.services.stored_messages.Wording`: headers, figure names, units, hover texts and
fixed labels follow it; names from the data do not). Nothing here reads the request."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models import Equipment, Failure, Lending
from app.services.ledger.device_months import device_in_window, device_windows
from app.services.reports.definitions import FAILURE_FIGURES, LENDING_FIGURES, UNITS_EN, unit_label
from app.services.reports.glossary import definitions
from app.services.reports.sql import clipped, counted_devices, fetch_rows
from app.services.stored_messages import N_, Wording

FIGURES = {"lending": {f.key: f for f in LENDING_FIGURES}, "failure": {f.key: f for f in FAILURE_FIGURES}}
# Headline cards: (section, figure, meaning of "up"): good, bad or neutral.
CARDS = [
    ("lending", "utilization", "good"),
    ("lending", "lendings", "good"),
    ("lending", "lending_hours", "good"),
    ("lending", "lending_ratio", "good"),
    ("failure", "failure_rate", "bad"),
    ("failure", "failed_devices", "bad"),
    ("failure", "failures", "bad"),
    ("lending", "devices", "neutral"),
]
JAPANESE = Wording("ja")
DRILL_LIMIT = 500  # device rows shown on screen (the export has them all)


def fmt(value, unit) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:,.2f}%"
    if unit == "時間" or not float(value).is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def fmt_diff(value, unit) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:+,.2f}pt"
    if unit == "時間":
        return f"{value:+,.1f}"
    return f"{value:+,.0f}" if float(value).is_integer() else f"{value:+,.1f}"


def diff(a, b):
    return None if a is None or b is None else a - b


def definition(section: str, key: str, language: str = "ja") -> str:
    """A figure's hover text in ``language`` (ja or en)."""
    text = definitions(language).get(section, {}).get(key, "")
    if text in ("①と同じ", "as in ①"):
        text = definitions(language).get("lending", {}).get(key, "") + (" (as in ①)" if language == "en"
                                                                         else "（①と同じ）")
    return text


def rows_of(scope: dict, section: str, wording: Wording = JAPANESE, labels: dict | None = None) -> list[dict]:
    """The ① or ② rows of a stored scope with figure, label, formatted values and diffs, in
    ``wording``'s language (``labels``: :func:`labels` of that language, made once)."""
    out = []
    for r in scope[section]:
        figure = FIGURES[section][r["key"]]
        label = labels[section][r["key"]] if labels else figure.label_in(wording.language)
        out.append({**r, "figure": figure, "label": label,
                    "definition": definition(section, r["key"], wording.language),
                    "diff_previous": diff(r["value"], r["previous"]),
                    "diff_last_year": diff(r["value"], r["last_year"]),
                    "diff_mean_12": diff(r["value"], r["mean_12"])})
    return out


def labels(wording: Wording = JAPANESE) -> dict:
    """Each figure's label in ``wording``'s language (made once for a page's many tables)."""
    return {section: {k: f.label_in(wording.language) for k, f in figures.items()}
            for section, figures in FIGURES.items()}


def _change(value, before, unit, meaning, language: str) -> dict:
    d = diff(value, before)
    if d is None:
        return {"text": "—", "tone": "none", "arrow": ""}
    if abs(d) < 1e-12:
        return {"text": fmt_diff(0 if unit != "%" else 0.0, unit), "tone": "flat", "arrow": "→"}
    up = d > 0
    tone = "neutral" if meaning == "neutral" else ("good" if up == (meaning == "good") else "bad")
    text = fmt_diff(d, unit)
    if unit != "%" and before:
        share = f"{d / before * 100:+.1f}%"
        text += f" ({share})" if language == "en" else f"（{share}）"
    return {"text": text, "tone": tone, "arrow": "▲" if up else "▼"}


def cards(data: dict, wording: Wording = JAPANESE) -> list[dict]:
    """The headline cards in ``wording``'s language."""
    language = wording.language
    everything = data["scopes"][0]
    by_key = {section: {r["key"]: r for r in everything[section]} for section in ("lending", "failure")}
    out = []
    for section, key, meaning in CARDS:
        r = by_key[section][key]
        figure = FIGURES[section][key]
        out.append({"section": section, "key": key, "label": figure.name_in(language), "unit": figure.unit,
                    "unit_label": unit_label(figure.unit, language),
                    "value": fmt(r["value"], figure.unit), "raw": r["value"], "meaning": meaning,
                    "definition": definition(section, key, language),
                    "previous": _change(r["value"], r["previous"], figure.unit, meaning, language),
                    "last_year": _change(r["value"], r["last_year"], figure.unit, meaning, language)})
    return out


def has_data(data: dict) -> bool:
    """Whether the month has any figure at all (else the screen says データがありません)."""
    everything = data["scopes"][0]
    return any(r["value"] is not None for r in everything["lending"] + everything["failure"])


# ------------------------------------------------------------------ tables (screen and export)

TABLES = {
    "lending": N_("① 貸出サマリー"), "failure": N_("② 故障サマリー"), "trend": N_("13か月推移"),
    "life": N_("③ 残耐用年数別の台数と貸出時間"), "models_near_end": N_("④ 更新対象機種"),
    "top_models": N_("⑤ 1回あたり貸出時間の上位機種"), "ranking": N_("⑥ 稼働率ランキング"), "devices": N_("機器一覧"),
}
# ③'s buckets by key (the stored label is Japanese); other keys are whole years.
LIFE_LABELS = {"expired": N_("期限切れ"), "0": N_("1年未満"), "10+": N_("10年以上"), "unknown": N_("使用期限なし")}


def life_label(row: dict, wording: Wording = JAPANESE) -> str:
    """A ③ bucket's label in ``wording``'s language."""
    bucket = row.get("bucket")
    if bucket in LIFE_LABELS:
        return wording.text(LIFE_LABELS[bucket])
    return wording.text(N_("%(n)s年"), n=bucket) if str(bucket).isdigit() else row["label"]


def _figure_name(figure, wording: Wording) -> str:
    return figure.en if wording.language == "en" else figure.ja


def _unit(unit: str, wording: Wording) -> str:
    return UNITS_EN.get(unit, unit) if wording.language == "en" else unit


def _figure_with_unit(figure, wording: Wording) -> str:
    """A trend column: 稼働率 / 貸出回数（回）, Utilization / Lendings (times)."""
    name, unit = _figure_name(figure, wording), _unit(figure.unit, wording)
    return f"{name}（{unit}）" if wording.language == "ja" else f"{name} ({unit})"


def _number(value, unit=None):
    """A value for a CSV / Excel cell: percentages as percent numbers, hours to 0.1."""
    if value is None:
        return ""
    if unit == "%":
        return round(value * 100, 2)
    if isinstance(value, float):
        return round(value, 1) if unit == "時間" or not value.is_integer() else int(value)
    return value


def scope_of(data: dict, key: str | None) -> dict | None:
    key = key or "all"
    return next((s for s in data["scopes"] if s["key"] == key), None)


def table(data: dict, name: str, scope_key: str | None = None,
          wording: Wording = JAPANESE) -> tuple[list[str], list[list]] | None:
    """(header, rows) of one of the dashboard's tables, None when unknown."""
    scope = scope_of(data, scope_key)
    if scope is None:
        return None
    found = _table(data, scope, name, wording)
    if found is None:
        return None
    header, rows = found
    return [_heading(wording.text(title)) for title in header], rows


def _heading(text: str) -> str:
    """A column heading: the catalog's "previous month" (said inside sentences) capitalized;
    "vs. …" stays as the screen's headings write it."""
    return text[:1].upper() + text[1:] if text[:1].islower() and not text.startswith("vs.") else text


def _table(data: dict, scope: dict, name: str, wording: Wording) -> tuple[list[str], list[list]] | None:
    """(header msgids, rows) of a table."""
    if name in ("lending", "failure"):
        header = [N_("項目"), N_("単位"), N_("当月"), N_("前月"), N_("前年同月"), N_("過去12か月平均"), N_("前月差"),
                  N_("前年同月差"), N_("12か月平均差")]
        rows = []
        for r in rows_of(scope, name, wording):
            unit = r["figure"].unit
            rows.append([_figure_name(r["figure"], wording), _unit(unit, wording)] + [
                _number(r[k], unit) for k in ("value", "previous", "last_year", "mean_12", "diff_previous",
                                              "diff_last_year", "diff_mean_12")])
        return header, rows
    if name == "trend":
        figures = [(s, r) for s in ("lending", "failure") for r in rows_of(scope, s, wording)
                   if not (s == "failure" and r["key"] == "devices")]
        header = [N_("年月")] + [_figure_with_unit(r["figure"], wording) for _, r in figures]
        rows = [[m[:7]] + [_number(r["trend"][i], r["figure"].unit) for _, r in figures]
                for i, m in enumerate(data["months"])]
        return header, rows
    if name == "life":
        return ([N_("残耐用年数"), N_("機器台数"), N_("合計貸出時間")],
                [[life_label(r, wording), r["devices"], _number(r["lending_hours"], "時間")] for r in scope["life"]])
    if name == "models_near_end":
        return ([N_("メーカー"), N_("型番"), N_("製品名"), N_("機器台数"), N_("残耐用1年以内の台数"), N_("割合（%）")],
                [[m["maker"], m["model"], m["product"] or "", m["devices"], m["near_end"], _number(m["share"], "%")]
                 for m in scope["models_near_end"]])
    if name == "top_models":
        return ([N_("順位"), N_("メーカー"), N_("型番"), N_("製品名"), N_("貸出回数"), N_("合計貸出時間"),
                 N_("1回あたり貸出時間"), N_("利用部署（割合）")],
                [[i, m["maker"], m["model"], m["product"] or "", m["lendings"], _number(m["hours"], "時間"),
                  _number(m["hours_per_lending"], "時間"),
                  wording.text(N_("、")).join(f"{d['department']} {d['share'] * 100:.1f}%" for d in m["departments"])]
                 for i, m in enumerate(scope["top_models"], 1)])
    if name == "ranking":
        return ([N_("順位"), N_("機器分類"), N_("機器台数"), N_("当月貸出時間"), N_("稼働率（%）"), N_("前月順位"),
                 N_("前年同月順位")],
                [[r["rank"], r["name"], r["devices"], _number(r["lending_hours"], "時間"),
                  _number(r["utilization"], "%"), r["previous_rank"] or "", r["last_year_rank"] or ""]
                 for r in data["ranking"]])
    return None


# ------------------------------------------------------------------ drill-down

def groups_for(data: dict, scope_key: str | None, cls: str | None):
    """The classification groups a drill-down covers: a scope's (``scope_key``) or one
    classification of the ranking (``cls``: its id, or "none" for 未分類). ``False`` when
    neither names something of this month's figures; None = every device."""
    if cls is not None:
        known = {r["classification_id"] for r in data["ranking"]}
        value = None if cls == "none" else int(cls) if cls.isdigit() else -1
        if value not in known:
            return False
        return [value]
    scope = scope_of(data, scope_key)
    if scope is None:
        return False
    return scope["groups"]


def drill_title(data: dict, scope_key: str | None, cls: str | None) -> str:
    if cls is not None:
        return next((r["name"] for r in data["ranking"] if str(r["classification_id"] or "none") == cls), "")
    return scope_of(data, scope_key)["name"]


def devices(hospital_id: int, month: dt.date, level: int, grouping: str, groups) -> list[dict]:
    """The month's devices (device in M) of ``groups`` (None = all; a None member =
    未分類) with their lendings, lending hours, utilization, failures and failure hours in the
    month — the rows behind a classification's figures."""
    from app.core.months import hours_in_month

    windows = device_windows([month], [hospital_id])
    pool = counted_devices(hospital_id, level, grouping=grouping)
    query = (select(pool.c.equipment_id, pool.c.cls).select_from(windows)
             .join(pool, device_in_window(windows, pool.c)))
    if groups is not None:
        named = [g for g in groups if g is not None]
        condition = pool.c.cls.in_(named) if named else None
        if None in groups:
            condition = pool.c.cls.is_(None) if condition is None else condition | pool.c.cls.is_(None)
        query = query.where(condition)
    chosen = dict(fetch_rows(query))
    # Three plain grouped queries merged here: joined as subqueries SQLite re-reads the
    # events once per device.
    lend_overlap, lend_hours = clipped(Lending.lent_at, Lending.returned_at, windows)
    lent = {e: (n, h) for e, n, h in fetch_rows(
        select(Lending.equipment_id, func.count(Lending.id), func.sum(lend_hours))
        .select_from(Lending).join(windows, lend_overlap).where(Lending.hospital_id == hospital_id)
        .group_by(Lending.equipment_id))}
    fail_overlap, fail_hours = clipped(Failure.failed_at, Failure.repaired_at, windows)
    failed = {e: (n, h) for e, n, h in fetch_rows(
        select(Failure.equipment_id, func.count(Failure.id), func.sum(fail_hours))
        .select_from(Failure).join(windows, fail_overlap).where(Failure.hospital_id == hospital_id)
        .group_by(Failure.equipment_id))}
    rows = []
    if chosen:
        for e in db.session.execute(
                select(Equipment.id, Equipment.device_number, Equipment.product_name, Equipment.maker_name,
                       Equipment.model_number, Equipment.department_use)
                .where(Equipment.hospital_id == hospital_id).order_by(Equipment.device_number)):
            if e[0] in chosen:
                rows.append((*e, *lent.get(e[0], (0, 0.0)), *failed.get(e[0], (0, 0.0))))
    H = hours_in_month(month)
    return [{"id": i, "device_number": number, "product": product or "", "maker": maker or "", "model": model or "",
             "department": department or "", "lendings": ln or 0, "lending_hours": lh or 0.0,
             "utilization": (lh or 0.0) / H, "failures": fn or 0, "failure_hours": fh or 0.0}
            for i, number, product, maker, model, department, ln, lh, fn, fh in rows]


DEVICE_HEADER = [N_("機器番号"), N_("製品名"), N_("メーカー"), N_("型番"), N_("利用部門"), N_("貸出回数"),
                 N_("合計貸出時間"), N_("稼働率（%）"), N_("故障回数"), N_("合計故障時間")]


def device_header(wording: Wording = JAPANESE) -> list[str]:
    return [_heading(wording.text(title)) for title in DEVICE_HEADER]


def device_rows(found: list[dict]) -> list[list]:
    return [[d["device_number"], d["product"], d["maker"], d["model"], d["department"], d["lendings"],
             _number(d["lending_hours"], "時間"), _number(d["utilization"], "%"), d["failures"],
             _number(d["failure_hours"], "時間")] for d in found]
