"""OptiServe: the external platform of streamedix (SMDS)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder

from app.core.encryption import check_totp_key
from app.extensions import db, migrate
from app.infra.i18n import compile_catalogs
from config import Config, check_production

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def _wait_for_sqlite_writers(config) -> None:
    """SQLite has one writer at a time (the audit chain takes the write lock early, see
    app.services.audit.trail): let a writer wait up to 30 s for it instead of pysqlite's 5 s."""
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(config: type | Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` is a class or a mapping that overrides :class:`Config`."""
    app = Flask(__name__, instance_path=Config.INSTANCE_DIR)
    app.config.from_object(Config)
    if isinstance(config, Mapping):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    check_production(app.config)
    _wait_for_sqlite_writers(app.config)
    check_totp_key(app.config)
    compile_catalogs()
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    from app.access import request_policy as policy

    policy.init_csrf(app)  # before AppBuilder, which then exempts its REST APIs
    with app.app_context():
        from app import models  # noqa: F401  (registers every table on the metadata)

        # update_perms=False: permissions are declared in app.access.role_sync, applied by a command.
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        from app.views import register_views

        register_views(appbuilder)
    from app.access.scope import forget_scope
    from app.cli import optiserve_cli

    app.before_request(forget_scope)
    policy.init_app(app)  # after FAB's before_request, which loads the user
    from app.access import api_keys

    api_keys.init_app(app)
    from app.access.dealer_choice import hospital_gate

    app.before_request(hospital_gate)
    from app.views import errors

    errors.init_app(app)

    from app.views import request_audit

    request_audit.init_app(app)  # who/where of audit events; audits refused (403) requests
    app.cli.add_command(optiserve_cli)
    return app
