"""Audit log screen: Admin sees every event, an OrgAdmin its own organization's.

Read-only: the view offers list and show only, and the scoped interface keeps rows of other
organizations out of both (404 by id). The chain itself is checked by
``flask optiserve audit-verify``.
"""
from __future__ import annotations

import json
from typing import NamedTuple

from flask_appbuilder.models.sqla import filters as sqla_filters
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_

from app.core import search
from app.models import AuditEvent
from app.views.audit_fields import change_label
from app.views.audit_labels import action_label, actions_labelled, object_label
from app.views.audit_values import event_value, value_label
from app.views.base import FOLDED, ScopedInterface, ScopedModelView
from app.views.display import role_label

FoldedContains = FOLDED[sqla_filters.FilterContains]


def _plain(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _role_names(item) -> bool:
    return isinstance(item, list) and all(isinstance(name, str) for name in item)


class EventChanges(NamedTuple):
    """An event's ``changes`` with its object type, which tells what a coded value means
    (``level`` 3 of a dealer permission is 全機能利用, of a classification 小分類), and its
    action and organization, which tell what some keys mean (a ledger change's ``counts``)."""

    object_type: str | None
    changes: object
    action: str | None = None
    organization_id: int | None = None


def _shown(key: str, value, event: EventChanges | None = None) -> str:
    """A stored value as it is, except role names, which have labels (管理者, not Admin), and
    coded values (a status, a level …), which show their label (:mod:`app.views.audit_values`)."""
    event = event or EventChanges(None, None)
    text = event_value(event.action, key, value, event.organization_id)
    if text is not None:
        return text
    if value is None:
        return ""
    if key == "roles" and _role_names(value):
        return str(_l("、")).join(role_label(name) for name in value)
    return _plain(value_label(key, value, event.object_type))


def _change_lines(value) -> list[tuple[str, str, str | None]]:
    """``(label, old or value, new or None)`` for each stored key, in key order."""
    event = value if isinstance(value, EventChanges) else EventChanges(None, value)
    value = event.changes
    if not value:
        return []
    if not isinstance(value, dict):
        return [("", _plain(value), None)]
    lines = []
    for key in sorted(value):
        item = value[key]
        # a pair is [old, new]; a refused grant's two role names are one value, not a change
        if isinstance(item, list) and len(item) == 2 and not (key == "roles" and _role_names(item)):
            # a field set from nothing (or emptied) says so rather than showing a blank
            old, new = (_shown(key, v, event) or str(_l("（なし）")) for v in item)
            lines.append((change_label(key, event.action), old, new))
        else:
            lines.append((change_label(key, event.action), _shown(key, item, event), None))
    return lines


def _joined_lines(value, text: type[str], separator: str):
    """:func:`_change_lines` as ``label: value`` / ``label: old → new`` lines of ``text``
    (``Markup`` escapes what it formats, ``str`` does not), joined by ``separator``."""
    lines = []
    for label, old, new in _change_lines(value):
        if not label:
            return old
        lines.append(text("{}: {}").format(label, old) if new is None
                     else text("{}: {} → {}").format(label, old, new))
    return text(separator).join(lines)


def _changes(value) -> Markup | str:
    """What changed, one line per field, named by its label: ``電話番号: 03-1234 → 03-9999``
    for an ``[old, new]`` pair, ``URL: /users/list/`` otherwise. Only the display changes: the
    stored JSON, which the chain hashes, keeps its keys and codes; an unknown key is shown raw."""
    return _joined_lines(value, Markup, "<br>")


def _changes_text(value) -> str:
    """The CSV's 内容: the screen's lines as plain text, one line per field."""
    return _joined_lines(value, str, "\n")


def _organization(organization_id) -> str:
    """The organization's name and code rather than its id."""
    from app.extensions import db
    from app.models import Organization

    organization = db.session.get(Organization, organization_id) if organization_id else None
    return _("%(name)s（%(code)s）", name=organization.name, code=organization.code) if organization else ""


# Actions recorded with their hospital but no object (app/views/ledger.py): what they changed is
# that hospital's device ledger, which 対象 names (対象ID: the hospital's id).
ORGANIZATION_OBJECT_ACTIONS = frozenset({"ledger.change", "ledger.restore"})


class HospitalObject(NamedTuple):
    """対象 of an event of :data:`ORGANIZATION_OBJECT_ACTIONS`: its hospital's device ledger."""

    organization_id: int


def _object(value) -> str:
    """対象: the object type's label (ユーザー), or the hospital's device ledger by name."""
    if isinstance(value, HospitalObject):
        return _("%(organization)sの機器台帳", organization=_organization(value.organization_id)
                 or value.organization_id)
    return object_label(value)


class ActionContains(FoldedContains):
    """「操作」 contains: the list shows labels (ログイン), the log stores codes (auth.login);
    either finds the row."""

    def apply(self, query, value):
        query, field = sqla_filters.get_field_setup_query(query, self.model, self.column_name)
        clause = search.folded(field).like(search.like_pattern(str(value)), escape="\\")
        codes = actions_labelled(str(value))
        return query.filter(or_(clause, field.in_(codes)) if codes else clause)


class AuditInterface(ScopedInterface):
    def _get_attr_value(self, item, col):
        if col == "changes":  # the show page and the CSV label coded values by object type
            return EventChanges(item.object_type, item.changes, item.action, item.organization_id)
        if col in ("object_type", "object_id") and item.object_type is None and item.organization_id \
                and item.action in ORGANIZATION_OBJECT_ACTIONS:
            # recorded with the hospital only: its object is the hospital's data
            return item.organization_id if col == "object_id" else HospitalObject(item.organization_id)
        return super()._get_attr_value(item, col)

    def get_filters(self, search_columns=None, search_filters=None):
        filters = super().get_filters(search_columns, search_filters)
        for table in (filters._search_filters, filters._all_filters):  # FAB keeps two lists
            table["action"] = [ActionContains("action", self) if type(f) is FoldedContains else f
                               for f in table.get("action", [])]
        return filters


class AuditLogView(ScopedModelView):
    datamodel = AuditInterface(AuditEvent)
    export_name = "audit-log"
    route_base = "/audit"
    class_permission_name = "AuditLog"
    method_permission_name = {"list": "list", "show": "show"}
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = _l("監査ログ")
    label_columns = {
        "id": "ID", "created_on": _l("日時"), "actor_email": _l("実行者"),
        "organization_id": _l("組織"), "action": _l("操作"), "object_type": _l("対象"),
        "object_id": _l("対象ID"), "changes": _l("内容"), "ip": _l("IPアドレス"),
        "row_hash": _l("ハッシュ"), "prev_hash": _l("前行のハッシュ"),
    }
    list_columns = ["created_on", "actor_email", "action", "object_type", "object_id", "ip"]
    show_columns = ["id", "created_on", "actor_email", "organization_id", "action",
                    "object_type", "object_id", "changes", "ip", "prev_hash", "row_hash"]
    search_columns = ["action", "actor_email", "created_on", "ip"]
    order_columns = ["created_on", "action", "actor_email"]
    base_order = ("id", "desc")
    export_extra_columns = ["changes"]  # the CSV keeps what each event changed
    export_formatters = {"changes": _changes_text}
    formatters_columns = {"changes": _changes, "action": action_label, "organization_id": _organization,
                          "object_type": _object}
