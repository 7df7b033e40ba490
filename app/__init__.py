"""OptiServe: the external platform of streamedix (SMDS)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder

from config import Config, check_production

from .auth.encryption import check_totp_key
from .extensions import db, migrate
from .i18n import compile_catalogs

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: type | Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` is a class or a mapping that overrides :class:`Config`."""
    app = Flask(__name__, instance_path=Config.INSTANCE_DIR)
    app.config.from_object(Config)
    if isinstance(config, Mapping):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    check_production(app.config)
    check_totp_key(app.config)
    compile_catalogs()
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    from . import policy

    policy.init_csrf(app)  # before AppBuilder, which then exempts its REST APIs
    with app.app_context():
        from . import models  # noqa: F401  (registers every table on the metadata)

        # update_perms=False: permissions are declared in app.roles, applied by a command.
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        from .views import register_views

        register_views(appbuilder)
    from .cli import optiserve_cli
    from .access.scope import forget_scope

    app.before_request(forget_scope)
    policy.init_app(app)  # after FAB's before_request, which loads the user
    from .dealers import hospital_gate

    app.before_request(hospital_gate)

    app.cli.add_command(optiserve_cli)
    return app
