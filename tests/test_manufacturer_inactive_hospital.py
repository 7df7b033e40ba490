"""A hospital deactivated by the masters push (it left) is no longer pooled into a
manufacturer's figures. The selection screen already offered only active hospitals, but a
hospital selected before it left stayed in the aggregate scope."""
from __future__ import annotations

from app.access.scope import scope_of
from app.extensions import db

from .conftest import MANUFACTURER, user_by_email
from .test_manufacturers import org


def test_a_deactivated_hospital_drops_out_of_the_aggregate_scope(ctx):
    user = user_by_email(MANUFACTURER)
    assert org("H0002").id in scope_of(user).aggregate_hospital_ids
    org("H0002").is_active = False
    db.session.commit()
    assert scope_of(user).aggregate_hospital_ids == {org("H0001").id, org("H0003").id}
