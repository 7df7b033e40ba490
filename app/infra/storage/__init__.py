"""File storage with two backends: a local folder (:mod:`.local`, the embedded default) and S3
(:mod:`.s3`); both follow :class:`.base.Storage`.

Keys are built by callers from ids (e.g. ``uploads/<hospital>/<yyyy-mm>/<upload id>/<type>.<ext>``),
never from a user's file name; :func:`check_key` refuses anything else.
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app

from app.infra.storage.base import KeyExistsError, Storage, check_key
from app.infra.storage.local import LocalStorage

__all__ = ["KeyExistsError", "LocalStorage", "Storage", "check_key", "get_storage", "storage_from_url"]


def storage_from_url(url: str, s3_endpoint_url: str | None = None, **s3_options) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(parsed.path)
    if parsed.scheme == "s3":
        from app.infra.storage.s3 import S3Storage

        return S3Storage(parsed.netloc, parsed.path.strip("/"), endpoint_url=s3_endpoint_url or None,
                         **s3_options)
    raise ValueError(f"STORAGE_URL must start with file:// or s3://, got {url!r}")


def get_storage() -> Storage:
    config = current_app.config
    return storage_from_url(
        config["STORAGE_URL"], config.get("S3_ENDPOINT_URL"),
        sse=config.get("S3_SSE"), kms_key_id=config.get("S3_SSE_KMS_KEY_ID"),
        object_lock_days=config.get("S3_OBJECT_LOCK_DAYS", 0),
    )
