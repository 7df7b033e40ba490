"""The one month / Japan-time module (app/months.py)."""
import datetime as dt

from app.core import months


def test_month_arithmetic_and_hours():
    assert months.add_months(dt.date(2025, 1, 1), -1) == dt.date(2024, 12, 1)
    assert months.add_months(dt.date(2025, 11, 1), 14) == dt.date(2027, 1, 1)
    assert months.same_month_last_year(dt.date(2025, 5, 17)) == dt.date(2024, 5, 1)
    assert months.hours_in_month(dt.date(2025, 5, 1)) == 744
    assert months.hours_in_month(dt.date(2024, 2, 1)) == 696
    assert months.months_ending(dt.date(2025, 2, 1), 3) == [
        dt.date(2024, 12, 1), dt.date(2025, 1, 1), dt.date(2025, 2, 1)]


def test_clip_hours_splits_an_interval_across_months():
    start, end = dt.datetime(2025, 4, 30, 12), dt.datetime(2025, 5, 2)
    assert months.clip_hours(start, end, dt.date(2025, 4, 1)) == 12
    assert months.clip_hours(start, end, dt.date(2025, 5, 1)) == 24
    assert months.clip_hours(start, None, dt.date(2025, 5, 1)) == 744
    # open until the end of April only: nothing in May
    assert months.clip_hours(start, None, dt.date(2025, 5, 1), open_until=dt.datetime(2025, 5, 1)) == 0
    assert months.clip_hours(end, start, dt.date(2025, 5, 1)) == 0


def test_parse_month_forms():
    for text in ("2025-05", "2025-05-01", "2025/5", "2025年5月"):
        assert months.parse_month(text) == dt.date(2025, 5, 1)
    for text in ("", "2025-13", "May 2025", None):
        assert months.parse_month(text) is None


def test_times_are_japan_time():
    aware = dt.datetime(2025, 5, 1, 0, 0, tzinfo=dt.UTC)
    assert months.to_jst_wall(aware) == dt.datetime(2025, 5, 1, 9, 0)
    assert months.to_jst_wall(dt.datetime(2025, 5, 1, 9)) == dt.datetime(2025, 5, 1, 9)
    assert months.format_jst(dt.datetime(2026, 11, 30, 20, 5, 7, 123), with_zone=True) == "2026-12-01 05:05 JST"
    assert months.round_to_minute(dt.datetime(2025, 5, 1, 8, 59, 59, 999999)) == dt.datetime(2025, 5, 1, 9, 0)
    assert months.round_to_minute(dt.datetime(2025, 5, 1, 9, 0, 0, 1)) == dt.datetime(2025, 5, 1, 9, 0)
