"""Registration of every screen and API, in menu order."""
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.services.classifications.lexicon import lexicon
from app.services.classifications.readings import warm_readings
from app.views.api_keys import ApiKeyApi, ApiKeyView
from app.views.audit import AuditLogView
from app.views.classification_api import ClassificationApi
from app.views.classifications import ClassificationMappingView, SmdsMasterView
from app.views.dashboard import DashboardView
from app.views.dashboard_api import DashboardFiguresApi
from app.views.dealers import DealerHospitalView, DealerPermissionView, switcher_context
from app.views.health import HealthView
from app.views.ledger import LedgerApi, LedgerView
from app.views.makers import MakerView
from app.views.manufacturers import ManufacturerView
from app.views.openapi import OpenApi, SwaggerView
from app.views.organizations import OrganizationView
from app.views.profile import ProfileView
from app.views.report_selection import ReportSelectionView
from app.views.reports import ReportApi, ReportDownloadView
from app.views.session_timer import SessionTimerView
from app.views.system_api import SystemChangesApi, SystemReportApi, SystemUploadApi
from app.views.system_push import SystemLedgerApi, SystemMastersApi
from app.views.upload import UploadView
from app.views.upload_api import UploadApi
from app.views.users_api import UserApi, register_id_fallback


def register_views(appbuilder) -> None:
    appbuilder.add_view_no_menu(HealthView())
    appbuilder.add_view_no_menu(ProfileView())
    appbuilder.add_view_no_menu(SessionTimerView())
    register_report_views(appbuilder)
    appbuilder.add_view(
        OrganizationView,
        "Organizations",
        icon="fa-building",
        label=_l("組織"),
        category="Administration",
        category_label=_l("管理"),
    )
    appbuilder.add_view(AuditLogView, "AuditLog", icon="fa-list-alt", label=_l("監査ログ"),
                        category="Administration")
    appbuilder.add_api(UserApi)  # screen 2's API; the screen is the security manager's user view
    register_id_fallback(current_app)
    register_machine_access(appbuilder)
    register_me_data_views(appbuilder)
    register_classification_views(appbuilder)
    register_dealer_views(appbuilder)
    register_openapi(appbuilder)


def register_openapi(appbuilder) -> None:
    """/api/v1/_openapi (the contract of every API) and Swagger UI (app.views.openapi)."""
    appbuilder.add_api(OpenApi)
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_view_no_menu(SwaggerView)


def register_machine_access(appbuilder) -> None:
    """API keys (screen and API) and the on-prem systems' System APIs."""
    appbuilder.add_view(ApiKeyView, "API Keys", icon="fa-key", label=_l("APIキー"),
                        category="Administration", category_label=_l("管理"))
    appbuilder.add_api(ApiKeyApi)
    appbuilder.add_api(SystemUploadApi)
    appbuilder.add_api(SystemReportApi)
    appbuilder.add_api(SystemChangesApi)
    appbuilder.add_api(SystemMastersApi)
    appbuilder.add_api(SystemLedgerApi)


def register_classification_views(appbuilder) -> None:
    masters = dict(category="Masters", category_label=_l("マスタ"))
    appbuilder.add_view(ReportSelectionView, "Report Selection", icon="fa-list-ol",
                        label=_l("レポート出力対象の機器分類"), **masters)
    appbuilder.add_view(ClassificationMappingView, "Classification Mapping", icon="fa-link",
                        label=_l("機器分類の紐付け"), **masters)
    appbuilder.add_view(SmdsMasterView, "SMDS Classifications", icon="fa-sitemap",
                        label=_l("SMDS機器分類マスタ"), **masters)
    appbuilder.add_view(MakerView, "Makers", icon="fa-industry", label=_l("メーカー"), **masters)
    appbuilder.add_api(ClassificationApi)
    # Read and check the suggester's device lexicon and its kana readings at start: the first
    # mapping screen does not pay for them, and a broken lexicon.csv or readings.csv stops the
    # app here rather than on that screen.
    lexicon()
    warm_readings()


def register_dealer_views(appbuilder) -> None:
    """Screens 8 (dealer permissions) and 9 (manufacturer's hospitals), the dealer switcher."""
    appbuilder.add_view(DealerPermissionView, "Dealer Permissions", icon="fa-handshake",
                        label=_l("ディーラー権限の登録"), category="Administration",
                        category_label=_l("管理"))
    appbuilder.add_view_no_menu(DealerHospitalView())
    manufacturer = dict(category="Manufacturer", category_label=_l("メーカー"))
    appbuilder.add_view(ManufacturerView, "Manufacturer Figures", icon="fa-chart-bar",
                        label=_l("選択医療機関の分析"), **manufacturer)
    appbuilder.add_link("Manufacturer Selection", href="/manufacturer/selection",
                        icon="fa-list-ol", label=_l("閲覧する医療機関の選択"), **manufacturer)
    current_app.context_processor(switcher_context)


def register_me_data_views(appbuilder) -> None:
    """Screens 3 (upload) and 5 (ledger maintenance) and their APIs."""
    me_data = dict(category="MEData", category_label=_l("MEデータ"))
    appbuilder.add_view(UploadView, "Upload", icon="fa-upload",
                        label=_l("MEシステムデータのアップロード"), **me_data)
    appbuilder.add_view(LedgerView, "Ledger", icon="fa-list",
                        label=_l("機器台帳のメンテナンス"), **me_data)
    appbuilder.add_api(UploadApi)
    appbuilder.add_api(LedgerApi)


def register_report_views(appbuilder) -> None:
    """Dashboard and screen 4 (report download), with the reports API."""
    appbuilder.add_view(DashboardView, "Dashboard", icon="fa-dashboard", label=_l("ダッシュボード"))
    appbuilder.add_view(ReportDownloadView, "Reports", icon="fa-file-excel-o",
                        label=_l("分析レポートのダウンロード"))
    appbuilder.add_api(ReportApi)
    appbuilder.add_api(DashboardFiguresApi)  # /api/v1/reports/figures, under the dashboard's permission
