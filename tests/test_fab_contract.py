"""OptiServe relies on a few Flask-AppBuilder internals (listed in app.access.security_manager.FAB_OVERRIDES
and app.views.base). This test fails when FAB changes version, so whoever upgrades FAB
re-reads those internals first."""
import importlib

import flask_appbuilder

from app.access.security_manager import FAB_OVERRIDES

PINNED_FAB_VERSION = "5.3.0"


def test_fab_version_is_the_pinned_one():
    assert flask_appbuilder.__version__ == PINNED_FAB_VERSION, (
        "Flask-AppBuilder changed: check every entry of app.access.security_manager.FAB_OVERRIDES and the "
        "paths app/views/base.py guards (action, action_post, download, datamodel.get)"
    )


def test_overridden_fab_internals_still_exist():
    for dotted_class, attribute in FAB_OVERRIDES:
        module_name, class_name = dotted_class.rsplit(".", 1)
        cls = getattr(importlib.import_module(module_name), class_name)
        assert hasattr(cls, attribute), f"{dotted_class}.{attribute} is gone"
