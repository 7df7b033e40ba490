"""A readable summary of a role's permissions for the roles screen (instead of FAB's list of
``can read on Reports, menu access on …``): the screens its menu offers and the APIs it
may call, by their Japanese names."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

API_LABELS = {
    "ReportsApi": _l("レポートAPI"),
    "UploadApi": _l("アップロードAPI"),
    "LedgerApi": _l("機器台帳API"),
    "ClassificationApi": _l("機器分類API"),
    "SystemApi": _l("システム連携API（オンプレミスシステム用）"),
}


def _menu_labels(names: set[str]) -> list[str]:
    """Labels of the menu items (not categories) among ``names``, in menu order."""
    labels = []
    for category in current_app.appbuilder.menu.get_list():
        children = [child for child in category.childs or [] if child.name != "-"]
        if not children and category.name in names:
            labels.append(str(category.label))
        for child in children:
            if child.name in names:
                labels.append(str(child.label))
    return labels


def summarize(permissions) -> str:
    """``画面: A、B ／ API: X`` for a role's permission-view pairs."""
    menus, apis = set(), set()
    for pair in permissions or []:
        permission, view = pair.permission.name, pair.view_menu.name
        if permission == "menu_access":
            menus.add(view)
        elif view in API_LABELS:
            apis.add(view)
    parts = []
    screens = _menu_labels(menus)
    if screens:
        parts.append(_("画面: %(names)s", names=_("、").join(screens)))
    if apis:
        parts.append(_("API: %(names)s", names=_("、").join(str(API_LABELS[a]) for a in sorted(apis))))
    return f" {_('／')} ".join(parts) or _("画面もAPIもありません")
