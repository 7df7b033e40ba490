"""The services run without a request (issue 12): in a job or a plain test they get their actor
and settings as arguments, and the audit trail records the actor it was given (no address)."""
from __future__ import annotations

from flask import has_request_context
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DealerPermission, Equipment, EquipmentChange, Organization, ReportFile
from app.services.ingest.pipeline import run_ingest
from app.services.ledger.maintenance import Target, change
from app.services.partners import dealers
from app.services.reports.service import publish_month
from app.services.unit_of_work import unit_of_work

from .conftest import DEALER, HOSPITAL_A, user_by_email
from .ingest_helpers import LEDGER_HEADER, MONTH, csv_bytes, hospital_id, ledger_rows, make_upload


def hospital(code="H0001"):
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def test_ingest_ledger_change_grant_and_report_run_in_a_plain_app_context(ctx):
    assert not has_request_context()
    h = hospital_id("H0001")

    outcome = run_ingest(make_upload(csv_bytes([LEDGER_HEADER, *ledger_rows(6)]), 1))
    assert (outcome.status, outcome.rows_imported) == ("succeeded", 6)

    actor = user_by_email(HOSPITAL_A)
    with unit_of_work():
        changed = change(h, Target(everything=True), counts=False, reason="集計対象外に", user_id=actor.id)
    assert changed == 6
    assert not any(e.counts_in_aggregation for e in db.session.scalars(select(Equipment).where(Equipment.hospital_id == h)))
    assert db.session.query(EquipmentChange).filter_by(reason="集計対象外に").count() == 6

    with unit_of_work():
        dealers.grant(hospital(), DEALER, 2, "マスタ設定を委託", actor)
    permission = db.session.scalars(select(DealerPermission).where(DealerPermission.hospital_id == h)).one()
    assert permission.level == 2 and permission.granted_by_id == actor.id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dealer_permission.grant")).one()
    assert (event.actor_id, event.ip) == (actor.id, None)

    publication = publish_month(h, MONTH, notify=False)
    assert publication.outcome == "published"
    stored = db.session.scalars(select(ReportFile).where(ReportFile.hospital_id == h, ReportFile.month == MONTH)).all()
    assert stored and all(row.storage_key for row in stored)


def test_a_failed_unit_of_work_stores_nothing_and_sends_nothing(ctx, monkeypatch):
    sent = []
    monkeypatch.setattr(dealers, "send_mail", lambda *args, **kwargs: sent.append(args))
    actor = user_by_email(HOSPITAL_A)
    h = hospital().id
    level_before = db.session.scalars(select(DealerPermission.level).where(DealerPermission.hospital_id == h)).one()
    audit_before = db.session.query(AuditEvent).count()
    try:
        with unit_of_work():
            dealers.grant(hospital(), DEALER, 1, "閲覧のみに変更", actor)
            raise RuntimeError("the handler failed after the service")
    except RuntimeError:
        pass
    assert db.session.scalars(select(DealerPermission.level).where(DealerPermission.hospital_id == h)).one() \
        == level_before != 1
    assert db.session.query(AuditEvent).count() == audit_before
    assert sent == []
    with unit_of_work():
        dealers.grant(hospital(), DEALER, 1, "閲覧のみに変更", actor)
    assert db.session.scalars(select(DealerPermission.level).where(DealerPermission.hospital_id == h)).one() == 1
    assert len(sent) == 1 and sent[0][0] == [DEALER]
