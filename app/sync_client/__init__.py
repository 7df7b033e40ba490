"""``flask optiserve sync …``: the client an on-prem system runs against OptiServe's System APIs."""
from __future__ import annotations

import click


@click.group("sync")
def sync_cli() -> None:
    """Exchange data with an OptiServe instance over its System APIs (API key of a System account)."""


from app.sync_client.push import push_cli  # noqa: E402  (registers `push`)

sync_cli.add_command(push_cli)
