"""Labels of the coded values in an audit event's ``changes`` (English in the en locale).

The log stores codes: a user's status ``0``/``1``/``9``, an upload's ``succeeded``, a dealer's
level ``3``, the sign-in stage ``totp``. The screen and the CSV show the label the screen that
sets the value shows (仮登録, 完了, 3 全機能利用 …); the stored JSON, which the chain hashes,
keeps the code. ``level`` and ``file_type`` mean different things on different objects, so the
label is chosen by the event's object type. A value without a label is shown as it is.

A few values mean something only with their action (:func:`event_value`): a ledger change's
``counts`` (true/false/null: counted, not counted, not changed), its ``classification_id`` (the
classification's name, as far as the reader may see it) and its ``devices``, a restore's
``values``. A value of another shape (an older event's) is shown as it is.
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.access.scope import current_scope
from app.extensions import db
from app.models import Classification
from app.services.ledger.maintenance import own_or_master
from app.services.partners.dealers import LEVEL_LABELS as DEALER_LEVEL_LABELS
from app.services.reports.service import TYPE_NAMES as REPORT_TYPE_LABELS
from app.services.uploads.records import STATUS_LABELS as UPLOAD_STATUS_LABELS
from app.services.uploads.records import TYPE_LABELS as UPLOAD_TYPE_LABELS
from app.views.organizations import LEVEL_LABELS as CLASSIFICATION_LEVEL_LABELS
from app.views.users import REASON_LABELS
from app.views.users import STATUS_LABELS as USER_STATUS_LABELS

USER = ("User", "OptiServeUser")

# where a sign-in failed (app/services/accounts/login.py register_failure)
STAGE_LABELS = {
    "password": _l("パスワード"),
    "totp": _l("二要素認証"),
    "profile": _l("プロフィールのパスワード確認"),
}
# how a sign-in passed its second step (app/views/auth.py)
SECOND_FACTOR_LABELS = {
    "none": _l("なし"),
    "totp": _l("認証アプリのコード"),
    "recovery_code": _l("リカバリーコード"),
    "totp_enrollment": _l("認証アプリの登録"),
}
# why a role grant was refused (app/services/accounts/users.py, app/views/users.py): stored as
# English phrases, which predate these labels
REFUSAL_REASON_LABELS = {
    "role not offered to the actor": _l("画面で選べないロールの指定"),
    "target holds roles only an Admin may change": _l("システム管理者だけが変更できるロールを持つユーザー"),
    "role not grantable by the actor": _l("付与する権限のないロール"),
    "role does not fit the organization kind": _l("組織の種別に合わないロール"),
}
GROUPING_LABELS = {"own": _l("医療機関の機器分類"), "smds": _l("SMDSグループ")}
MAPPING_METHOD_LABELS = {"automatic": _l("自動"), "suggestion": _l("候補から採用"),
                         "manual": _l("手動"), "onprem": _l("オンプレミス")}


def _by_number(labels: dict) -> dict:
    """``labels`` keyed by the number its codes stand for (the log stores the number)."""
    return {int(code): label for code, label in labels.items()}


def _table(key: str, object_type: str | None, value) -> dict | None:
    """The labels of ``key``'s values on an event about ``object_type``."""
    if key == "status":
        # a user's status is a number, an upload's a word: the type alone tells them apart
        # when an event names no object
        if object_type in USER or (object_type is None and isinstance(value, int)):
            return _by_number(USER_STATUS_LABELS)
        if object_type == "UploadFile" or (object_type is None and isinstance(value, str)):
            return UPLOAD_STATUS_LABELS
        return None
    if key == "inactive_reason":
        return _by_number(REASON_LABELS)
    if key == "level":
        if object_type == "DealerPermission":
            return _by_number(DEALER_LEVEL_LABELS)
        if object_type == "Classification":
            return CLASSIFICATION_LEVEL_LABELS
        return None
    if key == "file_type":
        if object_type == "UploadFile":
            return _by_number(UPLOAD_TYPE_LABELS)
        if object_type == "ReportFile":
            return _by_number(REPORT_TYPE_LABELS)
        return None
    return {"reason": REFUSAL_REASON_LABELS, "stage": STAGE_LABELS, "second_factor": SECOND_FACTOR_LABELS,
            "report_grouping": GROUPING_LABELS, "mapping_method": MAPPING_METHOD_LABELS}.get(key)


def value_label(key: str, value, object_type: str | None = None):
    """``value``'s label, or ``value`` itself when it has none (also None, lists and dicts)."""
    if value is None or isinstance(value, (bool, list, dict)):
        return value
    table = _table(key, object_type, value)
    if not table:
        return value
    label = table.get(value)
    return str(label) if label is not None else value



# a ledger change's ``counts`` (app/views/ledger.py apply_change); None: the change left it alone
LEDGER_COUNTS_LABELS = {True: _l("集計対象"), False: _l("集計対象外")}
NOT_CHANGED = _l("変更しない")


def _number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def classification_name(classification_id: int, organization_id: int | None) -> str:
    """The name of a classification the event's hospital may use (its own or the master's) and
    the reader may see; its id when it is gone (or outside the reader's scope). One read per
    classification and request (the CSV names many events)."""
    names = g.setdefault("audit_classification_names", {}) if has_request_context() else {}
    key = (classification_id, organization_id)
    if key not in names:
        usable = (own_or_master(organization_id) if organization_id is not None
                  else Classification.hospital_id.is_(None))
        visible = or_(Classification.hospital_id.is_(None), current_scope().clause(Classification.hospital_id))
        names[key] = db.session.scalar(select(Classification.name).where(
            Classification.id == classification_id, usable, visible))
    name = names[key]
    return name if name is not None else _("機器分類ID %(id)s", id=classification_id)


def event_value(action: str | None, key: str, value, organization_id: int | None = None) -> str | None:
    """The text of a value whose meaning depends on the action (None: no such value, shown
    through :func:`value_label`)."""
    if action == "ledger.change":
        if key == "counts" and (value is None or isinstance(value, bool)):
            return str(NOT_CHANGED if value is None else LEDGER_COUNTS_LABELS[value])
        if key == "classification_id" and (value is None or _number(value)):
            return str(NOT_CHANGED) if value is None else classification_name(value, organization_id)
        if key == "devices" and _number(value):
            return _("%(n)s 台", n=f"{value:,}")
    if action == "ledger.restore" and key == "values" and _number(value):
        return _("%(n)s 件", n=f"{value:,}")
    return None
