"""Japanese labels of the audit log's actions and object types (English in the en locale).

The log stores codes (``auth.login``); the screen shows these labels. A code without a label
(one added later) is shown as it is, so nothing disappears from the log.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.search import fold

ACTION_LABELS = {
    "access.refused": _l("アクセス拒否"),
    "api_key.created": _l("APIキー発行"),
    "api_key.revoked": _l("APIキー失効"),
    "api_key.write": _l("APIキーによる更新"),
    "auth.lockout": _l("アカウントロック"),
    "auth.login": _l("ログイン"),
    "auth.login_failed": _l("ログイン失敗"),
    "auth.logout": _l("ログアウト"),
    "auth.logout_everywhere": _l("全端末からログアウト"),
    "auth.password_reset": _l("パスワード再設定"),
    "auth.password_reset_requested": _l("パスワード再設定の申請"),
    "auth.password_reset_throttled": _l("パスワード再設定の申請（送信制限）"),
    "auth.recovery_code_used": _l("リカバリーコード使用"),
    "auth.totp_enrolled": _l("二要素認証の設定"),
    "auth.totp_reset": _l("二要素認証のリセット"),
    "auth.unlock": _l("アカウントロックの解除"),
    "classification.create": _l("機器分類の作成"),
    "classification.map": _l("機器分類の紐付け"),
    "classification.unmap": _l("機器分類の紐付け解除"),
    "dealer_permission.grant": _l("ディーラー権限の変更"),
    "ledger.change": _l("機器台帳の変更"),
    "ledger.restore": _l("機器台帳の変更取消"),
    "maker.alias_add": _l("メーカー別名の追加"),
    "maker.merge": _l("メーカーの統合"),
    "manufacturer_selection.update": _l("閲覧医療機関の選択"),
    "organization.create": _l("組織の登録"),
    "organization.update": _l("組織の変更"),
    "policy.csrf_refused": _l("不正な送信の拒否（CSRF）"),
    "policy.ip_refused": _l("許可外IPアドレスからの接続拒否"),
    "report.onprem_published": _l("レポート公開（システム連携）"),
    "report_selection.grouping": _l("レポートの集計単位の変更"),
    "report_selection.save": _l("レポート出力対象の変更"),
    "smds_classification.add": _l("SMDS機器分類の追加"),
    "smds_classification.deactivate": _l("SMDS機器分類の無効化"),
    "smds_classification.move": _l("SMDS機器分類の移動"),
    "smds_classification.reactivate": _l("SMDS機器分類の再有効化"),
    "smds_classification.rename": _l("SMDS機器分類の名称変更"),
    "upload.accepted": _l("アップロード受付"),
    "upload.discarded": _l("アップロードの取り消し"),
    "upload.fetched": _l("アップロードの取得（システム連携）"),
    "upload.ingest": _l("アップロードの取り込み"),
    "user.create": _l("ユーザー仮登録"),
    "user.deactivate": _l("ユーザー利用停止"),
    "user.first_login": _l("初回ログイン"),
    "user.invitation_resent": _l("招待メールの再送"),
    "user.reactivate": _l("ユーザー利用再開"),
    "user.role_grant_refused": _l("ロール付与の拒否"),
    "user.update": _l("ユーザー情報の変更"),
}


OBJECT_LABELS = {
    "User": _l("ユーザー"),
    "OptiServeUser": _l("ユーザー"),  # the user model's class name, what the log stores
    "Organization": _l("組織"),
    "ApiKey": _l("APIキー"),
    "Classification": _l("機器分類"),
    "Maker": _l("メーカー"),
    "UploadFile": _l("アップロード"),
    "ReportFile": _l("レポート"),
    "DealerPermission": _l("ディーラー権限"),
    "Equipment": _l("機器"),
}


def object_label(name: str | None) -> str:
    if not name:
        return ""
    label = OBJECT_LABELS.get(name)
    return str(label) if label is not None else name


def action_label(code: str | None) -> str:
    if not code:
        return ""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def actions_labelled(text: str) -> list[str]:
    """The action codes whose label (in the current language) contains ``text``, ignoring
    width and case: 「ログイン」 finds auth.login, auth.login_failed, user.first_login …"""
    wanted = fold(text).strip()
    if not wanted:
        return []
    return sorted(code for code, label in ACTION_LABELS.items() if wanted in fold(str(label)))
