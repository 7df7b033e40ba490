"""What each pytest-xdist worker process gets for itself.

``pytest.ini`` runs the suite in parallel (``-n``). Every worker (``gw0``, ``gw1``, …) is its
own process with its own session fixture, which builds the schema, seeds it and resets it
after each test, so no two workers may share a database, a Redis db or an instance folder:

- instance folder (SQLite file, embedded Redis, file storage, mail outbox): a sub-folder
  named after the worker in the run's temporary folder;
- PostgreSQL (``DATABASE_URL``): the database name plus ``_gw0``, ``_gw1``, …, created at
  the start of the session and dropped at its end (:func:`create_database`,
  :func:`drop_database`);
- Redis (``REDIS_URL``): the db number plus the worker's index, so CI's base db 13 means
  13 and 14 for two workers (a Redis server has 16 dbs, 0-15, unless configured otherwise).

A serial run (``-n 0``, ``-p no:xdist``) has no ``PYTEST_XDIST_WORKER`` and uses the
configured names unchanged. pytest-xdist sets the variable before it imports conftest.py,
and it must be read before config.py is imported, which reads the environment once.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", …; "" in a serial run


def worker_index(worker: str = WORKER) -> int:
    return int(worker[2:]) if worker else 0


def isolate_worker(environ: MutableMapping[str, str], worker: str = WORKER) -> None:
    """Point ``environ`` at this worker's own instance folder, database and Redis db."""
    # The controlling process imported conftest.py too and set the folder its workers
    # inherit; each worker takes a sub-folder of it.
    base = environ.get("OPTISERVE_INSTANCE_DIR") or tempfile.mkdtemp(prefix="optiserve-test-")
    environ["OPTISERVE_INSTANCE_DIR"] = os.path.join(base, worker) if worker else base
    if not worker:
        return
    if environ.get("DATABASE_URL"):
        environ["DATABASE_URL"] = worker_database_url(environ["DATABASE_URL"], worker)
    if environ.get("REDIS_URL"):
        environ["REDIS_URL"] = worker_redis_url(environ["REDIS_URL"], worker)


def worker_database_url(url: str, worker: str) -> str:
    """``…/optiserve_ci`` → ``…/optiserve_ci_gw0``; a SQLite file ``x.db`` → ``x_gw0.db``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return url
        stem, dot, suffix = parsed.database.rpartition(".")
        name = f"{stem}_{worker}.{suffix}" if dot else f"{parsed.database}_{worker}"
    else:
        name = f"{parsed.database}_{worker}"
    return parsed.set(database=name).render_as_string(hide_password=False)


def worker_redis_url(url: str, worker: str) -> str:
    """The db number (``redis://host/13`` or ``?db=13``) plus the worker's index."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    offset = worker_index(worker)
    if "db" in query or parts.scheme == "unix":
        query["db"] = str(int(query.get("db") or 0) + offset)
        return f"{url.partition('?')[0]}?{urlencode(query)}"  # keeps unix:///path as written
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + offset}"))


def _maintenance_engine(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(url: str) -> None:
    """Create the worker's PostgreSQL database unless it exists (left by an aborted run)."""
    name = make_url(url).database
    engine = _maintenance_engine(url)
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if exists.first() is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(url: str) -> None:
    engine = _maintenance_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()
