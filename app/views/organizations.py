"""Organizations screen: operators manage all; an OrgAdmin edits its own contact data."""
from __future__ import annotations

from flask import g, request
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import NumberRange

from app.access.capabilities import MANAGE_ORGANIZATIONS, MANAGE_SECURITY
from app.access.request_policy import ip_allowed
from app.access.scope import current_scope
from app.core.validation import (
    address_error,
    cidr_list_error,
    domain_list_error,
    email_list_error,
    phone_error,
    postal_code_error,
)
from app.extensions import db
from app.models import Organization, OrganizationKind
from app.services.audit import trail as audit
from app.views.base import ScopedInterface, ScopedModelView
from app.views.forms import rule
from app.views.saving import make_read_only

KIND_LABELS = {
    OrganizationKind.hospital.value: _l("医療機関"),
    OrganizationKind.dealer.value: _l("ディーラー"),
    OrganizationKind.manufacturer.value: _l("メーカー"),
    OrganizationKind.operator.value: _l("管理者（SMDS）"),
}
LEVEL_LABELS = {1: _l("1 大分類"), 2: _l("2 中分類"), 3: _l("3 小分類")}

# Fields only the operator sets (by contract or security policy); an OrgAdmin may not.
OPERATOR_ONLY_FIELDS = (
    "kind",
    "code",
    "mfa_required",
    "report_rank_count",
    "analysis_level",
    "manufacturer_selection_count",
    "allows_manufacturer_access",
)
# The security policy: set by an Admin, the own organization's by its OrgAdmin (domains and
# IP allow-list; MFA is operator-only above), never by the Operator role (DESIGN §2: "no user
# or security administration").
SECURITY_FIELDS = ("mfa_required", "allowed_email_domains", "ip_allowlist")
ADMIN_ONLY_NOTE = _l("この項目は管理者（SMDS）のみ変更できます")
AUDITED_FIELDS = (
    "name", "postal_code", "prefecture", "city", "address_line1", "address_line2", "phone",
    "notification_emails", "allowed_email_domains", "ip_allowlist",
) + OPERATOR_ONLY_FIELDS

LABELS = {
    "kind": _l("組織種別"),
    "code": _l("組織コード"),
    "name": _l("組織名"),
    "postal_code": _l("郵便番号"),
    "prefecture": _l("都道府県"),
    "city": _l("市区町村"),
    "address_line1": _l("町名・番地"),
    "address_line2": _l("建物名等"),
    "phone": _l("代表電話番号"),
    "notification_emails": _l("通知先メールアドレス"),
    "allowed_email_domains": _l("許可するメールドメイン"),
    "ip_allowlist": _l("接続を許可するIPアドレス（CIDR）"),
    "mfa_required": _l("二要素認証を必須にする"),
    "report_rank_count": _l("レポート出力ランク数"),
    "analysis_level": _l("分析機器分類レベル"),
    "manufacturer_selection_count": _l("メーカー閲覧医療機関数"),
    "allows_manufacturer_access": _l("メーカーの閲覧を許可する"),
    "changed_on": _l("最終更新"),
    "is_active": _l("有効"),
    "external_id": _l("オンプレミスのID"),
}


def snapshot(item: Organization) -> dict:
    state = sa_inspect(item)
    values = {}
    for name in AUDITED_FIELDS:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(item, name)
    return values


def check_own_allowlist(item: Organization) -> None:
    """Nobody may save an IP allow-list for their own organization that would lock
    themselves out: the address of the saving request must be in it."""
    user = g.user
    if getattr(user, "organization_id", None) != item.id:
        return
    if not ip_allowed(request.remote_addr, item.ip_allowlist_entries):
        db.session.rollback()
        raise ValueError(_l(
            "接続を許可するIPアドレスに、現在の接続元（%(address)s）が含まれていません。"
            "自分自身が接続できなくなるため保存できません", address=request.remote_addr))


class OrganizationView(ScopedModelView):
    datamodel = ScopedInterface(Organization, scope_column="id")
    export_name = "organizations"
    route_base = "/organizations"
    class_permission_name = "Organizations"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]  # never deleted
    list_title = _l("組織一覧")
    show_title = _l("組織")
    add_title = _l("組織の登録")
    edit_title = _l("組織の編集")
    add_row_message = _l("組織を登録しました。")
    edit_row_message = _l("組織の情報を保存しました。")
    label_columns = LABELS
    list_columns = ["code", "name", "kind", "prefecture", "report_rank_count", "is_active", "changed_on"]
    search_columns = ["name", "kind", "prefecture", "code"]
    order_columns = ["code", "name", "prefecture", "report_rank_count", "changed_on"]
    base_order = ("code", "asc")
    # is_active and external_id are set by the on-prem masters push only (app.services.sync.masters)
    show_columns = [*AUDITED_FIELDS, "is_active", "external_id"]
    add_columns = [
        "kind", "code", "name", "postal_code", "prefecture", "city", "address_line1",
        "address_line2", "phone", "notification_emails", "allowed_email_domains",
        "ip_allowlist", "mfa_required", "report_rank_count", "analysis_level",
        "manufacturer_selection_count", "allows_manufacturer_access",
    ]
    edit_columns = add_columns
    add_form_extra_fields = edit_form_extra_fields = {
        # Booleans are NOT NULL columns: FAB would make the checkbox "required".
        "mfa_required": BooleanField(LABELS["mfa_required"], default=True),
        "allows_manufacturer_access": BooleanField(LABELS["allows_manufacturer_access"]),
        "kind": SelectField(
            LABELS["kind"], choices=[(k, v) for k, v in KIND_LABELS.items()]
        ),
        "analysis_level": SelectField(
            LABELS["analysis_level"], coerce=int, choices=list(LEVEL_LABELS.items())
        ),
        "notification_emails": TextAreaField(
            LABELS["notification_emails"],
            description=_l("1行に1件、10件まで"),
            validators=[rule(email_list_error)],
            widget=BS3TextAreaFieldWidget(),
        ),
        "allowed_email_domains": TextAreaField(
            LABELS["allowed_email_domains"],
            description=_l("1行に1件（例: hospital.example.jp）。空欄はすべて許可"),
            validators=[rule(domain_list_error)],
            widget=BS3TextAreaFieldWidget(),
        ),
        "ip_allowlist": TextAreaField(
            LABELS["ip_allowlist"],
            description=_l("1行に1件（例: 203.0.113.0/24）。空欄はすべて許可"),
            validators=[rule(cidr_list_error)],
            widget=BS3TextAreaFieldWidget(),
        ),
    }
    validators_columns = {
        "postal_code": [rule(postal_code_error)],
        "phone": [rule(phone_error)],
        "report_rank_count": [NumberRange(1, 99, message=_l("レポート出力ランク数は1～99の整数で入力してください"))],
        "manufacturer_selection_count": [NumberRange(1, 99)],
    }
    formatters_columns = {"kind": lambda kind: KIND_LABELS.get(kind, kind)}

    def restrict_form(self, form, item) -> None:
        """An OrgAdmin sees the operator's fields read-only and saves the others; the Operator
        role sees the security policy read-only (a new organization gets the defaults)."""
        scope = current_scope()
        if item is not None and not scope.can(MANAGE_ORGANIZATIONS):
            make_read_only(form, OPERATOR_ONLY_FIELDS, item)
        if scope.can(MANAGE_ORGANIZATIONS) and not scope.can(MANAGE_SECURITY):
            make_read_only(form, SECURITY_FIELDS, item or Organization(mfa_required=True), ADMIN_ONLY_NOTE)

    def _check(self, item: Organization) -> None:
        error = address_error(
            item.postal_code, item.prefecture, item.city, item.address_line1, item.address_line2
        )
        if error:
            self.datamodel.session.rollback()
            raise ValueError(str(error))

    def pre_add(self, item):
        if not current_scope().can(MANAGE_SECURITY):  # the form's read-only fields, forged
            item.mfa_required, item.allowed_email_domains, item.ip_allowlist = True, None, None
        self._check(item)

    def post_add(self, item):
        audit.record("organization.create", item, organization_id=item.id,
                     changes={k: [None, getattr(item, k)] for k in AUDITED_FIELDS})
        self.datamodel.session.commit()

    def pre_update(self, item):
        before = snapshot(item)
        scope = current_scope()
        locked = () if scope.can(MANAGE_ORGANIZATIONS) else OPERATOR_ONLY_FIELDS
        if scope.can(MANAGE_ORGANIZATIONS) and not scope.can(MANAGE_SECURITY):
            locked = SECURITY_FIELDS
        if locked:
            for name in locked:
                if before[name] != getattr(item, name):
                    self.datamodel.session.rollback()
                    raise ValueError(
                        _l("%(field)sは変更できません（管理者権限が必要）", field=LABELS[name])
                    )
        self._check(item)
        check_own_allowlist(item)
        changes = audit.changed_fields(before, {k: getattr(item, k) for k in AUDITED_FIELDS})
        if changes:
            audit.record("organization.update", item, organization_id=item.id, changes=changes)
