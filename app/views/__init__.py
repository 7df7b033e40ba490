"""Registration of every screen and API, in menu order."""
from flask_babel import lazy_gettext as _l

from .health import HealthView
from .organizations import OrganizationView


def register_views(appbuilder) -> None:
    appbuilder.add_view_no_menu(HealthView())
    appbuilder.add_view(
        OrganizationView,
        "Organizations",
        icon="fa-building",
        label=_l("組織"),
        category="Administration",
        category_label=_l("管理"),
    )
