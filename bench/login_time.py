"""Time of one login (password step, scrypt verify included) on this machine.

Run: /tmp/venv/bin/python bench/login_time.py
"""
import statistics

import _harness

_harness.prepare()

from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import User
from app.seeding.seed import DEMO_PASSWORD, seed_all
from config import Config


def main() -> None:
    method = Config.FAB_PASSWORD_HASH_METHOD
    digest = generate_password_hash(DEMO_PASSWORD, method=method, salt_length=16)
    runs = _harness.run_times(lambda: check_password_hash(digest, DEMO_PASSWORD), 5)
    print(f"{method}: hash verify median {statistics.median(runs) * 1000:.0f} ms")

    app = _harness.make_app(_harness.NO_LIMITS)
    with app.app_context():
        _harness.create_schema(roles=True, seed=[seed_all])
        user = db.session.query(User).filter_by(email="user@sakura-hp.example.jp").one()
        user.organization.mfa_required = False
        db.session.commit()

    def login():
        response = app.test_client().post("/login/", data={"email": "user@sakura-hp.example.jp",
                                                           "password": DEMO_PASSWORD})
        assert response.status_code == 302, response.status_code

    runs = _harness.run_times(login, 5)
    print(f"POST /login/ (password step, no second factor): median {statistics.median(runs) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
