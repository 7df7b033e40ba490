"""SQL building blocks of the report figures, written once for SQLite and PostgreSQL.

Hours between two timestamps are the only dialect-specific piece (``julianday`` on SQLite,
``extract(epoch …)`` on PostgreSQL); everything else is portable SQLAlchemy Core. Intervals
are clipped to a month window with CASE expressions, so a lending that crosses a month
boundary contributes only its hours inside each month.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Float

from app.core.months import add_months, hours_in_month, month_bounds  # noqa: F401 (re-exported for callers)
from app.extensions import db
from app.models import Classification, Equipment, Maker
from app.services.ledger.device_months import effective_counts


def plain_number(value):
    """PostgreSQL returns sums as Decimal; figures are plain ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def fetch_rows(query) -> list[tuple]:
    return [tuple(plain_number(v) for v in row) for row in db.session.execute(query)]


class hours_between(FunctionElement):
    """``hours_between(start, end)``: hours from ``start`` to ``end`` as a float."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return "(EXTRACT(EPOCH FROM (%s - %s)) / 3600.0)" % (
        compiler.process(end, **kw), compiler.process(start, **kw),
    )


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    # julianday() differences carry ~1e-8 h of float error (days since 4714 BC); rounding to
    # whole milliseconds first makes the hours exact to the last bit, as on PostgreSQL.
    return "(ROUND((julianday(%s) - julianday(%s)) * 86400000.0) / 3600000.0)" % (
        compiler.process(end, **kw), compiler.process(start, **kw),
    )


def month_start(month: dt.date) -> dt.datetime:
    return month_bounds(month)[0]


def month_windows(months: list[dt.date]):
    """A subquery with one row per month: ``idx`` (position in ``months``), ``ms``, ``me``."""
    rows = [
        select(
            literal(i, Integer).label("idx"),
            literal(month_start(m), DateTime).label("ms"),
            literal(month_start(add_months(m, 1)), DateTime).label("me"),
        )
        for i, m in enumerate(months)
    ]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("months")


def effective_end(end_col, open_until=None):
    """The end an interval counts to: its known end, else ``open_until`` — the end of the
    last month whose file listed it as open (by default the ``open_until`` column of the
    end column's model). NULL when neither is known: the interval then counts nowhere."""
    if open_until is None:
        open_until = end_col.class_.open_until
    return func.coalesce(end_col, open_until)


def overlap_condition(start_col, end_col, lower, upper, open_until=None):
    """The interval start → effective end overlaps [lower, upper). An interval that ends
    before it starts (bad data, or an open one last listed before it started) is left out."""
    end_raw = effective_end(end_col, open_until)
    return and_(start_col < upper, end_raw > lower, end_raw >= start_col)


def clipped(start_col, end_col, window, open_until=None):
    """(overlap condition, hours inside the window) of the interval start → end.

    The one SQL copy of the interval rule (docs/figures.md): an interval with no known end
    runs to the end of the last month whose file listed it as open (``open_until``), not
    beyond — after that its end is unknown (返却日不明 / 修理日不明) and it counts nowhere;
    one that started before the window counts from the window's start.
    """
    end_raw = effective_end(end_col, open_until)
    start_c = case((start_col < window.c.ms, window.c.ms), else_=start_col)
    end_c = case((end_raw > window.c.me, window.c.me), else_=end_raw)
    overlaps = overlap_condition(start_col, end_col, window.c.ms, window.c.me, open_until)
    return overlaps, hours_between(start_c, end_c)


def level_ancestor(level: int):
    """(expression, joins) giving the ancestor at ``level`` of a device's effective
    classification (override first), NULL when the device's classification is shallower."""
    c0, c1, c2 = aliased(Classification), aliased(Classification), aliased(Classification)
    effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    expression = case(
        (c0.level == level, c0.id),
        (c1.level == level, c1.id),
        (c2.level == level, c2.id),
        else_=None,
    )
    joins = [(c0, c0.id == effective), (c1, c1.id == c0.parent_id), (c2, c2.id == c1.parent_id)]
    return expression, joins


GROUPINGS = ("own", "smds")


def smds_ancestor(level: int):
    """(expression, joins) giving, at ``level`` of the SMDS master, the SMDS classification
    a device's effective classification is mapped to (screen 7) — or, unmapped, that of its
    nearest mapped ancestor. NULL when nothing on the path is mapped: （未分類）."""
    c0, c1, c2 = aliased(Classification), aliased(Classification), aliased(Classification)
    s0, s1, s2 = aliased(Classification), aliased(Classification), aliased(Classification)
    effective = func.coalesce(Equipment.override_classification_id, Equipment.classification_id)
    mapped = func.coalesce(c0.smds_classification_id, c1.smds_classification_id, c2.smds_classification_id)
    expression = case(
        (s0.level == level, s0.id),
        (s1.level == level, s1.id),
        (s2.level == level, s2.id),
        else_=None,
    )
    joins = [(c0, c0.id == effective), (c1, c1.id == c0.parent_id), (c2, c2.id == c1.parent_id),
             (s0, s0.id == mapped), (s1, s1.id == s0.parent_id), (s2, s2.id == s1.parent_id)]
    return expression, joins


def device_group(level: int, grouping: str = "own"):
    """The one grouping expression of the reports: the device's own classification at
    ``level`` (``own``, the default) or its mapped SMDS classification (``smds``)."""
    return smds_ancestor(level) if grouping == "smds" else level_ancestor(level)


def counted_devices(hospital_id: int, level: int, grouping: str = "own"):
    """Subquery of the hospital's devices with their report classification (``cls``, see
    :func:`device_group`) and the columns "device in M" reads
    (app/device_months.device_in_window): join it to a row of ``device_windows`` with
    ``device_in_window(windows, devices.c)`` to keep the devices of that month."""
    cls, joins = device_group(level, grouping)
    query = select(
        Equipment.id.label("equipment_id"),
        cls.label("cls"),
        func.coalesce(Maker.name, Equipment.maker_name, "").label("maker"),
        func.coalesce(Equipment.model_number, "").label("model"),
        Equipment.product_name.label("product"),
        Equipment.expires_on.label("expires_on"),
        Equipment.department_use.label("department_use"),
        effective_counts.label("counts"),
        Equipment.id, Equipment.hospital_id, Equipment.delivered_on, Equipment.disposed_on,
        Equipment.override_counts, Equipment.default_counts,
    ).select_from(Equipment)
    for target, condition in joins:
        query = query.outerjoin(target, condition)
    query = query.outerjoin(Maker, Maker.id == Equipment.maker_id)
    return query.where(Equipment.hospital_id == hospital_id).subquery("devices")


def anniversary(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


LIFE_BUCKETS = ["expired", *[str(n) for n in range(10)], "10+", "unknown"]


def life_bucket(expires_col, reference: dt.date):
    """Remaining useful life in whole years from ``reference`` to 使用期限, as a bucket key."""
    whens = [(expires_col.is_(None), "unknown"), (expires_col < literal(reference, Date), "expired")]
    for years in range(10):
        whens.append((expires_col < literal(anniversary(reference, years + 1), Date), str(years)))
    return case(*whens, else_="10+")
