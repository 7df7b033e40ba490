"""What the benchmarks share: a throw-away instance folder and the environment defaults, the
app, a fresh schema with roles and seed data, a signed-in test client, and timing helpers.

A bench calls :func:`prepare` before it imports anything of the app, because ``config.py``
reads the environment when it is imported::

    import _harness

    _harness.prepare()
    from app.extensions import db  # noqa: E402 (after the environment is set)

(``python bench/x.py`` puts ``bench/`` on ``sys.path``, so ``import _harness`` finds this file.)
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Config overrides for benches that time the real login path (the production password hash)
# but must not be stopped by the request limits or need a CSRF token.
NO_LIMITS = {"WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False, "RATELIMIT_ENABLED": False}


def prepare(prefix: str = "optiserve-bench-", *, files: bool = False, **env_defaults: str) -> str:
    """Put the repository on ``sys.path`` and make a temporary instance folder; return it.

    The environment wins over every default here (``DATABASE_URL=postgresql://…`` runs a bench
    on PostgreSQL). ``files``: the database (SQLite), storage and mail outbox default to the
    folder too, by name, so a bench can print or reuse them; without it the app's own
    defaults inside the instance folder apply. ``env_defaults``: further variables
    (``OPTISERVE_ENV="test"``, ``LOG_LEVEL="WARNING"``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    work = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("OPTISERVE_INSTANCE_DIR", work)
    if files:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{work}/bench.db")
        os.environ.setdefault("STORAGE_URL", f"file://{work}/storage")
        os.environ.setdefault("MAIL_URL", f"file://{work}/outbox")
    for name, value in env_defaults.items():
        os.environ.setdefault(name, value)
    return work


def make_app(overrides: dict | None = None, *, test_config: bool = False):
    """The app on the environment's database. ``test_config``: on top of
    :class:`config.TestConfig` (fast password hashes, no CSRF, no request limits) instead of
    :class:`config.Config`; ``overrides`` go over either."""
    from app import create_app
    from config import TestConfig

    if test_config:
        return create_app(type("BenchConfig", (TestConfig,), dict(overrides or {})))
    return create_app(overrides)


def create_schema(*, drop: bool = False, roles: bool = False, seed: Iterable[Callable[[], None]] = ()) -> None:
    """In an app context: every table (the old ones dropped first when ``drop``), the roles and
    their permissions when ``roles``, then each of ``seed`` in order (``seed_all``, …)."""
    from flask_appbuilder import Model

    from app.access.role_sync import sync_roles
    from app.extensions import db

    if drop:
        Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    if roles:
        sync_roles()
    for step in seed:
        step()


def add_classification_tree(session, hospital_id: int) -> list[int]:
    """A hospital's own classifications, 10 × 3 × 2 over three levels; returns the 60 leaf ids."""
    from app.models import Classification

    def add(level: int, name: str, parent_id: int | None = None) -> int:
        row = Classification(hospital_id=hospital_id, level=level, parent_id=parent_id, name=name,
                             normalized_name=name)
        session.add(row)
        session.flush()
        return row.id

    leaves = []
    for a in range(10):
        top = add(1, f"大分類{a}")
        for b in range(3):
            middle = add(2, f"中分類{a}-{b}", top)
            leaves += [add(3, f"小分類{a}-{b}-{c}", middle) for c in range(2)]
    return leaves


def add_devices(session, rng, hospital_id: int, leaves: list[int], count: int, *, models: int,
                makers: int) -> list[int]:
    """``count`` devices at random over the ``leaves`` classifications, of ``models`` model
    numbers and ``makers`` makers, 2 % not counted by default; returns their ids."""
    import datetime as dt

    from sqlalchemy import insert

    from app.models import Equipment

    rows = [dict(hospital_id=hospital_id, device_number=f"ME{i:06d}", classification_id=rng.choice(leaves),
                 model_number=f"MODEL-{rng.randrange(models):03d}", maker_name=f"メーカー{rng.randrange(makers)}",
                 product_name="医療機器", department_use=f"病棟{rng.randrange(30)}",
                 expires_on=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(16 * 365)),
                 default_counts=rng.random() > 0.02) for i in range(count)]
    session.execute(insert(Equipment), rows)
    return [e for (e,) in session.query(Equipment.id).filter_by(hospital_id=hospital_id)]


def sign_in(client, app, email: str) -> None:
    """Put ``email``'s user in ``client``'s session as a finished login (password and second
    factor), so a bench times the pages and not the login."""
    from app.access.sessions import GENERATION_KEY, MFA_KEY, SEEN_KEY
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.query(User).filter_by(email=email).one()
        user_id, generation = user.id, user.session_generation
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[MFA_KEY] = "bench"
        session[SEEN_KEY] = int(time.time())
        session[GENERATION_KEY] = generation


def serve(app):
    """Serve ``app`` over HTTP on a free local port from a thread; returns the werkzeug server
    (``shutdown()`` it) and the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@contextlib.contextmanager
def gunicorn(env: dict | None = None, *, workers: int = 2, threads: int = 4, wait_for: str | None = None,
             timeout: float = 120):
    """Serve ``app.wsgi:application`` as the container does (gunicorn, ``workers`` × ``threads``)
    from a fresh process on a free local port, with the environment plus ``env``; yields the
    base URL and, when ``wait_for`` is given, the matches of that regular expression in the
    server's log, once every worker has logged one (the log is read and dropped)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--timeout", "300", "--log-level", "warning", "app.wsgi:application"],
        cwd=ROOT, env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    matches: list[re.Match] = []
    pattern = re.compile(wait_for) if wait_for else None

    def read_log() -> None:
        for line in server.stderr:
            if pattern is not None and (found := pattern.search(line)):
                matches.append(found)

    threading.Thread(target=read_log, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    try:
        while True:
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("gunicorn did not start (or its workers did not log the expected line)")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    up = True
            except OSError:
                up = False
            if up and (pattern is None or len(matches) >= workers):
                break
            time.sleep(0.2)
        yield base, list(matches)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def run_threads(target: Callable[[int], None], count: int) -> float:
    """Run ``target(0)`` … ``target(count - 1)`` in as many threads at once; wall seconds until
    the last ends."""
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def run_times(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of each of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def timed(label: str, fn: Callable[[], object], results: dict):
    """Call ``fn`` once, store its wall seconds in ``results[label]`` and return its value."""
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    return value
