"""Liveness and readiness probes for the load balancer; no login, no data."""
from __future__ import annotations

from flask import jsonify
from flask_appbuilder import BaseView, expose
from sqlalchemy import text

from app.extensions import db
from app.infra.queue import redis_connection


class HealthView(BaseView):
    route_base = ""
    default_view = "health"

    @expose("/health")
    def health(self):
        return jsonify(status="ok")

    @expose("/ready")
    def ready(self):
        checks = {}
        try:
            db.session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means "not ready", reported, not raised
            db.session.rollback()
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "error", checks=checks), 200 if ready else 503
