"""Warm a serving process up after it starts, so a user's first screen after a deploy (or
after a task started from zero) does not pay for what every later one finds ready.

What a fresh process pays on its first screen 7 (bench/mapping_page.py, measured):

- ranking the suggestions of the page's 50 rows (``suggest_cached``): most of it. Each name
  is compared with every master class, and what is computed is per name, so it cannot be
  built in advance without the data: :func:`warm_up` ranks the first page of each active
  hospital's mapping screen as the screen asks for it (no filter, page 1) — the same rows,
  arguments and cache entries, and the same SQL (whose compiled form SQLAlchemy caches) —,
  hospitals whose users logged in last first, at most ``WARM_UP_HOSPITALS``. Later pages, a
  filter, the bulk preview and rows that reach page 1 once others are mapped still rank on
  demand, as before;
- compiling the Jinja templates (the layout every screen extends, then the screen's own);
- a full garbage collection run in the middle of a request once start-up has left a large
  heap: :func:`warm_up` ends with ``gc.freeze()``, which moves what exists by then (modules,
  templates, the lexicon, these caches: kept for the life of the process) out of the
  collector's sight, so later collections walk only what requests create.

The device lexicon and the kana readings are built by ``create_app`` already
(app/views/__init__.py), so a broken CSV stops the app at start.

Only the gunicorn entry point (app/wsgi.py) warms up, from a background thread
(:func:`start_warm_up`): a worker answers (``/health``) at once, and a request that comes
during the warm-up is served as without it. ``create_app`` never warms up, so tests and the
``flask`` commands (``db upgrade`` on an empty database, ``fab``) start as fast as before.
``WARM_UP_AT_START=false`` turns it off. A database that cannot be read yet (not migrated)
is logged and skipped: the process serves as without the warm-up.
"""
from __future__ import annotations

import gc
import logging
import threading
import time

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# The hospitals whose first mapping page is ranked at start, at most (``WARM_UP_HOSPITALS``
# overrides it): each is ~50-75 entries of suggest_cached (32768 entries) and ~0.2 s of one
# core of the bench machine (the web task's quarter vCPU takes about four times as long). The
# warm-up thread shares the interpreter with the first requests, so it stays short: the
# hospitals most likely to come first, not all of them (~4 s of the web task's CPU).
MAX_HOSPITALS = 20
THREAD_NAME = "optiserve-warm-up"


def warm_templates(app: Flask) -> int:
    """Compile every template the app can render (the app's, FAB's it uses, the layouts);
    returns how many. Jinja keeps them in its environment's cache."""
    env = app.jinja_env
    count = 0
    for name in env.list_templates(extensions=("html", "txt", "js", "xml")):
        try:
            env.get_template(name)
            count += 1
        except Exception:  # a template that does not compile fails where it is used, as before
            log.warning("warm-up: template %s does not compile", name, exc_info=True)
    return count


def hospitals_to_warm(session, limit: int = MAX_HOSPITALS) -> list[int]:
    """The active hospitals, those whose users logged in last first (the likeliest first
    visitors), then by id; at most ``limit``."""
    from sqlalchemy import func

    from app.models import Organization, OrganizationKind, User

    return [hid for (hid,) in session.query(Organization.id)
            .outerjoin(User, User.organization_id == Organization.id)
            .filter(Organization.kind == OrganizationKind.hospital.value, Organization.is_active.is_(True))
            .group_by(Organization.id)
            .order_by(func.max(User.last_login).desc().nulls_last(), Organization.id)
            .limit(limit)]


def warm_mapping_pages(app: Flask, limit: int | None = None) -> int:
    """Rank the first page of screen 7 (no filter, page 1) of each of :func:`hospitals_to_warm`
    (``limit``, by default ``WARM_UP_HOSPITALS``); returns how many. Read-only; the session is
    removed at the end."""
    if limit is None:
        limit = app.config.get("WARM_UP_HOSPITALS", MAX_HOSPITALS)
    from app.extensions import db
    from app.services.classifications import screen

    with app.app_context():
        try:
            hospital_ids = hospitals_to_warm(db.session, limit)
            for hospital_id in hospital_ids:
                screen.mapping_page(db.session, hospital_id, screen.MappingFilter())
                db.session.rollback()  # no transaction held open between hospitals
        finally:
            db.session.remove()
    return len(hospital_ids)


def warm_up(app: Flask) -> dict[str, float]:
    """Everything :mod:`app.warmup` says, now, in this thread; returns what it did and the
    milliseconds each step took (also logged)."""
    started = time.perf_counter()
    done: dict[str, float] = {"templates": float(warm_templates(app))}
    done["templates_ms"] = (time.perf_counter() - started) * 1000
    step = time.perf_counter()
    try:
        done["hospitals"] = float(warm_mapping_pages(app))
    except SQLAlchemyError as exc:  # no tables yet (before `flask db upgrade`), database away
        log.warning("warm-up: mapping pages skipped (%s)", type(exc).__name__)
        done["hospitals"] = 0.0
    done["mapping_ms"] = (time.perf_counter() - step) * 1000
    step = time.perf_counter()
    gc.collect()
    gc.freeze()
    done["gc_ms"] = (time.perf_counter() - step) * 1000
    done["total_ms"] = (time.perf_counter() - started) * 1000
    log.info("warm-up done in %.0f ms: %d templates in %.0f ms, first mapping page of %d hospitals "
             "in %.0f ms, gc.freeze in %.0f ms", done["total_ms"], done["templates"], done["templates_ms"],
             done["hospitals"], done["mapping_ms"], done["gc_ms"])
    return done


def start_warm_up(app: Flask) -> threading.Thread | None:
    """:func:`warm_up` in a daemon thread (None when ``WARM_UP_AT_START`` is off). A failure is
    logged, never raised: the process serves without it."""
    if not app.config.get("WARM_UP_AT_START", True):
        return None

    def run() -> None:
        try:
            warm_up(app)
        except Exception:
            log.exception("warm-up failed; serving without it")

    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread
