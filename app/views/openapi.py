"""``/api/v1/_openapi``: the OpenAPI document every API client can rely on, and Swagger UI.

FAB's own view builds the paths from the views' docstrings; this one completes the document
so that it is a contract, not only descriptions:

- the schemas of :mod:`app.views.api_schemas` are components, and every error answer of
  every operation is the one ``Error`` schema (``{"message": …}``);
- security: an API key (``Authorization: Bearer sst_…``) everywhere, and the signed-in
  session cookie on the APIs that accept it (``allow_browser_login``; never the System APIs);
  FAB's JWT scheme is not offered (its login API is not registered);
- the answers every protected call can get (401, 403, 429) and, with an id in the path,
  404 are listed on every operation; path parameters are declared from the URL rules.

Who may read it: Admin, Operator and System (``OpenApi`` ``can_get`` in app/access/role_sync.py);
Swagger UI (``/swagger/v1``) for signed-in operators only (Admin, Operator).
"""
from __future__ import annotations

import re

from flask import current_app
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import OpenApi as FabOpenApi
from flask_appbuilder.api.manager import SwaggerView as FabSwaggerView

from app.views.api_base import TranslatedRefusals
from app.views.api_schemas import COMPONENTS

ERROR_REF = {"$ref": "#/components/schemas/Error"}
# The hospital parameter of the operations that act for one hospital (docstrings name it
# ``HospitalId``), written once here.
HOSPITAL_ID_REF = "#/components/parameters/HospitalId"
HOSPITAL_ID = {"in": "query", "name": "hospital_id", "schema": {"type": "integer", "minimum": 1},
               "description": "operators and dealers: the hospital"}
ERROR_CONTENT = {"application/json": {"schema": ERROR_REF}}
ERROR_DESCRIPTIONS = {
    "400": "Bad request (a malformed or refused parameter or body)",
    "401": "No valid API key or session (unknown, revoked or expired key; inactive user)",
    "403": "Not allowed (role or scope), or outside the organization's IP allow-list",
    "404": "Not found, or not in your scope",
    "405": "Method not allowed",
    "409": "Conflict (an Idempotency-Key used for another request, or still in progress)",
    "413": "The request is larger than allowed",
    "422": "The body could not be processed",
    "429": "Too many calls with this API key (API_KEY_RATE_LIMIT)",
    "500": "Server error",
}
# Answers any protected operation can give, whatever it does.
PROTECTED_ANSWERS = ("401", "403", "429")
MAX_ID = 2**31 - 1
_PATH_ARG = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


class OpenApi(TranslatedRefusals, FabOpenApi):
    """FAB's view (same name, so the same endpoint and permission), completed as above."""

    openapi_spec_component_schemas = COMPONENTS

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI document of one API version.
        ---
        get:
          summary: The OpenAPI document (this contract)
          parameters:
          - {in: path, name: version, required: true, schema: {type: string}}
          responses:
            200:
              description: The OpenAPI document
              content:
                application/json:
                  schema: {type: object}
            404: {description: no API of that version}
        """
        api_spec = self._create_api_spec(version)
        self.add_apispec_components(api_spec)
        sessions, found = set(), False
        for base_api in current_app.appbuilder.baseviews:
            if isinstance(base_api, BaseApi) and base_api.version == version:
                base_api.add_api_spec(api_spec)
                sessions |= session_operations(base_api)
                found = True
        if not found:
            return self.response_404()
        return self.response(200, **complete(api_spec.to_dict(), sessions))


class SwaggerView(FabSwaggerView):
    """FAB's Swagger UI page (vendored by FAB, no CDN); ``can_show`` for Admin and Operator."""


def session_operations(view: BaseApi) -> set[tuple[str, str]]:
    """(path, method) of the view's operations that accept the session cookie: FAB's
    ``allow_browser_login``, on the class or as ``protect(allow_browser_login=True)``."""
    found = set()
    for name in dir(view):
        func = getattr(view, name, None)
        if not hasattr(func, "_urls"):
            continue
        inner = getattr(func, "__func__", func)
        cells = dict(zip(inner.__code__.co_freevars, (c.cell_contents for c in inner.__closure__ or ())))
        if view.allow_browser_login or cells.get("allow_browser_login") is True:
            for url, methods in func._urls:
                found |= {(view.path_helper(path=url), m.lower()) for m in methods}
    return found


def complete(spec: dict, sessions: set) -> dict:
    """Security schemes, the error schema on every error answer, path parameters."""
    components = spec.setdefault("components", {})
    components["securitySchemes"] = {
        "api_key": {"type": "http", "scheme": "bearer", "bearerFormat": "sst_…",
                    "description": "An API key issued on 管理 → APIキー (Administration → API keys "
                                   "in English, /apikeys/): "
                                   "`Authorization: Bearer sst_…`"},
        "session": {"type": "apiKey", "in": "cookie",
                    "name": current_app.config.get("SESSION_COOKIE_NAME", "session"),
                    "description": "The session of a user signed in on the screens (with the second factor)"},
    }
    components["responses"] = {code: {"description": text, "content": ERROR_CONTENT}
                               for code, text in ERROR_DESCRIPTIONS.items()}
    components["parameters"] = {"HospitalId": HOSPITAL_ID}
    schemas = components.setdefault("schemas", {})
    if "UserApi.get" in schemas:  # what the users API's writes answer: the user as shown
        schemas["UserResult"] = {"type": "object", "required": ["result"],
                                 "properties": {"result": {"$ref": "#/components/schemas/UserApi.get"}}}
    _fab_model_api_types(spec)
    rules = _path_converters()
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("security") is not None:
                operation["security"] = [{"api_key": []}]
                if (path, method) in sessions:
                    operation["security"].append({"session": []})
                for code in PROTECTED_ANSWERS:
                    responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            parameters = operation.get("parameters", [])
            if any(p.get("name") == "hospital_id" or p.get("$ref") == HOSPITAL_ID_REF for p in parameters):
                responses.setdefault("404", {"$ref": "#/components/responses/404"})  # not in your scope
            declared = {p.get("name") for p in parameters if p.get("in") == "path"}
            for name in re.findall(r"{([^}]+)}", path):
                if name not in declared:
                    operation.setdefault("parameters", []).append(
                        {"in": "path", "name": name, "required": True,
                         "schema": _path_schema(rules.get((path, name)))})
                responses.setdefault("404", {"$ref": "#/components/responses/404"})
            for code, response in list(responses.items()):
                if str(code)[0] in "45" and "$ref" not in response:
                    response.setdefault("description", ERROR_DESCRIPTIONS.get(str(code), "Error"))
                    response["content"] = ERROR_CONTENT
    return spec


def _fab_model_api_types(spec: dict) -> None:
    """FAB's ModelRestApi docstrings type ids as strings and the _info columns as objects;
    OptiServe's ids are integers and FAB answers lists of column descriptions."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                properties = schema.get("properties", {})
                if properties.get("id", {}).get("type") == "string":
                    properties["id"]["type"] = "integer"
                if properties.get("ids", {}).get("items", {}).get("type") == "string":
                    properties["ids"]["items"]["type"] = "integer"
                for name in ("add_columns", "edit_columns"):
                    if properties.get(name, {}).get("type") == "object":
                        properties[name] = {"type": "array", "items": {"type": "object"}}


def _path_converters() -> dict:
    """(OpenAPI path, argument) → werkzeug converter name, from the URL map."""
    converters = {}
    for rule in current_app.url_map.iter_rules():
        path = _PATH_ARG.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for match in _PATH_ARG.finditer(rule.rule):
            converters[(path, match.group(2))] = match.group(1) or "default"
    return converters


def _path_schema(converter: str | None) -> dict:
    if converter == "int":
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    return {"type": "string", "minLength": 1}
