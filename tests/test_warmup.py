"""The start-up warm-up of a gunicorn worker (app/warmup.py): after it, the first visit of
screen 7 ranks nothing and compiles no template; on a database not migrated yet the
process still starts and serves; create_app (tests, ``flask`` commands) never warms up."""
from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from app import create_app
from app.extensions import db
from app.models import Organization
from app.services.classifications.suggest import suggest_cached
from app.warmup import THREAD_NAME, hospitals_to_warm, start_warm_up, warm_mapping_pages, warm_up
from config import TestConfig

from .conftest import HOSPITAL_A, HOSPITAL_B, login_as, user_by_email
from .test_classifications import first_page

ROOT = Path(__file__).resolve().parent.parent


def test_after_the_warm_up_the_first_mapping_page_ranks_and_compiles_nothing(app, client):
    suggest_cached.cache_clear()
    app.jinja_env.cache.clear()
    try:
        done = warm_up(app)
    finally:
        gc.unfreeze()  # the rest of the test session collects as before
    assert done["hospitals"] >= 3 and done["templates"] > 50
    ranked = suggest_cached.cache_info()
    assert ranked.currsize >= 50
    compiled = set(app.jinja_env.cache)
    login_as(client, HOSPITAL_A)
    response = client.get("/classification-mapping/")
    assert response.status_code == 200
    rows = first_page(response)["rows"]
    assert len(rows) == 50 and sum(1 for r in rows if r["suggestions"]) >= 40
    # Every suggestion on the page came from the warm-up's ranking, every template compiled.
    assert suggest_cached.cache_info().misses == ranked.misses
    assert set(app.jinja_env.cache) == compiled


def test_the_hospitals_whose_users_logged_in_last_are_warmed_first(ctx):
    a, b = (user_by_email(email) for email in (HOSPITAL_A, HOSPITAL_B))
    a.last_login, b.last_login = dt.datetime(2026, 1, 5, 9, 0), dt.datetime(2026, 1, 6, 9, 0)
    db.session.commit()
    order = hospitals_to_warm(db.session)
    assert order[:2] == [b.organization_id, a.organization_id]
    hospitals = db.session.query(Organization).filter_by(kind="hospital", is_active=True).count()
    assert len(order) == hospitals and len(hospitals_to_warm(db.session, 1)) == 1


def test_warm_up_hospitals_caps_the_mapping_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "WARM_UP_HOSPITALS", 1)
    assert warm_mapping_pages(app) == 1
    monkeypatch.setitem(app.config, "WARM_UP_HOSPITALS", 0)
    assert warm_mapping_pages(app) == 0


def test_an_unmigrated_database_skips_the_mapping_pages(tmp_path, caplog):
    class Empty(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'empty.db'}"

    empty = create_app(Empty)
    assert not any(t.name == THREAD_NAME for t in threading.enumerate())  # create_app: none
    with caplog.at_level(logging.INFO, logger="app.warmup"):
        thread = start_warm_up(empty)
        thread.join(120)
    gc.unfreeze()
    assert not thread.is_alive()
    assert "mapping pages skipped" in caplog.text and "warm-up done" in caplog.text
    assert "warm-up failed" not in caplog.text

    class Off(Empty):
        WARM_UP_AT_START = False

    assert start_warm_up(create_app(Off)) is None


def test_the_gunicorn_entry_point_starts_on_an_empty_database(tmp_path):
    """app/wsgi.py as a worker imports it, on a database without tables: it serves /health
    while the warm-up logs that it skipped the mapping pages."""
    script = (
        "import threading\n"
        "import app.wsgi as w\n"
        "from app.warmup import THREAD_NAME\n"
        "print(w.application.test_client().get('/health').status_code, flush=True)\n"
        "for t in threading.enumerate():\n"
        "    if t.name == THREAD_NAME: t.join(120)\n"
        "print('done', flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WARM_UP_AT_START")}
    env.update(OPTISERVE_ENV="test", OPTISERVE_INSTANCE_DIR=str(tmp_path), LOG_LEVEL="INFO",
               DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "done"]
    assert "mapping pages skipped" in result.stderr and "warm-up done" in result.stderr
