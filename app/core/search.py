"""Searches that ignore full/half width and case: ＴＥ－２８１Ａ finds TE-281A, ｉｃｕ finds
ICU, ﾃﾙﾓ finds テルモ.

Both sides go through the same folding, once: the typed text in Python (:func:`fold`), the
column in SQL through the function ``os_fold`` (:func:`folded`):

- SQLite: a deterministic Python function registered on every connection (NFKC, casefold);
- PostgreSQL: ``os_fold(text)`` = ``lower(normalize(text, NFKC))``, an IMMUTABLE PL/pgSQL
  function (migrations 0010_h14self, 0016_search_fold_cost; for schemas built from the models,
  the ``after_create`` hook below). Not SQL, on purpose: an SQL function is inlined into two
  operators the planner takes as nearly free, and then folding every device of a hospital
  looks cheaper than the trigram indexes (app/models/search_indexes.py). Its COST (about
  5 µs a fold, 200 × cpu_operator_cost) lets the planner choose the index.

``lower`` and ``casefold`` agree on everything typed into these boxes (Latin letters, digits,
kana and kanji after NFKC); they differ only for a few letters such as ß.
"""
from __future__ import annotations

import sqlite3
import unicodedata

from flask_appbuilder import Model
from sqlalchemy import DDL, String, event, func, literal
from sqlalchemy.engine import Engine

FUNCTION = "os_fold"
PG_CREATE = (
    f"CREATE OR REPLACE FUNCTION {FUNCTION}(value text) RETURNS text "
    "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 200 "
    "AS $$ BEGIN RETURN lower(normalize(value, NFKC)); END $$"
)
PG_DROP = f"DROP FUNCTION IF EXISTS {FUNCTION}(text)"
SEPARATOR = "\x1f"  # between the fields of one search text, so no match spans two fields


def fold(text: str | None) -> str:
    """NFKC (full/half width, ㈱ → (株)) and case folding of a search text."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def folded(expression):
    """``expression`` folded in SQL."""
    return getattr(func, FUNCTION)(expression, type_=String)


def joined(*columns):
    """The columns as one text (NULL as empty), for one folded comparison per row."""
    expression = func.coalesce(columns[0], "")
    for column in columns[1:]:
        expression = expression.op("||")(literal(SEPARATOR)).op("||")(func.coalesce(column, ""))
    return expression


def like_pattern(text: str, *, start: str = "%", end: str = "%") -> str:
    """``text`` folded and escaped for LIKE … ESCAPE '\\'."""
    value = fold(text)
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{start}{escaped}{end}"


def contains(expression, text: str):
    """``expression`` contains ``text``, ignoring width and case."""
    return folded(expression).like(like_pattern(text), escape="\\")


@event.listens_for(Engine, "connect")
def _register_sqlite_function(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(FUNCTION, 1, lambda v: None if v is None else fold(str(v)),
                                         deterministic=True)


event.listen(Model.metadata, "after_create", DDL(PG_CREATE).execute_if(dialect="postgresql"))
