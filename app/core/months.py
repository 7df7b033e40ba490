"""Months and Japan time, written once.

Two kinds of time live in OptiServe:
- *event times* (a lending's 貸出日時, a failure's 故障日) are wall-clock Japan time, stored
  naive, exactly as the hospital's ME system wrote them (an input with an offset is converted
  to JST first: :func:`to_jst_wall`);
- *stored timestamps* (uploaded at, downloaded at, audit) are naive UTC (:func:`utc_now`) and
  shown to users in JST (:func:`utc_to_jst`).

"Today" and the default month are Japan's, whatever the server's zone.

A month is the ``datetime.date`` of its first day. Month M is the half-open interval
[00:00 on the 1st, 00:00 on the 1st of the next month); its hours are days × 24.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC

_MONTH_TEXT = re.compile(r"^\s*(\d{4})[-/年](\d{1,2})(?:[-/月](\d{1,2})?日?)?月?\s*$")


# ---------------------------------------------------------------- clocks

def utc_now() -> dt.datetime:
    """Naive UTC, second precision: the form stored timestamps are kept in."""
    return dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def jst_now() -> dt.datetime:
    return dt.datetime.now(JST)


def jst_today() -> dt.date:
    return jst_now().date()


def current_month() -> dt.date:
    """The month Japan is in now."""
    return first_of_month(jst_today())


def utc_to_jst(value: dt.datetime | None) -> dt.datetime | None:
    """A stored (naive UTC) timestamp as an aware JST datetime, for display."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(JST)


def format_jst(value: dt.datetime | None, with_zone: bool = False) -> str:
    """``2026-11-30 10:05`` (minutes, never microseconds) in JST; '' for None."""
    local = utc_to_jst(value)
    if local is None:
        return ""
    text = local.strftime("%Y-%m-%d %H:%M")
    return f"{text} JST" if with_zone else text


def to_jst_wall(value: dt.datetime) -> dt.datetime:
    """An event time as naive JST wall-clock time: an aware value (``…Z``, ``+00:00``) is
    converted to JST, a naive one is taken as already JST."""
    if value.tzinfo is None:
        return value
    return value.astimezone(JST).replace(tzinfo=None)


def round_to_minute(value: dt.datetime) -> dt.datetime:
    """Excel serial times carry ±1 µs of float error: round to the nearest minute, the
    precision events are identified at."""
    base = value.replace(second=0, microsecond=0)
    if value - base >= dt.timedelta(seconds=30):
        base += dt.timedelta(minutes=1)
    return base


# ---------------------------------------------------------------- months

def first_of_month(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months after ``month`` (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def previous_month(month: dt.date | None = None) -> dt.date:
    """The month before ``month``; by default the month before Japan's current month."""
    return add_months(first_of_month(month) if month else current_month(), -1)


def same_month_last_year(month: dt.date) -> dt.date:
    return add_months(first_of_month(month), -12)


def months_ending(month: dt.date, count: int) -> list[dt.date]:
    """``count`` months, oldest first, ending with ``month``."""
    month = first_of_month(month)
    return [add_months(month, i - count + 1) for i in range(count)]


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month as naive wall-clock datetimes."""
    month = first_of_month(month)
    return dt.datetime.combine(month, dt.time()), dt.datetime.combine(add_months(month, 1), dt.time())


def hours_in_month(month: dt.date) -> int:
    start, end = month_bounds(month)
    return int((end - start).total_seconds() // 3600)


def clip_hours(start: dt.datetime, end: dt.datetime | None, month: dt.date,
               open_until: dt.datetime | None = None) -> float:
    """Hours of the interval [start, end) inside ``month``.

    An interval with no known end runs to ``open_until`` (the end of the last month whose file
    listed it open) when given, else to the end of the month. An interval that ends before
    it starts is bad data and counts 0.
    """
    month_start, month_end = month_bounds(month)
    if end is None:
        end = open_until if open_until is not None else month_end
    elif end < start:
        return 0.0
    lo, hi = max(start, month_start), min(end, month_end)
    return max((hi - lo).total_seconds() / 3600.0, 0.0)


def parse_month(text: str | dt.date | None) -> dt.date | None:
    """``2025-05``, ``2025-05-01``, ``2025/5`` or ``2025年5月`` → 2025-05-01; None for blank or
    malformed text (callers say what was wrong in their own words)."""
    if text is None:
        return None
    if isinstance(text, dt.date):
        return first_of_month(text)
    match = _MONTH_TEXT.match(str(text))
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        return None
    return dt.date(year, month, 1)


def month_label(month: dt.date) -> str:
    """``2025年5月``."""
    return f"{month.year}年{month.month}月"
