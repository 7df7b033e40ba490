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


@optiserve_cli.command("seed-demo-activity")
def seed_demo_activity_command() -> None:
    """A fictional year of lendings and failures (and last month's reports) for the demo
    hospital H0001; used by run.py, idempotent."""
    from .seed_demo_activity import generate_demo_reports, seed_demo_activity

    click.echo(seed_demo_activity())
    click.echo(generate_demo_reports())


@optiserve_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker inside the application context.

    Uploads a dead worker left queued or processing are re-queued (or failed) first.
    """
    from .extensions import db
    from .jobs.worker import AppWorker, recover_stuck_uploads
    from .queue import QUEUE_NAMES, get_queue, redis_connection

    queues = [get_queue(name) for name in QUEUE_NAMES]
    click.echo(f"worker on {current_app.config['REDIS_URL']}")
    for upload_id, action in recover_stuck_uploads(queues[0]):
        click.echo(f"upload {upload_id}: {action}")
    db.session.remove()
    db.engine.dispose()  # no pooled connection is inherited by the forked work horses
    # The scheduler runs the delayed retries (Retry intervals) of failed jobs.
    AppWorker(queues, connection=redis_connection()).work(burst=burst, with_scheduler=not burst)


@optiserve_cli.command("audit-verify")
def audit_verify_command() -> None:
    """Check the audit log's hash chain: prints OK, or the first broken row and exits 1."""
    from .audit import verify_chain

    count, broken = verify_chain()
    if broken is not None:
        click.echo(f"BROKEN at audit_event id={broken} (row {count})")
        raise SystemExit(1)
    click.echo(f"OK ({count} rows)")


reports_cli = AppGroup("reports", help="Monthly analysis reports.")
optiserve_cli.add_command(reports_cli)


@reports_cli.command("run")
@click.option("--month", required=True, help="Target month, YYYY-MM.")
@click.option("--hospital", "codes", multiple=True, help="A hospital code (repeatable); default: all.")
@click.option("--now", "inline", is_flag=True, help="Generate in this process instead of queueing.")
@click.option("--force", is_flag=True, help="A new version even if the figures did not change.")
def reports_run_command(month: str, codes: tuple[str, ...], inline: bool, force: bool) -> None:
    """Generate (queue) the reports of a month for every hospital — the monthly scheduled task.

    A month already published gets a new version only when its figures changed."""
    from sqlalchemy import select

    from .extensions import db
    from .jobs.reports import generate_report_job, parse_month
    from .models import Organization, OrganizationKind
    from .reports import enqueue_report, refresh_statistics

    try:
        target = parse_month(month)
    except ValueError:
        raise click.BadParameter("YYYY-MM の形式で指定してください（例: 2025-05）", param_hint="--month")
    query = select(Organization).where(Organization.kind == OrganizationKind.hospital.value)
    if codes:
        query = query.where(Organization.code.in_(codes))
    hospitals = [(h.id, h.code) for h in db.session.scalars(query.order_by(Organization.code))]
    refresh_statistics()
    for hospital_id, code in hospitals:
        if inline:
            click.echo(f"{code}: {generate_report_job(hospital_id, f'{target:%Y-%m}', force)}")
        else:
            click.echo(f"{code}: queued {enqueue_report(hospital_id, target, force).id}")


@reports_cli.command("revise")
@click.option("--hospital", "codes", multiple=True, help="A hospital code (repeatable); default: all.")
@click.option("--since", help="Only published months from YYYY-MM on.")
def reports_revise_command(codes: tuple[str, ...], since: str | None) -> None:
    """Recompute published months now; a new version (and a 改訂 mail) for each whose
    figures changed."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Organization, OrganizationKind
    from .months import parse_month
    from .reports.service import revise_published_months

    start = parse_month(since) if since else None
    if since and start is None:
        raise click.BadParameter("YYYY-MM の形式で指定してください（例: 2025-05）", param_hint="--since")
    query = select(Organization).where(Organization.kind == OrganizationKind.hospital.value)
    if codes:
        query = query.where(Organization.code.in_(codes))
    for hospital_id, code in [(h.id, h.code) for h in db.session.scalars(query.order_by(Organization.code))]:
        for month, publication in revise_published_months(hospital_id, start).items():
            click.echo(f"{code} {month:%Y-%m}: {publication}")


@optiserve_cli.command("rotate-totp-key")
def rotate_totp_key_command() -> None:
    """Re-encrypt every TOTP secret with the first key of TOTP_ENCRYPTION_KEY (rotation: put
    the new key first, keep the old one after it, run this, then drop the old key)."""
    from .auth.encryption import rotate_all

    rewritten, unreadable = rotate_all()
    click.echo(f"re-encrypted {rewritten} TOTP secrets")
    if unreadable:
        click.echo(f"{unreadable} secrets open with none of the keys (reset those users' "
                   "second factor)", err=True)
        raise SystemExit(1)
