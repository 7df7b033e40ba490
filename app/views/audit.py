"""Audit log screen: Admin sees every event, an OrgAdmin its own organization's.

Read-only: the view offers list and show only, and the scoped interface keeps rows of other
organizations out of both (404 by id). The chain itself is checked by
``flask optiserve audit-verify``.
"""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from app.models import AuditEvent
from app.views.audit_labels import action_label, object_label
from app.views.base import ScopedInterface, ScopedModelView


def _changes(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


class AuditLogView(ScopedModelView):
    datamodel = ScopedInterface(AuditEvent)
    export_name = "audit-log"
    route_base = "/audit"
    class_permission_name = "AuditLog"
    method_permission_name = {"list": "list", "show": "show"}
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = _l("監査ログ")
    label_columns = {
        "id": "ID", "created_on": _l("日時"), "actor_email": _l("実行者"),
        "organization_id": _l("組織ID"), "action": _l("操作"), "object_type": _l("対象"),
        "object_id": _l("対象ID"), "changes": _l("内容"), "ip": _l("IPアドレス"),
        "row_hash": _l("ハッシュ"), "prev_hash": _l("前行のハッシュ"),
    }
    list_columns = ["created_on", "actor_email", "action", "object_type", "object_id", "ip"]
    show_columns = ["id", "created_on", "actor_email", "organization_id", "action",
                    "object_type", "object_id", "changes", "ip", "prev_hash", "row_hash"]
    search_columns = ["action", "actor_email", "created_on", "ip"]
    order_columns = ["created_on", "action", "actor_email"]
    base_order = ("id", "desc")
    formatters_columns = {"changes": _changes, "action": action_label,
                          "object_type": object_label}
