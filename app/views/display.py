"""How values are shown on screens: one place for times, empty values, yes/no and role names.

- A stored timestamp (naive UTC) is shown in Japan time to the minute (:func:`app.core.months.format_jst`);
  a page that shows one states the zone once, in its footer (``appbuilder/footer.html`` asks
  :func:`times_shown`).
- ``None`` is shown as nothing, a boolean as はい / いいえ, a list joined by 「、」.
- Role names and audit actions are shown by their Japanese labels (English in the en locale).

FAB list / show screens use these through ``formatters_columns`` (set for every column by
:func:`default_formatters`); templates through the Jinja filters ``jst`` and ``shown``.
"""
from __future__ import annotations

import datetime as dt

from flask import g, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.core.months import format_jst
from app.services.stored_messages import display

ZONE_NOTE = _l("時刻はすべて日本時間（JST）です。")
YES = _l("はい")
NO = _l("いいえ")

ROLE_LABELS = {
    "Admin": _l("システム管理者"),
    "Operator": _l("運用担当"),
    "OrgAdmin": _l("組織管理者"),
    "HospitalUser": _l("病院ユーザー"),
    "DealerUser": _l("販売店ユーザー"),
    "ManufacturerUser": _l("メーカーユーザー"),
    "System": _l("システム連携"),
}


def mark_times_shown() -> None:
    if has_request_context():
        g.optiserve_times_shown = True


def times_shown() -> bool:
    return bool(has_request_context() and g.get("optiserve_times_shown"))


def jst(value: dt.datetime | None) -> str:
    """A stored timestamp (naive UTC) as Japan time, ``2026-11-30 10:05``; '' for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        mark_times_shown()
        return format_jst(value)
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def jst_date(value: dt.datetime | None) -> str:
    """The Japan date of a stored timestamp, ``2026-11-30``; '' for None."""
    return jst(value)[:10]


def mark_times() -> str:
    """For templates that show times formatted elsewhere: ``{{ mark_times() }}`` states the zone."""
    mark_times_shown()
    return ""


def reader_locale():
    """The language the current reader chose (Japanese by default)."""
    return get_locale()


def stored_message(row) -> str:
    """An upload's or a report's stored message in the reader's language; a row stored as
    Japanese text only (before app/services/stored_messages.py) shows that text."""
    return display(row.message_parts, row.message, reader_locale())


def role_label(role) -> str:
    name = getattr(role, "name", role)
    return str(ROLE_LABELS.get(name, name))


def shown(value) -> str:
    """Any value as a user reads it (never "None", "True" or microseconds)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(YES if value else NO)
    if isinstance(value, dt.datetime):
        return jst(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return str(_l("、")).join(shown(v) for v in value)
    if type(value).__name__ == "Role":
        return role_label(value)
    return str(value)


def default_formatters(view) -> dict:
    """``formatters_columns`` of ``view`` with :func:`shown` for every listed or shown column
    that has no formatter of its own (a formatter of its own still gets no ``None``)."""
    columns = set(getattr(view, "list_columns", None) or []) | set(getattr(view, "show_columns", None) or [])
    own = dict(getattr(view, "formatters_columns", None) or {})
    formatters = {}
    for column in columns:
        formatter = own.get(column)
        formatters[column] = _guarded(formatter) if formatter else shown
    for column, formatter in own.items():
        formatters.setdefault(column, _guarded(formatter))
    return formatters


BLANK_CHOICE = _l("（選択してください）")


def polish_form(form_class) -> None:
    """FAB's related-field selects: an empty choice labelled in Japanese (FAB shows its value,
    ``__None``) and roles by their Japanese names."""
    from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField

    if form_class is None:
        return
    for name in dir(form_class):
        field = getattr(form_class, name, None)
        field_class = getattr(field, "field_class", None)
        if not isinstance(field_class, type) or not issubclass(field_class, QuerySelectField):
            continue
        if name == "roles":
            field.kwargs["get_label"] = role_label
        if not issubclass(field_class, QuerySelectMultipleField):
            field.kwargs["blank_text"] = BLANK_CHOICE


def _guarded(formatter):
    def format_value(value):
        if value is None:
            return ""
        result = formatter(value)
        return shown(result) if isinstance(result, (bool, dt.datetime)) or result is None else result

    return format_value


# Names the services make up where the data has none (the all-devices scope, devices without a
# classification, an unknown maker or department): app text, shown in the reader's language.
PLACEHOLDER_NAMES = {"全機器": _l("全機器"), "（未分類）": _l("（未分類）"), "未紐付け": _l("未紐付け"),
                     "（不明）": _l("（不明）")}


def placeholder(name):
    """``name`` as shown: a made-up placeholder translated, a real name (data) as it is."""
    return str(PLACEHOLDER_NAMES[name]) if isinstance(name, str) and name in PLACEHOLDER_NAMES else name


def init_app(app) -> None:
    app.add_template_filter(placeholder, "placeholder")
    app.add_template_filter(jst, "jst")
    app.add_template_filter(jst_date, "jst_date")
    app.add_template_filter(shown, "shown")
    app.add_template_global(mark_times, "mark_times")
    app.add_template_filter(role_label, "role_label")
    app.add_template_global(times_shown, "times_shown")
    app.add_template_global(ZONE_NOTE, "zone_note")
