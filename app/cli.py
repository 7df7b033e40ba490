"""``flask optiserve …`` commands: roles, seeds, the first Admin, worker, change-log retention."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

optiserve_cli = AppGroup("optiserve", help="OptiServe administration commands.")


@optiserve_cli.command("sync-roles")
def sync_roles_command() -> None:
    """Create the declared roles and give each exactly its declared permissions."""
    from app.access.role_sync import sync_roles

    for role, count in sync_roles().items():
        click.echo(f"{role}: {count} permissions")


seed_cli = AppGroup("seed", help="Load master data (anywhere) or demo data (never in production).")
optiserve_cli.add_command(seed_cli)


@seed_cli.command("masters")
def seed_masters_command() -> None:
    """SMDS classifications and makers (idempotent; safe in production)."""
    from app.seeding.seed import seed_masters

    for line in seed_masters():
        click.echo(line)


@seed_cli.command("demo")
@click.option("--no-activity", is_flag=True, help="Only organizations and accounts, no year of activity.")
def seed_demo_command(no_activity: bool) -> None:
    """Demo organizations and accounts (shared password in README.md), their settings and a
    fictional year of activity for H0001 and a smaller one for the other hospitals the demo
    manufacturer selects (idempotent). Refused when OPTISERVE_ENV=production."""
    from app.seeding.seed import DemoRefused, seed_demo

    try:
        lines = seed_demo()
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)
    if not no_activity:
        from app.seeding.demo_activity import generate_demo_reports, seed_demo_activity

        click.echo(seed_demo_activity())
        click.echo(generate_demo_reports())


@optiserve_cli.command("create-admin")
@click.option("--email", required=True, help="The first Admin's e-mail address.")
@click.option("--name", required=True, help="The first Admin's name.")
@click.option("--organization", "code", default="OP0001", show_default=True,
              help="Code of the operator organization (created when missing).")
@click.option("--organization-name", default="SMDS運営事務局", show_default=True,
              help="Name of the operator organization when it is created.")
def create_admin_command(email: str, name: str, code: str, organization_name: str) -> None:
    """Create the first Admin and print a one-time first-login link (password and second
    factor are set by the person who opens it)."""
    from app.services.accounts.first_admin import FirstAdminError, create_first_admin

    try:
        user, link = create_first_admin(email, name, code, organization_name)
    except FirstAdminError as exc:
        raise click.ClickException(str(exc)) from None
    hours = current_app.config["INVITATION_HOURS"]
    click.echo(f"Admin {user.email} (organization {user.organization.code}) is waiting for its first login.")
    click.echo(f"One-time link, valid for {hours} hours:")
    click.echo(link)


@optiserve_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker inside the application context.

    Work a dead worker or a lost Redis left queued or processing (uploads, reports) is
    re-queued (or failed) first; see app/jobs/worker.py.
    """
    from app.infra.queue import QUEUE_NAMES, get_queue
    from app.jobs.worker import run_worker

    queues = [get_queue(name) for name in QUEUE_NAMES]
    click.echo(f"worker on {current_app.config['REDIS_URL']}")
    run_worker(queues, burst=burst, echo=click.echo)


@optiserve_cli.command("audit-verify")
def audit_verify_command() -> None:
    """Check the audit log's keyed hash chain against the newest anchor: prints OK, or what
    is broken (first broken row, deleted tail, rewritten rows) and exits 1."""
    from app.services.audit.anchors import verify

    ok, lines = verify()
    for line in lines:
        click.echo(line)
    if not ok:
        raise SystemExit(1)


@optiserve_cli.command("audit-anchor")
def audit_anchor_command() -> None:
    """Write the audit chain's head (last id, hash, time) to storage outside the database;
    the worker does this every AUDIT_ANCHOR_MINUTES, this is for cron / EventBridge."""
    from app.services.audit.anchors import ChainBroken, write_anchor

    try:
        outcome, anchor = write_anchor()
    except ChainBroken as exc:
        click.echo(f"BROKEN, no anchor written: {exc}")
        raise SystemExit(1)
    detail = f" id={anchor.last_id} {anchor.storage_key}" if anchor else ""
    click.echo(f"{outcome}{detail}")


reports_cli = AppGroup("reports", help="Monthly analysis reports.")
optiserve_cli.add_command(reports_cli)
BUSY = "skipped: another report run of this hospital is in progress; try again later"

from app.sync_client import sync_cli  # noqa: E402  (each direction adds its command to the group)
from app.sync_client.pull import pull_command  # noqa: E402
from app.sync_client.push import push_cli  # noqa: E402

sync_cli.add_command(pull_command)
sync_cli.add_command(push_cli)
optiserve_cli.add_command(sync_cli)


@reports_cli.command("run")
@click.option("--month", required=True, help="Target month, YYYY-MM.")
@click.option("--hospital", "codes", multiple=True, help="A hospital code (repeatable); default: all.")
@click.option("--now", "inline", is_flag=True, help="Generate in this process instead of queueing.")
@click.option("--force", is_flag=True, help="A new version even if the figures did not change.")
def reports_run_command(month: str, codes: tuple[str, ...], inline: bool, force: bool) -> None:
    """Generate (queue) the reports of a month for every hospital — the monthly scheduled task.

    A month already published gets a new version only when its figures changed."""
    from rq import Retry
    from sqlalchemy import select

    from app.extensions import db
    from app.jobs.reports import generate_report_job, parse_month
    from app.models import Organization, OrganizationKind
    from app.services.reports import enqueue_report, refresh_statistics

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
            outcome = generate_report_job(hospital_id, f"{target:%Y-%m}", force)
            click.echo(f"{code}: {BUSY if isinstance(outcome, Retry) else outcome}")
        else:
            click.echo(f"{code}: queued {enqueue_report(hospital_id, target, force).id}")


@reports_cli.command("revise")
@click.option("--hospital", "codes", multiple=True, help="A hospital code (repeatable); default: all.")
@click.option("--since", help="Only published months from YYYY-MM on.")
def reports_revise_command(codes: tuple[str, ...], since: str | None) -> None:
    """Recompute published months now; a new version (and a 改訂 mail) for each whose
    figures changed."""
    from sqlalchemy import select

    from app.core.months import parse_month
    from app.extensions import db
    from app.infra.locks import DEFAULT_HOLD_SECONDS, hospital_reports_lock
    from app.models import Organization, OrganizationKind
    from app.services.reports.service import revise_published_months

    start = parse_month(since) if since else None
    if since and start is None:
        raise click.BadParameter("YYYY-MM の形式で指定してください（例: 2025-05）", param_hint="--since")
    query = select(Organization).where(Organization.kind == OrganizationKind.hospital.value)
    if codes:
        query = query.where(Organization.code.in_(codes))
    wait = current_app.config["REPORT_LOCK_WAIT_SECONDS"]
    for hospital_id, code in [(h.id, h.code) for h in db.session.scalars(query.order_by(Organization.code))]:
        # the hospital's report jobs may be running: take turns with them (app/jobs/reports.py)
        with hospital_reports_lock(hospital_id, DEFAULT_HOLD_SECONDS, wait) as acquired:
            if not acquired:
                click.echo(f"{code}: {BUSY}")
                continue
            for month, publication in revise_published_months(hospital_id, start).items():
                click.echo(f"{code} {month:%Y-%m}: {publication}")


changes_cli = AppGroup("changes", help="The change log the on-prem systems pull.")
optiserve_cli.add_command(changes_cli)


@changes_cli.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=0), default=None,
              help="Retention in days (default: CHANGE_LOG_RETENTION_DAYS, 90).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Entries examined per transaction (default 5000).")
def changes_prune_command(older_than_days: int | None, batch_size: int | None) -> None:
    """Delete change-log entries older than the retention that a newer entry of the same
    thing supersedes (each thing's first and latest entries stay; docs/api.md), committing
    batch by batch."""
    from app.services.sync.retention import DEFAULT_BATCH_SIZE, prune_changes
    from app.services.unit_of_work import unit_of_work

    days = current_app.config["CHANGE_LOG_RETENTION_DAYS"] if older_than_days is None else older_than_days
    with unit_of_work() as session:  # prune_changes commits each batch; this rolls back a failed one
        result = prune_changes(session, days, batch_size=batch_size or DEFAULT_BATCH_SIZE)
    click.echo(f"change log: entries before {result.cutoff:%Y-%m-%d %H:%M} UTC ({days} days), "
               f"{result.total} superseded removed")
    for entity, count in result.removed.items():
        click.echo(f"  {entity}: {count}")


@optiserve_cli.command("rotate-totp-key")
def rotate_totp_key_command() -> None:
    """Re-encrypt every TOTP secret with the first key of TOTP_ENCRYPTION_KEY (rotation: put
    the new key first, keep the old one after it, run this, then drop the old key)."""
    from app.services.accounts.totp import rotate_totp_secrets

    rewritten, unreadable = rotate_totp_secrets()
    click.echo(f"re-encrypted {rewritten} TOTP secrets")
    if unreadable:
        click.echo(f"{unreadable} secrets open with none of the keys (reset those users' "
                   "second factor)", err=True)
        raise SystemExit(1)
