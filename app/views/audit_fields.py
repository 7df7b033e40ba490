"""Japanese labels of the keys in an audit event's ``changes`` (English in the en locale).

The log stores field names (``phone``, ``acting_for``) and the chain hashes them as stored; the
screen shows these labels instead. A key without a label is shown as it is, so nothing is
hidden. Labels of model columns repeat the wording of the screens that edit them (users,
organizations), so one msgid serves both. tests/test_audit_labels.py fails when a
``changes={...}`` in app/ gains a key without a label here.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.views.organizations import AUDITED_FIELDS
from app.views.organizations import LABELS as ORGANIZATION_LABELS
from app.views.users import LABELS as USER_LABELS

CHANGE_LABELS = {
    # the columns of users and organizations, as their screens label them
    **{field: ORGANIZATION_LABELS[field] for field in AUDITED_FIELDS},
    **USER_LABELS,
    # a user's or an organization's phone, and a name of anything
    "phone": _l("電話番号"),
    "name": _l("名称"),
    # users (app/services/accounts/users.py user_snapshot)
    "organization_id": _l("組織"),
    "user": _l("ユーザー"),
    "user_id": _l("ユーザーID"),
    "user_email": _l("ユーザーのメールアドレス"),
    "ended_links": _l("無効にした未使用のリンク数"),
    "enrolled": _l("二要素認証の登録済み"),
    # sign-in
    "stage": _l("段階"),
    "second_factor": _l("二要素認証の方法"),
    "locked": _l("ロック中"),
    "inactive": _l("利用停止中"),
    "remaining": _l("残りのリカバリーコード数"),
    "remaining_before": _l("発行前のリカバリーコード数"),
    "count": _l("発行したリカバリーコード数"),
    "links_last_hour": _l("直近1時間のリンク数"),
    # organizations
    "is_active": _l("有効"),
    # requests, refusals and API keys
    "path": _l("URL"),
    "method": _l("HTTPメソッド"),
    "endpoint": _l("画面・機能"),
    "origin": _l("送信元（Origin）"),
    "ip": _l("IPアドレス"),
    "acting_for": _l("代理先の医療機関"),
    "dealer_organization": _l("ディーラー"),
    "reason": _l("理由"),
    "api_key_id": _l("APIキーID"),
    "key_prefix": _l("APIキーの先頭文字"),
    "expires_on": _l("有効期限"),
    # partners
    "dealer": _l("ディーラーのユーザー"),
    "level": _l("レベル"),
    "hospital_ids": _l("閲覧する医療機関"),
    "from_month": _l("適用開始月"),
    # uploads, reports and the ledger
    "file_type": _l("ファイル種別"),
    "month": _l("対象月"),
    "original_name": _l("ファイル名"),
    "sha256": _l("ハッシュ（SHA-256）"),
    "size": _l("サイズ（バイト）"),
    "rows_total": _l("行数"),
    "rows_imported": _l("取り込んだ行数"),
    "rows_rejected": _l("取り込めなかった行数"),
    "classification_ids": _l("機器分類"),
    "report_grouping": _l("集計単位"),
    "classification_id": _l("機器分類"),
    "devices": _l("機器数"),
    "counts": _l("件数の内訳"),
    "values": _l("値"),
    # classifications and makers
    "alias": _l("別名"),
    "aliases": _l("別名の数"),
    "source_id": _l("統合元のID"),
    "source_name": _l("統合元の名称"),
    "created": _l("作成数"),
    "mapped_automatically": _l("自動で紐付けた数"),
    "names": _l("名称"),
    "parent_id": _l("親分類のID"),
    "smds_classification_id": _l("SMDS機器分類"),
    "mapping_method": _l("紐付けの方法"),
    # the on-prem masters push
    "full": _l("全件送信"),
    "changes": _l("変更内容"),
    "changes_total": _l("変更件数"),
}

# Keys whose meaning depends on the action: a ledger change's ``counts`` is whether the devices
# count in the analysis (a masters push's is its counts per table), its ``devices`` how many
# changed, and a restore's ``values`` how many set values it removed.
ACTION_CHANGE_LABELS = {
    "ledger.change": {
        "counts": _l("集計対象"),
        "classification_id": _l("機器分類"),
        "devices": _l("機器数"),
        "reason": _l("理由"),
    },
    "ledger.restore": {"values": _l("元に戻した設定")},
}


def change_label(key: str, action: str | None = None) -> str:
    label = ACTION_CHANGE_LABELS.get(action or "", {}).get(key, CHANGE_LABELS.get(key))
    return str(label) if label is not None else key
