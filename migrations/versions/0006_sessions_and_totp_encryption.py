"""revocable sessions (ab_user.session_generation) and TOTP secrets encrypted at rest

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-30 02:10:00

Existing clear secrets are encrypted with the first key of ``TOTP_ENCRYPTION_KEY`` (read
from the application's configuration); the downgrade decrypts them again.
"""
from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


revision = '0006'
down_revision = '0001'
branch_labels = None
depends_on = None

FERNET_PREFIX = "gAAAAA"  # the version byte 0x80 of every Fernet token, base64-encoded
users = sa.table("ab_user", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _cipher() -> MultiFernet:
    raw = current_app.config["TOTP_ENCRYPTION_KEY"]
    return MultiFernet([Fernet(key.strip()) for key in raw.split(",") if key.strip()])


def _convert(change) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.isnot(None))
    ).all()
    for user_id, value in rows:
        new = change(value)
        if new != value:
            connection.execute(users.update().where(users.c.id == user_id).values(totp_secret=new))


def upgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    cipher = _cipher()
    _convert(lambda value: value if value.startswith(FERNET_PREFIX)
             else cipher.encrypt(value.encode()).decode())


def downgrade():
    cipher = _cipher()

    def clear(value):
        if not value.startswith(FERNET_PREFIX):
            return value
        try:
            return cipher.decrypt(value.encode()).decode()
        except InvalidToken:
            return None  # unreadable without its key: the user enrolls again

    _convert(clear)
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
        batch_op.drop_column('session_generation')
