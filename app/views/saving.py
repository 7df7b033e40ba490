"""What a user sees after saving a FAB form.

FAB 5 sends the user after a save to the previous page of its history stack (which may be
any page, e.g. ``/roles/show/4``), and after a refused save (an error raised in ``pre_add`` /
``pre_update``) redirects too, losing what was typed. Here instead:

- after a successful add or edit: the list of the screen, with the Japanese confirmation;
- after a refused one (validation, a check of ``pre_add`` / ``pre_update``, the database): the
  same form again with the input kept and the reason shown;
- :meth:`SaveFlow.restrict_form` lets a screen show fields the user may not change read-only
  (and ignore whatever a request sends for them), so saving the other fields works.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder.urltools import get_filter_args, get_order_args, get_page_args, get_page_size_args
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

FORM_INVALID = _l("入力内容に誤りがあります。赤字の項目を確認してください。")
DATABASE_REFUSED = _l("保存できませんでした。同じ内容がすでに登録されていないか確認してください。")


OPERATOR_ONLY_NOTE = _l("この項目は運用者（SMDS）のみ変更できます")


def make_read_only(form, names, item, note=OPERATOR_ONLY_NOTE) -> None:
    """Show ``names`` of ``form`` disabled, with ``item``'s values; a value a request sends for
    them is replaced by the stored one before validation, so it is neither checked nor saved."""
    for name in names:
        if name not in form:
            continue
        field = form[name]
        if item is not None and request.method == "POST":
            value = getattr(item, name)
            field.process(None, value)
            # A browser never sends a disabled field: without this its raw input stays empty
            # and a required one ("このフィールドは必須です") refuses the whole form.
            field.raw_data = [] if value is None else [str(value)]
        field.render_kw = {**(field.render_kw or {}), "disabled": True}
        field.description = note


class SaveFlow:
    """Mixin for FAB ModelViews (put it before ``ModelView`` in the bases)."""

    def restrict_form(self, form, item) -> None:
        """Override to make fields read-only for the current user (see :func:`make_read_only`)."""

    def list_url(self) -> str:
        return url_for(f"{self.endpoint}.list")

    def post_add_redirect(self):
        return redirect(self.list_url())

    def post_edit_redirect(self):
        return redirect(self.list_url())

    def _save(self, form, item, is_created: bool) -> bool:
        """Copy the form onto ``item`` and store it; False (and the reason flashed) if refused."""
        self.process_form(form, is_created)
        try:
            form.populate_obj(item)
            if is_created:
                self.pre_add(item)
                self.datamodel.add(item)
                self.post_add(item)
            else:
                self.pre_update(item)
                self.datamodel.edit(item)
                self.post_update(item)
        except HTTPException:
            raise
        except SQLAlchemyError:
            self.datamodel.session.rollback()
            flash(str(DATABASE_REFUSED), "danger")
            return False
        except Exception as exc:  # a check of pre_add / pre_update refused the values
            self.datamodel.session.rollback()
            flash(str(exc) or str(DATABASE_REFUSED), "danger")
            return False
        flash(str(self.add_row_message if is_created else self.edit_row_message), "success")
        return True

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            self.restrict_form(form, None)
            if form.validate():
                if self._save(form, self.datamodel.obj(), True):
                    return None
            else:
                flash(str(FORM_INVALID), "danger")
        else:
            self.restrict_form(form, None)
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        pages, page_sizes, orders = get_page_args(), get_page_size_args(), get_order_args()
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk  # FAB's trick to pass its unique validation
            self.restrict_form(form, item)
            if form.validate():
                if self._save(form, item, False):
                    return None
                item = self.datamodel.get(pk, self._base_filters) or abort(404)
            else:
                flash(str(FORM_INVALID), "danger")
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            self.restrict_form(form, item)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, filters={}, orders=orders, pages=pages,
                                               page_sizes=page_sizes, widgets=widgets)
