"""Cell values → Python values: text, dates, datetimes, numbers.

Cells arrive as ``str`` (CSV) or as calamine's types (str, int, float, bool, date,
datetime, time, timedelta). Every parser raises :class:`CellValueError` (a ValueError) with
the reason it cannot read a value, kept as a msgid and params so that the rejected-rows file
can say it in its reader's language (str() is the Japanese); blank cells give None. The common forms take a fast path
(``datetime.fromisoformat``), the rest a regular expression; results are memoized because
exports repeat the same dates thousands of times.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from app.core.months import round_to_minute, to_jst_wall
from app.core.normalize import normalize_text, unescape_formula
from app.services.stored_messages import N_, Wording, translated

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Gregorian year of each era's first year, by initial and by name.
ERAS = {"M": 1867, "T": 1911, "S": 1925, "H": 1988, "R": 2018,
        "明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
ERA_NAMES = {"M": N_("明治"), "T": N_("大正"), "S": N_("昭和"), "H": N_("平成"), "R": N_("令和")}
# First and last day of each era (明治 counts from 1 January 1868, as the law made it).
ERA_SPANS = {
    "明治": (dt.date(1868, 1, 1), dt.date(1912, 7, 29)),
    "大正": (dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    "昭和": (dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    "平成": (dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "令和": (dt.date(2019, 5, 1), None),
}
# What Excel shows (and CSV exports write) for a formula that has no value.
EXCEL_ERRORS = frozenset({
    "#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!",
})
_ERA_RE = re.compile(
    r"^(明治|大正|昭和|平成|令和|[MTSHR])\s*(\d{1,2}|元)\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?"
    r"(?:\s+(.*))?$", re.IGNORECASE)
_YMD_RE = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?(?:[\sT]+(.*))?$")
_TIME_RE = re.compile(r"^(\d{1,2})\s*[:時]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?\s*分?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2})(?::?(\d{2}))?)?$")
MAX_SERIAL = 2958465  # 9999-12-31

_memo: dict[str, dt.datetime | None] = {}


class CellValueError(ValueError):
    """A value that is not what the column holds; ``reason`` is a ``translated`` param."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid)
        self.reason = translated(msgid, **params)

    def __str__(self) -> str:
        return Wording("ja").value(self.reason)


def _not_a_date(value) -> CellValueError:
    return CellValueError(N_("日付として読めません: %(value)s"), value=str(value))


def cell_reason(error: ValueError, value) -> dict:
    """Why ``value`` could not be read, as a ``translated`` param (a ValueError from elsewhere
    than this module's parsers, e.g. a date out of Python's range, reads "not a date")."""
    return error.reason if isinstance(error, CellValueError) else _not_a_date(value).reason


class EraError(CellValueError):
    """A Japanese-era date that names no real day (令和0年, 令和元年2月1日, 平成32年)."""


def _era_date(raw: str, era: str, year_text: str, month: int, day: int, rest: str | None) -> dt.datetime:
    name = ERA_NAMES.get(era.upper(), era)
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        raise EraError(N_("%(era)s0年はありません（元年が1年です）: %(value)s"), era=translated(name), value=raw)
    first, last = ERA_SPANS[name]
    try:
        moment = _build(ERAS[name] + year, month, day, rest)
    except ValueError:
        raise _not_a_date(raw) from None
    if moment.date() < first or last is not None and moment.date() > last:
        raise EraError(N_("%(era)sの期間（%(first)s〜%(last)s）にない日付です: %(value)s"), era=translated(name),
                       first=_day(first), last=_day(last) if last else "", value=raw)
    return moment


def _day(day: dt.date) -> dict:
    return translated(N_("%(year)s年%(month)s月%(day)s日"), year=day.year, month=day.month, day=day.day)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str | None:
    """A text cell, normalized; numbers from workbooks lose a spurious ``.0``; a formula-like
    text written with a leading apostrophe (our CSV exports, app/views/csv_export.py) loses
    the apostrophe."""
    if type(value) is str:
        if value[:1] == "'":
            value = unescape_formula(value)
        return normalize_text(value) or None
    if value is None:
        return None
    if isinstance(value, float):
        value = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, (int, bool)):
        value = str(value)
    elif isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    cleaned = normalize_text(value)
    return cleaned or None


def _from_serial(number: float) -> dt.datetime:
    if not 1 <= number <= MAX_SERIAL:
        raise _not_a_date(number)
    return EXCEL_EPOCH + dt.timedelta(days=number)


def _time_part(rest: str | None) -> dt.time:
    if not rest:
        return dt.time()
    match = _TIME_RE.match(rest.strip())
    if not match:
        raise ValueError
    hour, minute = int(match.group(1)), int(match.group(2))
    second = float(match.group(3) or 0)
    if hour == 24 and minute == 0 and second == 0:
        raise OverflowError  # 24:00 is the next day's midnight; handled by the caller
    return dt.time(hour, minute, int(second))


def _build(year: int, month: int, day: int, rest: str | None) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date(year, month, day), _time_part(rest))
    except OverflowError:
        return dt.datetime(year, month, day) + dt.timedelta(days=1)


def _parse_string(raw: str) -> dt.datetime:
    s = raw.strip()
    try:
        moment = dt.datetime.fromisoformat(s.replace("/", "-"))
        # An offset (…Z, +09:00) is converted to Japan wall-clock time, never cut off.
        return moment if moment.tzinfo is None else to_jst_wall(moment)
    except ValueError:
        pass
    s = unicodedata.normalize("NFKC", s).strip()
    try:
        match = _YMD_RE.match(s)
        if match:
            return _build(int(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4))
        match = _ERA_RE.match(s)
        if match:
            return _era_date(raw, match.group(1), match.group(2), int(match.group(3)),
                             int(match.group(4)), match.group(5))
        match = _COMPACT_RE.match(s)
        if match:
            y, m, d, hh, mm, ss = match.groups()
            moment = dt.datetime(int(y), int(m), int(d))
            return moment.replace(hour=int(hh or 0), minute=int(mm or 0), second=int(ss or 0))
        if re.fullmatch(r"\d{5}(\.\d+)?", s):
            return _from_serial(float(s))
    except EraError:
        raise
    except ValueError:
        pass
    raise _not_a_date(raw)


def parse_datetime(value) -> dt.datetime | None:
    """A date/time cell: 2023/04/01 10:30, 2023-4-1, 20230401, R5.4.1, 令和5年4月1日,
    H31.4.30, 令和元年5月1日, Excel serials, calamine date/datetime values."""
    if type(value) is str:
        found = _memo.get(value)
        if found is not None:
            return found
        if not value or value.isspace():
            return None
        found = _parse_string(value)
        if len(_memo) > 200_000:
            _memo.clear()
        _memo[value] = found
        return found
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return to_jst_wall(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise _not_a_date(value)
    if isinstance(value, (int, float)):
        return _from_serial(float(value))
    if not isinstance(value, str):
        raise _not_a_date(value)
    if not value or value.isspace():
        return None
    found = _memo.get(value)
    if found is None:
        found = _parse_string(value)
        if len(_memo) > 200_000:
            _memo.clear()
        _memo[value] = found
    return found


def event_time(value) -> dt.datetime | None:
    """A lending's or failure's time: :func:`parse_datetime` to the minute, the precision
    events are identified at (Excel serials carry ±1 µs of float error; seconds round)."""
    moment = parse_datetime(value)
    if moment is not None and (moment.second or moment.microsecond):
        return round_to_minute(moment)
    return moment


def parse_date(value) -> dt.date | None:
    moment = parse_datetime(value)
    return None if moment is None else moment.date()
