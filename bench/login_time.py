"""Time of one login (password step, scrypt verify included) on this machine.

Run: /tmp/venv/bin/python bench/login_time.py
"""
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["OPTISERVE_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="optiserve-bench-")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_appbuilder import Model
from werkzeug.security import check_password_hash, generate_password_hash

from app import create_app
from app.access.role_sync import sync_roles
from app.extensions import db
from app.models import User
from app.seeding.seed import DEMO_PASSWORD, seed_all
from config import Config


def main() -> None:
    method = Config.FAB_PASSWORD_HASH_METHOD
    digest = generate_password_hash(DEMO_PASSWORD, method=method, salt_length=16)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        check_password_hash(digest, DEMO_PASSWORD)
        runs.append(time.perf_counter() - start)
    print(f"{method}: hash verify median {sorted(runs)[2] * 1000:.0f} ms")

    app = create_app({"WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles()
        seed_all()
        user = db.session.query(User).filter_by(email="user@sakura-hp.example.jp").one()
        user.organization.mfa_required = False
        db.session.commit()
    runs = []
    for _ in range(5):
        client = app.test_client()
        start = time.perf_counter()
        response = client.post("/login/", data={"email": "user@sakura-hp.example.jp",
                                                "password": DEMO_PASSWORD})
        runs.append(time.perf_counter() - start)
        assert response.status_code == 302, response.status_code
    print(f"POST /login/ (password step, no second factor): median {sorted(runs)[2] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
