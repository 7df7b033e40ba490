"""Masters and demo data. Every function is idempotent: it updates what exists.

Masters (the SMDS classification list, the makers and their spellings) are safe anywhere:
``flask optiserve seed masters``. Demo data (fictional organizations, accounts whose shared
password is in README.md, their classifications and partner settings, a year of activity)
is for local and test instances only: ``flask optiserve seed demo`` refuses when
``OPTISERVE_ENV=production`` (:class:`DemoRefused`). A production instance gets its first
Admin from ``flask optiserve create-admin`` (app/first_admin.py). Masters are read from
``seeds/`` (never from outside the project).
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from app.extensions import db
from app.models import Organization, User, UserStatus

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
DEMO_PASSWORD = "OptiServe-demo-2026"

DEMO_ORGANIZATIONS = [
    dict(code="OP0001", kind="operator", name="SMDS運営事務局", allowed_email_domains="smds.example",
         postal_code="100-0005", prefecture="東京都", city="千代田区", address_line1="丸の内1-1-1",
         phone="03-1234-5678", notification_emails="ops@smds.example"),
    dict(code="H0001", kind="hospital", name="さくら台総合病院", allowed_email_domains="sakura-hp.example.jp",
         postal_code="260-0001", prefecture="千葉県", city="千葉市中央区", address_line1="さくら台1-2-3",
         phone="043-123-4567", notification_emails="me-center@sakura-hp.example.jp",
         report_rank_count=5, analysis_level=2, allows_manufacturer_access=True),
    dict(code="H0002", kind="hospital", name="みなと中央病院", allowed_email_domains="minato-hp.example.jp",
         postal_code="231-0001", prefecture="神奈川県", city="横浜市中区", address_line1="みなと町2-3-4",
         phone="045-234-5678", notification_emails="me@minato-hp.example.jp",
         report_rank_count=5, analysis_level=1, allows_manufacturer_access=True),
    dict(code="H0003", kind="hospital", name="あおば記念病院", allowed_email_domains="aoba-hp.example.jp",
         postal_code="980-0001", prefecture="宮城県", city="仙台市青葉区", address_line1="あおば通3-4-5",
         phone="022-345-6789", notification_emails="ce@aoba-hp.example.jp",
         report_rank_count=10, analysis_level=3, allows_manufacturer_access=True),
    dict(code="D0001", kind="dealer", name="東和メディカルサービス株式会社",
         allowed_email_domains="towa-medical.example.jp", phone="03-2345-6789"),
    dict(code="M0001", kind="manufacturer", name="日本メディテック株式会社",
         allowed_email_domains="meditech.example.jp", phone="03-3456-7890",
         manufacturer_selection_count=5),
]

# (role, e-mail, name, organization code); one demo user per role, plus a user of each other
# demo hospital so tenant isolation can be tried by hand.
DEMO_USERS = [
    ("Admin", "admin@smds.example", "管理者 太郎", "OP0001"),
    ("Operator", "operator@smds.example", "運用 花子", "OP0001"),
    ("OrgAdmin", "orgadmin@sakura-hp.example.jp", "桜井 管理", "H0001"),
    ("HospitalUser", "user@sakura-hp.example.jp", "佐藤 臨床", "H0001"),
    ("HospitalUser", "user@minato-hp.example.jp", "港 工学", "H0002"),
    ("HospitalUser", "user@aoba-hp.example.jp", "青葉 臨床", "H0003"),
    ("DealerUser", "dealer@towa-medical.example.jp", "東和 営業", "D0001"),
    ("ManufacturerUser", "maker@meditech.example.jp", "日本 開発", "M0001"),
    ("System", "system@smds.example", "datahub", "OP0001"),
]


def seed_organizations() -> dict[str, Organization]:
    by_code = {}
    for values in DEMO_ORGANIZATIONS:
        organization = db.session.query(Organization).filter_by(code=values["code"]).one_or_none()
        if organization is None:
            organization = Organization(**values)
            db.session.add(organization)
        by_code[values["code"]] = organization
    db.session.flush()
    return by_code


def seed_users(organizations: dict[str, Organization]) -> int:
    sm = current_app.appbuilder.sm
    created = 0
    for role_name, email, name, code in DEMO_USERS:
        if db.session.query(User).filter_by(email=email).one_or_none() is not None:
            continue
        role = sm.find_role(role_name)
        user = User(
            first_name=name, last_name="", username=email, email=email, active=True,
            status=UserStatus.active, organization=organizations[code], phone="03-0000-0000",
            password=sm.hash_password(DEMO_PASSWORD), roles=[role],
        )
        db.session.add(user)
        created += 1
    return created


class DemoRefused(RuntimeError):
    """Demo accounts (with a published password) must never reach a production database."""


def seed_masters() -> list[str]:
    """The master data every instance needs; no organization, no account."""
    from app.seeding.classifications import seed_common_classifications, seed_makers

    common = seed_common_classifications()
    makers = seed_makers()
    db.session.commit()
    return [f"common classifications created: {common}", f"makers created: {makers}"]


def refuse_in_production(config) -> None:
    if config.get("OPTISERVE_ENV") == "production":
        raise DemoRefused(
            "OPTISERVE_ENV=production: demo organizations and accounts (their password is published "
            "in README.md) are never loaded into a production database. Use "
            "`flask optiserve seed masters` and `flask optiserve create-admin --email … --name …`."
        )


def seed_demo() -> list[str]:
    """Demo organizations, users, their classifications and partner settings (no activity)."""
    refuse_in_production(current_app.config)
    organizations = seed_organizations()
    created = seed_users(organizations)
    from app.seeding.classifications import seed_hospital_classifications

    own = seed_hospital_classifications()
    from app.seeding.partners import seed_partners

    partners = seed_partners()
    db.session.commit()
    return [f"organizations: {len(organizations)}", f"demo users created: {created}",
            f"hospital classification paths seeded: {own}",
            f"dealer permissions, manufacturer selections and maker links created: {partners}"]


def seed_all() -> list[str]:
    """Masters and demo data (the test suite's starting point)."""
    return [*seed_masters(), *seed_demo()]
