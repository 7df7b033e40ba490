"""The hash-chained audit log, its verification command and its read-only screen."""
from sqlalchemy import text

from app import audit
from app.extensions import db
from app.models import AuditEvent, Organization

from .conftest import ADMIN, HOSPITAL_A, ORGADMIN_A, login_as


def make_events(n=3):
    org = db.session.query(Organization).filter_by(code="H0001").one()
    for i in range(n):
        audit.record("test.event", org, organization_id=org.id, changes={"i": [i, i + 1]})
    db.session.commit()


def run_verify(app):
    runner = app.test_cli_runner()
    return runner.invoke(args=["optiserve", "audit-verify"])


def test_chain_links_each_row_to_the_previous(ctx):
    make_events(3)
    rows = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    assert rows[0].prev_hash == audit.GENESIS or len(rows) > 3
    for before, after in zip(rows, rows[1:]):
        assert after.prev_hash == before.row_hash
    assert audit.verify_chain() == (len(rows), None)


def test_verify_ok_then_names_the_edited_row(app, ctx):
    make_events(4)
    result = run_verify(app)
    assert result.exit_code == 0 and result.output.startswith("OK")
    target = db.session.query(AuditEvent).order_by(AuditEvent.id).all()[2]
    db.session.execute(text("UPDATE audit_event SET actor_email = 'x@evil' WHERE id = :id"),
                       {"id": target.id})
    db.session.commit()
    result = run_verify(app)
    assert result.exit_code != 0 and f"id={target.id}" in result.output


def test_deleting_a_row_breaks_the_chain(app, ctx):
    make_events(3)
    ids = [i for (i,) in db.session.query(AuditEvent.id).order_by(AuditEvent.id)]
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    assert audit.verify_chain()[1] == ids[2]


def test_orgadmin_sees_only_own_organization_events(client, ctx):
    make_events(1)
    other = db.session.query(Organization).filter_by(code="H0002").one()
    audit.record("test.other", other, organization_id=other.id)
    db.session.commit()
    other_id = db.session.query(AuditEvent).filter_by(action="test.other").one().id
    login_as(client, ORGADMIN_A)
    page = client.get("/audit/list/").get_data(as_text=True)
    assert "test.event" in page and "test.other" not in page
    assert client.get(f"/audit/show/{other_id}").status_code == 404
    login_as(client, ADMIN)
    assert "test.other" in client.get("/audit/list/").get_data(as_text=True)


def test_audit_log_is_read_only_and_hidden_from_plain_users(client, ctx):
    make_events(1)
    event_id = db.session.query(AuditEvent.id).filter_by(action="test.event").first()[0]
    login_as(client, ADMIN)
    assert client.post(f"/audit/edit/{event_id}", data={"action": "x"}).status_code in (403, 404, 405)
    assert client.post(f"/audit/delete/{event_id}").status_code in (403, 404, 405)
    assert db.session.get(AuditEvent, event_id).action == "test.event"
    login_as(client, HOSPITAL_A)
    assert client.get("/audit/list/").status_code in (302, 403)
