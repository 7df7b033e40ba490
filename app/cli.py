"""``flask optiserve …`` commands: roles, seeds, worker."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

optiserve_cli = AppGroup("optiserve", help="OptiServe administration commands.")


@optiserve_cli.command("sync-roles")
def sync_roles_command() -> None:
    """Create the declared roles and give each exactly its declared permissions."""
    from .roles import sync_roles

    for role, count in sync_roles().items():
        click.echo(f"{role}: {count} permissions")


@optiserve_cli.command("seed")
def seed_command() -> None:
    """Load masters and demo data (idempotent)."""
    from .seed import seed_all

    for line in seed_all():
        click.echo(line)


@optiserve_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker inside the application context."""
    from rq import Worker

    from .queue import QUEUE_NAMES, get_queue, redis_connection

    queues = [get_queue(name) for name in QUEUE_NAMES]
    click.echo(f"worker on {current_app.config['REDIS_URL']}")
    Worker(queues, connection=redis_connection()).work(burst=burst, with_scheduler=False)
