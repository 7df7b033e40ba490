"""The demo activity that run.py loads for さくら台総合病院: a year of lendings and failures,
last month's reports, and nothing twice."""
import datetime as dt

from app.extensions import db
from app.models import Equipment, Failure, Lending, Organization, ReportFile
from app.seeding.demo_activity import generate_demo_reports, seed_demo_activity
from app.services.reports.figures import compute_figures


def test_demo_activity_fills_dashboard_figures_once(ctx):
    today = dt.date(2026, 11, 29)
    assert "299 devices" in seed_demo_activity(today)
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    lendings = db.session.query(Lending).filter_by(hospital_id=hospital.id).count()
    assert lendings > 5000
    assert db.session.query(Failure).filter_by(hospital_id=hospital.id).count() > 20
    assert db.session.query(Equipment).filter(Equipment.classification_id.is_(None)).count() == 0
    assert seed_demo_activity(today) == "demo activity: already present"
    assert db.session.query(Lending).count() == lendings

    figures = compute_figures(hospital.id, dt.date(2026, 10, 1))
    lending = {row.figure.key: row.value for row in figures.scope("all").lending}
    assert lending["devices"] == 299
    assert 0 < lending["utilization"] < 1


def test_demo_reports_are_generated_for_last_month(ctx):
    seed_demo_activity()
    assert "generated" in generate_demo_reports()
    month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert db.session.query(ReportFile).filter_by(month=month).count() == 3
    assert generate_demo_reports() == "demo reports: already present"
