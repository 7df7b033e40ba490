"""Extension singletons, bound to the application in :func:`app.create_app`.

Flask-AppBuilder keeps per-application state (views, menu, security manager) on its
``AppBuilder`` object, so the factory makes one per application and reaches it later as
``current_app.appbuilder``; the database and migration extensions are process-wide.
"""
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
migrate = Migrate()
