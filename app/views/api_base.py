"""The one base of OptiServe's REST APIs: FAB's refusals in the caller's language.

FAB answers its own refusals (``response_400/401/403/404``: a bad argument, an invalid API key,
a missing permission, a row outside the scope) with bare English — "Arguments are not
correct", "Not authorized", "Forbidden", "Not found" — while every other answer of the app is
in the caller's language (Japanese; English with ``?_l_=en`` or after /lang/en). Every API
derives from :class:`OptiServeApi` (or :class:`OptiServeModelApi`), so those answers are
:data:`app.views.errors.API_MESSAGES`: the same words as an ``abort()`` under ``/api/`` gets
from the error handler, in the same shape ``{"message": …}`` and with the same status.
A message the API names itself (``response_400(message=…)``) is kept as it is.
"""
from __future__ import annotations

from flask_appbuilder.api import BaseApi, ModelRestApi

from app.views.errors import API_MESSAGES


class TranslatedRefusals:
    """FAB's refusal helpers with the app's words; mixed in before FAB's API class."""

    def response_400(self, message=None):
        return self.response(400, message=str(API_MESSAGES[400]) if message is None else message)

    def response_401(self):
        return self.response(401, message=str(API_MESSAGES[401]))

    def response_403(self, message=None):
        return self.response(403, message=str(API_MESSAGES[403]) if message is None else message)

    def response_404(self, message=None):
        return self.response(404, message=str(API_MESSAGES[404]) if message is None else message)


class OptiServeApi(TranslatedRefusals, BaseApi):
    """A REST API of OptiServe (FAB's BaseApi with translated refusals)."""


class OptiServeModelApi(TranslatedRefusals, ModelRestApi):
    """A model REST API of OptiServe (FAB's ModelRestApi with translated refusals)."""

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        """FAB translates a missing label or description, ``gettext("")``, which answers the
        catalog's header (Babel version, build time, project): ``_info`` printed it for every
        field. A field without one gets an empty string."""
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        if not self.label_columns.get(field.name):
            info["label"] = ""
        if not self.description_columns.get(field.name):
            info["description"] = ""
        return info
