"""Base classes that put every FAB screen and API under :mod:`app.access.scope`.

FAB's ``base_filters`` reach list, show, edit and delete, but not ``@action`` /
``action_post``, related-field dropdowns or the ``download/<filename>`` route. The scoped
interface below applies the same scope to *every* fetch by primary key, so an action or
API call with another organization's id finds nothing (404) instead of the row.
"""
from __future__ import annotations

from flask import abort, request
from flask_appbuilder import ModelView, expose, has_access, permission_name
from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.models.sqla import filters as sqla_filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.access.scope import current_scope
from app.core import search
from app.views.api_base import OptiServeModelApi
from app.views.display import default_formatters, polish_form
from app.views.saving import SaveFlow


def _jst_label(label: str, is_time: bool) -> str:
    """A CSV header names the zone of its times (the screen says it once per page), in the
    reader's language: 日時（JST）, Date and time (JST). A label naming UTC (the stored zone)
    is a time shown in JST too."""
    for utc in ("（UTC）", " (UTC)"):
        if utc in label:
            label, is_time = label.replace(utc, ""), True
    return _("%(label)s（JST）", label=label) if is_time and "JST" not in label else label


def require_operator_scope() -> None:
    """Operator-only screens (masters, makers): 403 unless the scope covers every organization."""
    if not current_scope().everything:
        abort(403)


class FilterInScope(BaseFilter):
    """Keeps the rows whose ``column_name`` (an organization id) lies in the current scope."""

    name = "in scope"
    arg_name = "in_scope"

    def apply(self, query, value):
        return query.filter(current_scope().clause(getattr(self.model, self.column_name)))


def scope_filter(column: str = "organization_id") -> list:
    """A FAB filter spec for ``base_filters`` / ``*_query_rel_fields``."""
    return [column, FilterInScope, None]


def _folded_filter(base, start: str, end: str, negate: bool = False):
    """FAB's text filter ``base`` comparing both sides through app.core.search (NFKC and
    case folding): ＴＥ－２８１Ａ, ｉｃｕ and ﾃﾙﾓ find TE-281A, ICU and テルモ."""

    def apply(self, query, value):
        query, field = sqla_filters.get_field_setup_query(query, self.model, self.column_name)
        clause = search.folded(field).like(search.like_pattern(str(value), start=start, end=end),
                                           escape="\\")
        return query.filter(~clause if negate else clause)

    return type(f"Folded{base.__name__}", (base,), {"apply": apply})


FOLDED = {
    sqla_filters.FilterContains: _folded_filter(sqla_filters.FilterContains, "%", "%"),
    sqla_filters.FilterNotContains: _folded_filter(sqla_filters.FilterNotContains, "%", "%", True),
    sqla_filters.FilterStartsWith: _folded_filter(sqla_filters.FilterStartsWith, "", "%"),
    sqla_filters.FilterNotStartsWith: _folded_filter(sqla_filters.FilterNotStartsWith, "", "%", True),
    sqla_filters.FilterEndsWith: _folded_filter(sqla_filters.FilterEndsWith, "%", ""),
    sqla_filters.FilterNotEndsWith: _folded_filter(sqla_filters.FilterNotEndsWith, "%", "", True),
}


class FoldingFilterConverter(sqla_filters.SQLAFilterConverter):
    """Text columns get the folded filters; every other type keeps FAB's."""

    conversion_table = tuple(
        (test, [FOLDED.get(flt, flt) for flt in filters] if test in ("is_text", "is_string") else filters)
        for test, filters in sqla_filters.SQLAFilterConverter.conversion_table
    )


class ScopedInterface(SQLAInterface):
    """A datamodel whose fetch by primary key is limited to the current scope; its text
    searches ignore full/half width and case."""

    filter_converter_class = FoldingFilterConverter

    def __init__(self, obj, scope_column: str = "organization_id", session=None):
        super().__init__(obj, session=session)
        self.scope_column = scope_column

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):
        scoped = filters.copy() if filters else Filters(self.filter_converter_class, self)
        scoped.add_filter(self.scope_column, FilterInScope, None)
        return super().get(
            id, scoped, select_columns=select_columns, outer_default_load=outer_default_load
        )


class _CopiedValidators(dict):
    """``validators_columns`` handing out a fresh list per lookup (see ``_init_forms``)."""

    def get(self, key, default=None):
        return list(super().get(key, default or []))


class ScopedModelView(SaveFlow, ModelView):
    """A ModelView whose rows, actions and related dropdowns follow :mod:`app.access.scope`.

    Subclasses set ``datamodel = ScopedInterface(Model[, scope_column])``. Values are shown
    through :mod:`app.views.display` (JST, no "None"/"True"); saving follows
    :mod:`app.views.saving` (back to the list, or the same form with the input kept).
    """

    page_size = 20
    add_row_message = _l("登録しました。")
    edit_row_message = _l("保存しました。")

    def __init__(self, **kwargs):
        column = self.datamodel.scope_column
        self.base_filters = [scope_filter(column)] + list(self.base_filters or [])
        super().__init__(**kwargs)
        self.formatters_columns = default_formatters(self)
        polish_form(self.add_form)
        polish_form(self.edit_form)

    def _init_forms(self):
        """FAB appends its own checks (length, required, unique) to the lists of
        ``validators_columns`` while it builds a form; building the add and the edit form from
        the class's lists doubled them, and a taken e-mail said 「既に登録されています」 twice.
        Each form is built from copies."""
        shared = self.validators_columns
        self.validators_columns = _CopiedValidators(shared or {})
        try:
            super()._init_forms()
        finally:
            self.validators_columns = shared

    def pre_add(self, item):
        """Stamp the organization on rows made by a user who has exactly one."""
        scope = current_scope()
        column = self.datamodel.scope_column
        if column == "organization_id" and not scope.everything:
            if len(scope.organization_ids) != 1:
                abort(403)
            item.organization_id = next(iter(scope.organization_ids))

    def _require_in_scope(self, pks) -> None:
        for pk in pks:
            if self.datamodel.get(self._deserialize_pk_if_composite(pk)) is None:
                abort(404)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        """FAB loads the row with no filter; refuse unknown actions and rows out of scope."""
        if name not in self.actions:
            abort(404)
        self._require_in_scope([pk])
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        if request.form.get("action") not in self.actions:
            abort(404)
        self._require_in_scope(request.form.getlist("rowid"))
        return super().action_post()

    export_name = "list"  # the CSV's file name (ASCII)
    # Columns the CSV adds after the list's (a long text the list leaves to the show page),
    # and formatters the CSV uses instead of the screen's (plain text rather than HTML).
    export_extra_columns: list[str] = []
    export_formatters: dict = {}
    list_template = "_partials/list_export.html"

    @expose("/export.csv")
    @has_access
    @permission_name("list")
    def export_csv(self):
        """The list as CSV: the same scope (base filters), search filters and order as the
        screen, every page; the list's columns and labels, times in JST."""
        from app.views.csv_export import csv_response

        filters = self.datamodel.get_filters(self.search_columns)
        get_filter_args(filters)
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        _count, items = self.datamodel.query(filters.get_joined_filters(self._base_filters),
                                             order_column, order_direction)
        columns = list(self.list_columns) + list(self.export_extra_columns)
        header = [_jst_label(str(self.label_columns.get(c, c)), self.datamodel.is_datetime(c)) for c in columns]
        values = self.datamodel.get_values(items, columns)
        formatters = {**self.formatters_columns, **self.export_formatters}

        def formatted(row):
            return [formatters[c](row[c]) if c in formatters else row[c] for c in columns]

        return csv_response(self.export_name, header, (formatted(row) for row in values))

    def download(self, filename):
        """FAB serves any file of UPLOAD_FOLDER here; OptiServe's files go through
        their own scoped routes, so this route answers nothing."""
        abort(404)


class ScopedModelRestApi(OptiServeModelApi):
    """A ModelRestApi under the same scope: list via ``base_filters``, by id via the datamodel."""

    def __init__(self):
        self.base_filters = [scope_filter(self.datamodel.scope_column)] + list(
            self.base_filters or []
        )
        super().__init__()
