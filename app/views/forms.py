"""WTForms adaptors for the rules of :mod:`app.core.validation`."""
from __future__ import annotations

from collections.abc import Callable

from wtforms.validators import ValidationError


def rule(check: Callable[[str | None], object]):
    """Turn ``check(value) -> message | None`` into a WTForms validator."""

    def validator(form, field):
        message = check(field.data)
        if message:
            raise ValidationError(str(message))

    return validator
