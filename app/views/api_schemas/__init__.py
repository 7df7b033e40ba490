"""The OpenAPI contract's schemas: what every REST API of OptiServe takes and answers, one
module per resource (accounts: users and API keys, uploads, ledger, classifications, reports
with the dashboard's figures, system: the on-prem APIs; common: the shared pieces and
:class:`Error`).

Registered as components of ``/api/v1/_openapi`` (``COMPONENTS``, through
:class:`app.views.openapi.OptiServeOpenApi`) and referenced from the views' docstrings as
``$ref: '#/components/schemas/<Name>'`` — by class name, so a name is unique across the
modules. ``tests/test_api_contract.py`` sends generated requests to every operation and checks
each answer against these schemas, so a schema that drifts from what a view returns fails the
suite.

Every error answer of every API has the one shape :class:`Error` (``{"message": …}``, in the
user's language, plus ``errors`` where several things were refused at once).
"""
from __future__ import annotations

from marshmallow import Schema

from app.views.api_schemas import accounts, classifications, common, ledger, reports, system, uploads

MODULES = (common, accounts, uploads, ledger, classifications, reports, system)


def _schemas_of(module) -> list[type[Schema]]:
    """The schemas ``module`` defines (or makes, as :func:`common.envelope` does), in order."""
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Schema) and value is not Schema
            and value.__module__.startswith(__name__ + ".")]


COMPONENTS = tuple(dict.fromkeys(schema for module in MODULES for schema in _schemas_of(module)))
